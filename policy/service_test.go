package policy_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// patience bounds every wait for a change to arrive: long enough to catch
// only "never arrives".
const patience = 10 * time.Second

func openNotifier(t testing.TB, db *store.DB) *notify.Notifier {
	t.Helper()
	n, err := notify.Open(context.Background(), db, notify.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func newService(t testing.TB, db *store.DB, n notify.Bus) *policy.Service {
	t.Helper()
	s, err := policy.New(context.Background(), policy.Options{DB: db, Bus: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// versionN is the test bundle with a term that differs per n, so every n
// is another version.
func versionN(t testing.TB, n int) *policy.Bundle {
	files := testFiles(t)
	return bundle(t, files, map[string]string{"lexicons/a1.txt": string(files["lexicons/a1.txt"]) + fmt.Sprintf("marker term %d\n", n)})
}

// waitVersion waits until s enforces version and returns how long it took.
func waitVersion(t testing.TB, s *policy.Service, version string, since time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(patience)
	for s.Current().Version() != version {
		if time.Now().After(deadline) {
			t.Fatalf("version %s not in force after %v (in force: %s)", version, patience, s.Current().Version())
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(since)
}

func publish(t testing.TB, s *policy.Service, b *policy.Bundle, reason string) policy.Result {
	t.Helper()
	r, err := s.Publish(context.Background(), b, policy.Change{Author: "alice", Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPublishHistoryRollback(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, openNotifier(t, db))
		if got := s.Status(); got.Version != policy.Default().ID() || got.Seq != 0 {
			t.Fatalf("before any publish: %+v, want the default bundle at seq 0", got)
		}
		v1, v2 := versionN(t, 1), versionN(t, 2)
		if r := publish(t, s, v1, "first"); !r.Changed || r.Previous != "" || s.Current().Version() != v1.ID() {
			t.Fatalf("publish v1: %+v, in force %s", r, s.Current().Version())
		}
		if r := publish(t, s, v1, "again"); r.Changed {
			t.Errorf("publishing the version in force: %+v, want Changed false", r)
		}
		publish(t, s, v2, "second")
		if d := s.Engine("", "", false).Check(safety.Input, "marker term 2"); d.Action != safety.Refuse || d.Version != v2.ID() {
			t.Errorf("v2 in force: %v %s", d.Action, d.Version)
		}
		r, err := s.Rollback(ctx, "", policy.Change{Author: "bob", Reason: "false positives"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Version != v1.ID() || r.Previous != v2.ID() || s.Current().Version() != v1.ID() {
			t.Errorf("rollback: %+v, in force %s; want v1 from v2", r, s.Current().Version())
		}
		hist, err := s.History(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range hist {
			got = append(got, fmt.Sprintf("%d %s %s<-%s %s %s", e.Seq, e.Kind, short(e.Version), short(e.Previous), e.Author, e.Reason))
		}
		want := []string{
			fmt.Sprintf("3 rollback %s<-%s bob false positives", short(v1.ID()), short(v2.ID())),
			fmt.Sprintf("2 publish %s<-%s alice second", short(v2.ID()), short(v1.ID())),
			fmt.Sprintf("1 publish %s<- alice first", short(v1.ID())),
		}
		if !slices.Equal(got, want) {
			t.Errorf("history:\n%q\nwant\n%q", got, want)
		}
		stored, err := s.Bundle(ctx, v2.ID())
		if err != nil || stored.ID() != v2.ID() {
			t.Errorf("stored v2: %v, %v", stored, err)
		}
	})
}

func TestRefusedChangesKeepVersion(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, openNotifier(t, db))
		if _, err := s.Rollback(ctx, "", policy.Change{Reason: "r"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rollback before any publish: %v, want ErrNotFound", err)
		}
		fallback := s.Current().Version()
		v1 := versionN(t, 1)
		publish(t, s, v1, "first")
		files := testFiles(t)
		bad := bundle(t, files, map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, `stolen\s+credit`, `stolen(\s+credit`)})
		var inv *policy.InvalidError
		if _, err := s.Publish(ctx, bad, policy.Change{Reason: "broken"}); !errors.As(err, &inv) {
			t.Errorf("invalid bundle: %v, want *InvalidError", err)
		}
		if _, err := s.Publish(ctx, versionN(t, 2), policy.Change{Author: "x"}); err == nil {
			t.Error("publish without a reason succeeded")
		}
		if _, err := s.Rollback(ctx, "0123456789abcdef", policy.Change{Reason: "r"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rollback to an unknown version: %v, want ErrNotFound", err)
		}
		hist, _ := s.History(ctx, 0)
		if s.Current().Version() != v1.ID() || len(hist) != 1 {
			t.Errorf("in force %s with %d events; want v1 and 1 event", s.Current().Version(), len(hist))
		}
		restarted := newService(t, db, nil)
		if restarted.Current().Version() != v1.ID() {
			t.Errorf("a new replica starts with %s, want v1", restarted.Current().Version())
		}
		// Rolling back the first publish returns to the fallback bundle.
		res, err := s.Rollback(ctx, "", policy.Change{Reason: "undo the first publish"})
		if err != nil || !res.Changed || s.Current().Version() != fallback {
			t.Errorf("rollback of the first publish: %+v %v; in force %s, want the fallback %s", res, err, s.Current().Version(), fallback)
		}
	})
}

// TestReplicas publishes and rolls back on one replica and measures when
// the other enforces the change.
func TestReplicas(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		a := newService(t, db, openNotifier(t, db))
		b := newService(t, db, openNotifier(t, db))
		const rounds = 20
		var lat []time.Duration
		for i := range rounds {
			v := versionN(t, i)
			start := time.Now()
			publish(t, a, v, fmt.Sprintf("round %d", i))
			lat = append(lat, waitVersion(t, b, v.ID(), start))
			if d := b.Engine("", "", false).Check(safety.Input, fmt.Sprintf("marker term %d", i)); d.Action != safety.Refuse {
				t.Fatalf("replica b does not enforce round %d: %v", i, d.Action)
			}
		}
		prev := versionN(t, rounds-2).ID()
		start := time.Now()
		if _, err := a.Rollback(context.Background(), "", policy.Change{Reason: "undo"}); err != nil {
			t.Fatal(err)
		}
		rb := waitVersion(t, b, prev, start)
		slices.Sort(lat)
		t.Logf("%s: publish on a to enforced on b over %d rounds: p50 %v, p99 %v, max %v; rollback %v",
			db.Dialect(), rounds, lat[rounds/2], lat[rounds*99/100], lat[rounds-1], rb)
	})
}

// TestReplicaKeepsWorkingVersion stores a version this build cannot
// compile, as a newer replica might, and checks the other replica keeps
// enforcing the version it has and reports why.
func TestReplicaKeepsWorkingVersion(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		n := openNotifier(t, db)
		s := newService(t, db, openNotifier(t, db))
		v1 := versionN(t, 1)
		publish(t, s, v1, "first")
		files := testFiles(t)
		bad := bundle(t, files, map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, "pii: {enabled: true}", "detectors: [{id: g, type: from-the-future}]")})
		ctx := context.Background()
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (id, files, lexicon_hash, terms, created_by, created_at)
				VALUES ($1, $2, '', 0, 'future', 0)`, bad.ID(), mustJSON(t, bad.Files())); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE policy_active SET version_id = $1, event_seq = 99 WHERE name = 'active'`, bad.ID()); err != nil {
				return err
			}
			return n.PublishTx(ctx, tx, policy.Topic, bad.ID())
		})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(patience)
		for s.Status().LastError == "" {
			if time.Now().After(deadline) {
				t.Fatal("the failed load was never reported")
			}
			time.Sleep(time.Millisecond)
		}
		if st := s.Status(); st.Version != v1.ID() {
			t.Errorf("in force %s after a failed load, want v1 %s (%s)", st.Version, v1.ID(), st.LastError)
		}
	})
}

// TestInFlightDuringSwap checks that a request sees one version from
// start to end while versions are swapped under it.
func TestInFlightDuringSwap(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	s := newService(t, db, nil)
	files := testFiles(t)
	// v1 refuses the marker, v2 allows it: each check says which version
	// decided it.
	v1 := bundle(t, files, map[string]string{"lexicons/a1.txt": string(files["lexicons/a1.txt"]) + "swap marker\n"})
	v2 := bundle(t, files, map[string]string{"lexicons/a1.txt": string(files["lexicons/a1.txt"]) + "swap marker\tA1d\tallow\n"})
	publish(t, s, v1, "v1")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e := s.Engine("", "", g%2 == 0)
				first := e.Check(safety.Input, "a swap marker")
				time.Sleep(50 * time.Microsecond)
				second := e.Check(safety.Input, "a swap marker")
				if first.Version != second.Version || first.Action != second.Action {
					t.Errorf("one request saw %s/%v then %s/%v", first.Version, first.Action, second.Version, second.Action)
					return
				}
				if want := map[string]safety.Action{v1.ID(): safety.Refuse, v2.ID(): safety.Allow}[baseVersion(first.Version)]; first.Action != want {
					t.Errorf("version %s decided %v, want %v", first.Version, first.Action, want)
				}
				mu.Lock()
				seen[baseVersion(first.Version)]++
				mu.Unlock()
			}
		}()
	}
	for i := range 20 {
		publish(t, s, []*policy.Bundle{v2, v1}[i%2], "swap")
	}
	close(stop)
	wg.Wait()
	if seen[v1.ID()] == 0 {
		t.Errorf("requests saw versions %v, want v1 among them", seen)
	}
}

func baseVersion(v string) string {
	if i := len(v); i > 16 {
		return v[:16]
	}
	return v
}

func short(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	return id
}

// TestLabelsFollowPublishAndRollback: the labels in force are the
// published version's, and a rollback brings the previous ones back.
func TestLabelsFollowPublishAndRollback(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, nil)
		if got := s.Labels("", "", false).Zh; got != "本内容由人工智能生成" {
			t.Fatalf("before any publish: %q, want the default bundle's label", got)
		}
		files := testFiles(t)
		v := bundle(t, files, map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, "zh: AI生成", "zh: 以下内容由AI合成")})
		publish(t, s, v, "new label")
		if got := s.Labels("", "", false).Zh; got != "以下内容由AI合成" {
			t.Errorf("after publish: %q", got)
		}
		if _, err := s.Rollback(context.Background(), "", policy.Change{Reason: "back"}); err != nil {
			t.Fatal(err)
		}
		if got := s.Labels("", "", false).Zh; got != "本内容由人工智能生成" {
			t.Errorf("after rollback: %q", got)
		}
		// A label without a generation element is refused at publish,
		// naming file and line, and changes nothing.
		bad := bundle(t, files, map[string]string{policy.SpecFile: replaceIn(t, files, policy.SpecFile, "zh: AI生成", "zh: AI助手")})
		var inv *policy.InvalidError
		if _, err := s.Publish(context.Background(), bad, policy.Change{Reason: "bad label"}); !errors.As(err, &inv) ||
			!strings.Contains(err.Error(), "policy.yaml:32: labels.explicit.zh") {
			t.Errorf("publish of a bad label: %v", err)
		}
		if got := s.Labels("", "", false).Zh; got != "本内容由人工智能生成" {
			t.Errorf("after a refused publish: %q", got)
		}
	})
}
