package admin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func (c client) get(path string) (int, []byte) { c.t.Helper(); return c.raw(http.MethodGet, path, "") }

// TestProfiling fetches runtime profiles of the node through the admin
// API: only when profiling is on, only for admins, never the command line,
// and each download is recorded as a staff action.
func TestProfiling(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	off := newAPI(t, db)
	if st, _ := off.get("/admin/v1/debug/pprof/heap"); st != http.StatusNotFound {
		t.Fatalf("profiling off: status %d, want 404", st)
	}
	c := newAPIWith(t, storetest.Open(t, store.Options{DataDir: t.TempDir()}), func(o *admin.Options) { o.Profiling = true })
	st, body := c.get("/admin/v1/debug/pprof/goroutine?debug=1")
	if st != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("goroutine profile: %d %.200s", st, body)
	}
	st, body = c.get("/admin/v1/debug/pprof/heap")
	if st != http.StatusOK {
		t.Fatalf("heap profile: %d", st)
	}
	if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
		t.Fatalf("heap profile is not a gzipped pprof profile: %v", err)
	}
	st, body = c.get("/admin/v1/debug/pprof/profile?seconds=1")
	if _, err := gzip.NewReader(bytes.NewReader(body)); st != http.StatusOK || err != nil {
		t.Fatalf("CPU profile: %d, %v", st, err)
	}
	if st, body = c.get("/admin/v1/debug/pprof/"); st != http.StatusOK || !strings.Contains(string(body), "heap") {
		t.Fatalf("index: %d %.200s", st, body)
	}
	for path, want := range map[string]int{"cmdline": 404, "nothing": 404} {
		if st, _ := c.get("/admin/v1/debug/pprof/" + path); st != want {
			t.Errorf("%s: status %d, want %d", path, st, want)
		}
	}
	for _, role := range []staff.Role{staff.RolePolicy, staff.RoleAuditor, staff.RoleViewer} {
		if st, _ := c.member("m-"+string(role), role).get("/admin/v1/debug/pprof/heap"); st != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", role, st)
		}
	}
	if st, _ := c.as("").get("/admin/v1/debug/pprof/heap"); st != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", st)
	}
	entries, err := c.trail.Search(context.Background(), audit.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	downloads := 0
	for _, e := range entries {
		if a, ok := e.Action(); ok && a.Name == "GET /admin/v1/debug/pprof/{name...}" && a.Status == http.StatusOK {
			downloads++
		}
	}
	if downloads != 4 { // goroutine, heap, CPU, index
		t.Errorf("%d profile downloads on the audit trail, want 4", downloads)
	}
}
