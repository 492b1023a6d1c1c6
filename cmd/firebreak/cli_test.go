package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/admin"
	"github.com/firebreak/firebreak/audit"
)

// chatAs sends one chat request for end user user with extra headers and
// returns the status, the body and the request id.
func (s *server) chatAs(t *testing.T, user, content string, hdr map[string]string) (int, string, string) {
	t.Helper()
	body := `{"messages":[{"role":"user","content":` + jsonString(t, content) + `}],"user":` + jsonString(t, user) + `}`
	req, err := http.NewRequest(http.MethodPost, s.url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Request-Id")
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustCLI runs a command that must succeed and returns its output.
func (s *server) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.cli(t, args...)
	if err != nil {
		t.Fatalf("firebreak %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// cliJSON runs a command with --json and decodes its output into v.
func (s *server) cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := s.mustCLI(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("firebreak %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// tableRows returns the data rows of a table (without the header).
func tableRows(out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) <= 1 {
		return nil
	}
	return lines[1:]
}

func TestSanctionsCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	if code, body, _ := s.chatAs(t, "u1", "hello", nil); code != 200 {
		t.Fatalf("first chat: %d %s", code, body)
	}

	var imposed admin.Sanction
	s.cliJSON(t, &imposed, "sanctions", "impose", "default", "u1", "--action", "suspend", "--for", "1h",
		"--reason", "abuse of the service")
	if imposed.Action.String() != "suspend" || imposed.Actor != "alice" || imposed.ExpiresAt == nil {
		t.Fatalf("imposed = %+v", imposed)
	}
	if code, body, _ := s.chatAs(t, "u1", "hello", nil); code != 403 || !strings.Contains(body, "suspended") {
		t.Fatalf("suspended user's chat: %d %s", code, body)
	}
	if code, _, _ := s.chatAs(t, "u2", "hello", nil); code != 200 {
		t.Fatalf("another user's chat: %d", code)
	}

	out := s.mustCLI(t, "sanctions", "show", "default", "u1")
	for _, want := range []string{"Standing:  suspend until", imposed.ID, "active", "alice", "abuse of the service"} {
		if !strings.Contains(out, want) {
			t.Errorf("sanctions show lacks %q:\n%s", want, out)
		}
	}

	out = s.mustCLI(t, "sanctions", "lift", imposed.ID, "--reason", "appeal accepted")
	if !strings.Contains(out, "Lifted suspend "+imposed.ID) {
		t.Fatalf("lift: %s", out)
	}
	if code, body, _ := s.chatAs(t, "u1", "hello", nil); code != 200 {
		t.Fatalf("chat after lift: %d %s", code, body)
	}
	var st struct {
		Standing  string
		Sanctions []admin.Sanction
	}
	s.cliJSON(t, &st, "sanctions", "show", "default", "u1")
	if st.Standing != "none" || len(st.Sanctions) != 1 || st.Sanctions[0].LiftedBy != "alice" || st.Sanctions[0].LiftReason != "appeal accepted" {
		t.Fatalf("standing after lift = %+v", st)
	}
	if _, err := s.cli(t, "sanctions", "lift", imposed.ID, "--reason", "again"); err == nil {
		t.Fatal("lifting a lifted sanction succeeded")
	}

	// A restriction to models the user does not ask for refuses the request.
	out = s.mustCLI(t, "sanctions", "impose", "default", "u4", "--action", "restrict", "--restrict-rpm", "5",
		"--restrict-models", "general", "--reason", "spam")
	if !strings.Contains(out, "Imposed restrict on u4") {
		t.Fatalf("impose restrict: %s", out)
	}
	if code, body, _ := s.chatAs(t, "u4", "hello", nil); code != 403 || !strings.Contains(body, "restricted") {
		t.Fatalf("restricted user's chat: %d %s", code, body)
	}
	if out := s.mustCLI(t, "sanctions", "show", "default", "u4"); !strings.Contains(out, "restrict (5 rpm; models general)") {
		t.Fatalf("show restricted:\n%s", out)
	}

	// A refused input is a violation; the default ladder warns on the first.
	if code, _, _ := s.chatAs(t, "u3", "教我制作炸弹", nil); code != 200 {
		t.Fatalf("refused chat: %d", code)
	}
	out = s.mustCLI(t, "sanctions", "show", "default", "u3")
	if !strings.Contains(out, "Standing:  warn") || !strings.Contains(out, "#1") || !strings.Contains(out, "A1d") {
		t.Fatalf("show after a violation:\n%s", out)
	}
}

func TestBlacklistCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	device := map[string]string{"X-Firebreak-Device": "dev-7f3a"}
	if code, _, _ := s.chatAs(t, "u1", "hello", device); code != 200 {
		t.Fatalf("chat before blacklisting: %d", code)
	}

	var e admin.BlacklistEntry
	s.cliJSON(t, &e, "blacklist", "add", "--kind", "device", "--value", "dev-7f3a", "--reason", "fraud ring",
		"--tenant", "default", "--expires", "720h")
	if e.ID == "" || e.Kind != "device" || e.CreatedBy != "alice" || e.ExpiresAt == nil {
		t.Fatalf("added = %+v", e)
	}
	if code, body, _ := s.chatAs(t, "u1", "hello", device); code != 403 || !strings.Contains(body, "blocked") {
		t.Fatalf("blacklisted device: %d %s", code, body)
	}
	if code, _, _ := s.chatAs(t, "u1", "hello", nil); code != 200 {
		t.Fatalf("same user without the device: %d", code)
	}

	// A user named by the operator's own id needs the tenant, where it is
	// translated to the end user's id (as `sanctions impose` does).
	if _, err := s.cli(t, "blacklist", "add", "--kind", "user", "--value", "u9", "--reason", "court order"); err == nil {
		t.Fatal("an operator's user id without a tenant was accepted")
	}
	out := s.mustCLI(t, "blacklist", "add", "--kind", "user", "--value", "u9", "--tenant", "default", "--reason", "court order")
	if !strings.Contains(out, "Blacklisted user usr_") || !strings.Contains(out, "expires never") {
		t.Fatalf("add user: %s", out)
	}
	if code, body, _ := s.chatAs(t, "u9", "hello", nil); code != 403 || !strings.Contains(body, "blocked") {
		t.Fatalf("blacklisted user: %d %s", code, body)
	}
	rows := tableRows(s.mustCLI(t, "blacklist", "list", "--kind", "device"))
	if len(rows) != 1 || !strings.Contains(rows[0], e.ID) || !strings.Contains(rows[0], "dev-7f3a") ||
		!strings.Contains(rows[0], "alice") || !strings.Contains(rows[0], "fraud ring") {
		t.Fatalf("list --kind device:\n%s", strings.Join(rows, "\n"))
	}
	if rows := tableRows(s.mustCLI(t, "blacklist", "list")); len(rows) != 2 {
		t.Fatalf("list: %d rows:\n%s", len(rows), strings.Join(rows, "\n"))
	}

	if out := s.mustCLI(t, "blacklist", "remove", e.ID); !strings.Contains(out, "Removed "+e.ID) {
		t.Fatalf("remove: %s", out)
	}
	if code, body, _ := s.chatAs(t, "u1", "hello", device); code != 200 {
		t.Fatalf("device after removal: %d %s", code, body)
	}
	if rows := tableRows(s.mustCLI(t, "blacklist", "list", "--kind", "device")); len(rows) != 0 {
		t.Fatalf("list after removal:\n%s", strings.Join(rows, "\n"))
	}
}

// fileComplaint files a complaint through the public intake with the API key.
func (s *server) fileComplaint(t *testing.T, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/complaints", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ ID, Status string }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusCreated || c.ID == "" {
		t.Fatalf("file complaint: %d %+v %v", resp.StatusCode, c, err)
	}
	return c.ID
}

func TestComplaintsCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	id := s.fileComplaint(t, `{"category":"harmful_content","text":"The answer\ninsulted me.","contact":"me@example.com"}`)
	other := s.fileComplaint(t, `{"category":"other","text":"spam"}`)

	// Both were filed within the same millisecond or two, so the list's
	// order between them is not fixed: find the first one's row.
	rows := tableRows(s.mustCLI(t, "complaints", "list", "--overdue=false"))
	row := ""
	for _, r := range rows {
		if strings.Contains(r, id) {
			row = r
		}
	}
	if len(rows) != 2 || !strings.Contains(row, "open") ||
		!strings.Contains(row, "harmful_content") || !strings.Contains(row, "The answer insulted me.") {
		t.Fatalf("list:\n%s", strings.Join(rows, "\n"))
	}
	if rows := tableRows(s.mustCLI(t, "complaints", "list", "--overdue")); len(rows) != 0 {
		t.Fatalf("fresh complaints listed as overdue:\n%s", strings.Join(rows, "\n"))
	}
	out := s.mustCLI(t, "complaints", "show", id)
	if !strings.Contains(out, "me@example.com") || !strings.Contains(out, "The answer\ninsulted me.") {
		t.Fatalf("show:\n%s", out)
	}

	out = s.mustCLI(t, "complaints", "answer", id, "--text", "We removed the answer.")
	if !strings.Contains(out, "Complaint "+id+" is now answered") {
		t.Fatalf("answer: %s", out)
	}
	var got audit.Complaint
	s.cliJSON(t, &got, "complaints", "show", id)
	if got.Status != audit.StatusAnswered || got.Answer != "We removed the answer." || got.AnsweredBy != "alice" {
		t.Fatalf("after answer = %+v", got)
	}
	if out := s.mustCLI(t, "complaints", "close", other); !strings.Contains(out, "is now closed") {
		t.Fatalf("close: %s", out)
	}
	if rows := tableRows(s.mustCLI(t, "complaints", "list", "--status", "open")); len(rows) != 0 {
		t.Fatalf("open complaints left:\n%s", strings.Join(rows, "\n"))
	}

	// The filing app sees the answer.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/complaints/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var view struct{ Status, Answer string }
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || view.Status != "answered" || view.Answer != "We removed the answer." {
		t.Fatalf("app's view: %+v %v", view, err)
	}
}

// waitRecords waits until the trail holds n records (the trail writes in
// the background) and returns the search output.
func (s *server) waitRecords(t *testing.T, n int) string {
	t.Helper()
	var out string
	for range 200 {
		out = s.mustCLI(t, "records", "search")
		if len(tableRows(out)) >= n {
			return out
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("want %d records:\n%s", n, out)
	return ""
}

func TestRecordsCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	_, _, clean := s.chatAs(t, "u1", "hello", nil)
	_, _, refused := s.chatAs(t, "u1", "教我制作炸弹", nil)
	_, _, other := s.chatAs(t, "u2", "hi", nil)

	out := s.waitRecords(t, 3)
	if !strings.HasPrefix(out, "TIME") || len(tableRows(out)) != 3 {
		t.Fatalf("search:\n%s", out)
	}
	for _, r := range tableRows(out) {
		f := strings.Fields(r)
		switch f[2] { // request id, after the date and time
		case clean:
			if f[4] != "allow" || f[5] != "allow" || f[7] != "ok" {
				t.Errorf("clean record: %q", r)
			}
		case refused:
			if f[4] != "refuse" || f[6] != "A1d" || f[7] != "refused" {
				t.Errorf("refused record: %q", r)
			}
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string // request ids, in order
	}{
		{"decision", []string{"--decision", "refuse"}, []string{refused}},
		{"code", []string{"--code", "A1d"}, []string{refused}},
		{"user", []string{"--tenant", "default", "--user", "u1"}, []string{clean, refused}},
		{"limit", []string{"--limit", "1"}, []string{clean}},
		{"from a duration ago", []string{"--from", "1h", "--outcome", "ok"}, []string{clean, other}},
		{"to a duration ago", []string{"--to", "1h"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var es []audit.Entry
			s.cliJSON(t, &es, append([]string{"records", "search"}, tc.args...)...)
			var ids []string
			for _, e := range es {
				ids = append(ids, e.RequestID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("request ids %v, want %v", ids, tc.want)
			}
		})
	}

	out = s.mustCLI(t, "records", "export", "--format", "csv", "--decision", "refuse")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], refused) || strings.Contains(out, "炸弹") {
		t.Fatalf("csv export:\n%s", out)
	}
	out = s.mustCLI(t, "records", "export")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Hash == "" {
			t.Fatalf("jsonl line %q: %v", l, err)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("jsonl export has %d lines", len(lines))
	}

	// Data-subject access, then erasure.
	out = s.mustCLI(t, "records", "user", "default", "u1")
	if !strings.Contains(out, "2 record(s)") || !strings.Contains(out, "教我制作炸弹") || !strings.Contains(out, "content kept only as hashes") {
		t.Fatalf("records user:\n%s", out)
	}
	if _, err := s.cli(t, "records", "forget", "default", "u1"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("forget without --yes: %v", err)
	}
	if out := s.mustCLI(t, "records", "user", "default", "u1"); !strings.Contains(out, "教我制作炸弹") {
		t.Fatal("forget without --yes erased content")
	}
	var erased struct{ Erased int64 }
	s.cliJSON(t, &erased, "records", "forget", "default", "u1", "--yes")
	if erased.Erased != 2 {
		t.Fatalf("erased %d records, want 2", erased.Erased)
	}
	out = s.mustCLI(t, "records", "user", "default", "u1")
	if strings.Contains(out, "教我制作炸弹") || strings.Count(out, "content erased") != 2 {
		t.Fatalf("records user after forget:\n%s", out)
	}
	if rows := tableRows(s.mustCLI(t, "records", "search")); len(rows) != 3 {
		t.Fatalf("records gone after forget:\n%s", strings.Join(rows, "\n"))
	}
}

// TestAdminCLIErrors checks that bad input fails with a clear message,
// before the call where the CLI can tell, and with the server's otherwise.
func TestAdminCLIErrors(t *testing.T) {
	s := startServer(t, "--data", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown action", []string{"sanctions", "impose", "default", "u1", "--action", "ban", "--reason", "x"}, `--action "ban"`},
		{"restriction on a suspension", []string{"sanctions", "impose", "default", "u1", "--action", "suspend", "--restrict-rpm", "5", "--reason", "x"}, "go with --action restrict"},
		{"impose without reason", []string{"sanctions", "impose", "default", "u1", "--action", "warn"}, `"reason" not set`},
		{"unknown tenant", []string{"sanctions", "show", "nope", "u1"}, "HTTP 404"},
		{"lift unknown sanction", []string{"sanctions", "lift", "snc_nope", "--reason", "x"}, "HTTP 404"},
		{"unknown blacklist kind", []string{"blacklist", "add", "--kind", "email", "--value", "a@b", "--reason", "x"}, "HTTP 400"},
		{"bad ip", []string{"blacklist", "add", "--kind", "ip", "--value", "not-an-ip", "--reason", "x"}, "HTTP 400"},
		{"remove unknown entry", []string{"blacklist", "remove", "blk_nope"}, "HTTP 404"},
		{"show unknown complaint", []string{"complaints", "show", "cnope"}, "HTTP 404"},
		{"answer without text", []string{"complaints", "answer", "cnope"}, "text"},
		{"answer unknown complaint", []string{"complaints", "answer", "cnope", "--text", "hi"}, "HTTP 404"},
		{"user without tenant", []string{"records", "search", "--user", "u1"}, "--user needs --tenant"},
		{"bad time", []string{"records", "search", "--from", "yesterday"}, "--from"},
		{"bad format", []string{"records", "export", "--format", "xml"}, "--format"},
		{"forget without yes", []string{"records", "forget", "default", "u1"}, "--yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.cli(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Setenv("FIREBREAK_ADMIN_TOKEN", "")
	if err := run(t.Context(), []string{"records", "search", "--server", s.url}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "admin token") {
		t.Fatalf("no token: %v", err)
	}
}

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, in, want string
		fail           bool
	}{
		{name: "empty"},
		{name: "day", in: "2026-02-28", want: "2026-02-28"},
		{name: "rfc 3339", in: "2026-02-28T08:00:00+08:00", want: "2026-02-28T08:00:00+08:00"},
		{name: "duration ago", in: "36h", want: "2026-02-28T00:00:00Z"},
		{name: "negative duration", in: "-1h", fail: true},
		{name: "words", in: "yesterday", fail: true},
		{name: "bad day", in: "2026-02-30", fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWhen(tc.in, now)
			if (err != nil) != tc.fail || got != tc.want {
				t.Fatalf("parseWhen(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

// TestStaffCLI: the first admin (made with the bootstrap token) creates a
// reviewer with a token; the reviewer's token is refused on staff routes,
// and the staff actions are on the trail under the admin's name.
func TestStaffCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--data", t.TempDir())
	if out, err := s.cli(t, "staff", "whoami"); err != nil || !strings.Contains(out, "alice (admin) via token") {
		t.Fatalf("whoami: %v %s", err, out)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("a long passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := s.mustCLI(t, "staff", "create", "--name", "rita", "--role", "reviewer", "--password-file", pw, "--token", "laptop")
	m := regexp.MustCompile(`token \(shown only now\): (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create reviewer: %s", out)
	}
	if out := s.mustCLI(t, "staff", "list"); !strings.Contains(out, "rita") || !strings.Contains(out, "reviewer") {
		t.Fatalf("list: %s", out)
	}
	var o bytes.Buffer
	err := run(context.Background(), []string{"staff", "list", "--server", s.url, "--admin-token", m[1]}, &o, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("reviewer lists staff: %v", err)
	}
	// The bootstrap token creates admins only, and can be disabled.
	err = run(context.Background(), []string{"tenants", "list", "--server", s.url, "--admin-token", s.bootstrap}, &o, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("bootstrap lists tenants: %v", err)
	}
	s.mustCLI(t, "staff", "disable-bootstrap")
	err = run(context.Background(), []string{"staff", "create", "--name", "eve", "--role", "admin", "--server", s.url, "--admin-token", s.bootstrap}, &o, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("disabled bootstrap: %v", err)
	}
	out = s.mustCLI(t, "records", "search", "--kind", "staff")
	for _, want := range []string{"POST /admin/v1/staff", "DELETE /admin/v1/bootstrap", "GET /admin/v1/staff"} {
		if !strings.Contains(out, want) {
			t.Errorf("staff actions lack %q:\n%s", want, out)
		}
	}
}
