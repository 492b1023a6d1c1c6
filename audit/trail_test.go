package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestAppendSearchRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(t, db, Options{Keys: testKeyring(t, "a")})
		base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
		var want []Record
		for i := range 12 {
			r := sample(i, base.Add(time.Duration(i)*time.Minute))
			want = append(want, r)
			mustAppend(t, tr, r)
		}
		all, err := tr.Search(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(want) {
			t.Fatalf("search found %d records, want %d", len(all), len(want))
		}
		for i, e := range all {
			w := want[i]
			w.Content = Content{}
			e.ID = "" // assigned by Append
			if e.Seq != int64(i+1) || !reflect.DeepEqual(e.Record, w) {
				t.Fatalf("record %d:\n got %+v\nwant %+v", i, e.Record, w)
			}
		}

		cases := []struct {
			name string
			q    Query
			want []string // request ids
		}{
			{name: "end user", q: Query{TenantID: "t1", EndUser: "u1"}, want: []string{"req-0001", "req-0005", "req-0009"}},
			{name: "decision either direction", q: Query{Decision: "mask"}, want: []string{"req-0000", "req-0005", "req-0010"}},
			{name: "code", q: Query{Code: "A4f"}, want: []string{"req-0000", "req-0005", "req-0010"}},
			{name: "outcome", q: Query{Outcome: OutcomeRefused, To: base.Add(4 * time.Minute)}, want: []string{"req-0000", "req-0003"}},
			{name: "time range", q: Query{From: base.Add(10 * time.Minute)}, want: []string{"req-0010", "req-0011"}},
			{name: "time window", q: Query{From: base.Add(3 * time.Minute), To: base.Add(5 * time.Minute)}, want: []string{"req-0003", "req-0004"}},
			{name: "time window between records", q: Query{From: base.Add(3*time.Minute + time.Second), To: base.Add(4 * time.Minute)}, want: nil},
			{name: "request id", q: Query{RequestID: "req-0007"}, want: []string{"req-0007"}},
			{name: "limit", q: Query{Limit: 2}, want: []string{"req-0000", "req-0001"}},
			{name: "after", q: Query{After: all[9].ID}, want: []string{"req-0010", "req-0011"}},
			{name: "nothing", q: Query{TenantID: "t2"}, want: nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tr.Search(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, e := range got {
					ids = append(ids, e.RequestID)
				}
				if !reflect.DeepEqual(ids, tc.want) {
					t.Fatalf("got %v, want %v", ids, tc.want)
				}
			})
		}
		for _, bad := range []Query{{Decision: "maybe"}, {Code: "A1%"}} {
			if _, err := tr.Search(ctx, bad); err == nil {
				t.Errorf("search %+v: no error", bad)
			}
		}
	})
}

func TestExport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(t, db, Options{})
		n := exportPage + 3 // more than one page
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < n; i += 8 {
					r := sample(i, time.UnixMilli(int64(1_700_000_000_000+i)))
					if i == 1 {
						r.Model = "=HYPERLINK(\"x\")"
					}
					if err := tr.Append(ctx, r); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()

		var jl bytes.Buffer
		if err := tr.Export(ctx, &jl, Query{}, "jsonl"); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&jl)
		sc.Buffer(nil, 1<<20)
		lines := 0
		for sc.Scan() {
			var e Entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("line %d: %v", lines+1, err)
			}
			lines++
			if e.Seq != int64(lines) || e.Hash == "" || e.Stored.Mode != ModeHash {
				t.Fatalf("line %d: seq %d hash %q mode %q", lines, e.Seq, e.Hash, e.Stored.Mode)
			}
			if strings.Contains(sc.Text(), "secret") {
				t.Fatalf("line %d carries content: %s", lines, sc.Text())
			}
		}
		if lines != n {
			t.Fatalf("jsonl export has %d lines, want %d", lines, n)
		}

		var cb bytes.Buffer
		if err := tr.Export(ctx, &cb, Query{Code: "A1a"}, "csv"); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&cb).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + (n+2)/3; len(rows) != want {
			t.Fatalf("csv has %d rows, want %d (header + every third record)", len(rows), want)
		}
		if !reflect.DeepEqual(rows[0], csvHeader) || rows[1][11] != "refuse" {
			t.Fatalf("csv header/first row: %v / %v", rows[0], rows[1])
		}
		if err := tr.Export(ctx, &cb, Query{}, "xml"); err == nil {
			t.Fatal("export to xml: no error")
		}
		all, _ := tr.Search(ctx, Query{RequestID: "req-0001"})
		var one bytes.Buffer
		_ = tr.Export(ctx, &one, Query{RequestID: "req-0001"}, "csv")
		if len(all) != 1 || !strings.Contains(one.String(), `'=HYPERLINK`) {
			t.Fatalf("formula cell not defused: %s", one.String())
		}
	})
}

func TestConcurrentAppendsFormOneChain(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signer := testSigner(t)
		// Two trails on one database stand for two replicas.
		trails := []*Trail{newTrail(t, db, Options{Signer: signer}), newTrail(t, db, Options{Signer: signer, MaxBatch: 7})}
		const workers, each = 32, 40
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				tr := trails[g%2]
				for i := range each {
					if err := tr.Append(ctx, sample(g*each+i, time.Now())); err != nil {
						t.Error(err)
						return
					}
					if i == each/2 && g == 0 {
						if _, err := tr.Checkpoint(ctx); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		if _, err := trails[1].Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		rep := mustVerify(t, db, signer.Public().(ed25519.PublicKey))
		wantOK(t, rep)
		if rep.Records != workers*each || rep.FirstSeq != 1 || rep.LastSeq != workers*each || rep.Head != workers*each {
			t.Fatalf("report %+v, want %d records 1..%d", rep, workers*each, workers*each)
		}
		if rep.Checkpoints < 2 {
			t.Fatalf("%d checkpoints, want at least 2", rep.Checkpoints)
		}
	})
}

func TestContentModes(t *testing.T) {
	flagged := sample(3, time.Now()) // input refused
	clean := sample(1, time.Now())
	cases := []struct {
		name     string
		keys     bool
		opts     Options
		tenant   *Retention
		rec      Record
		wantMode Mode
	}{
		{name: "clean hashed by default", keys: true, rec: clean, wantMode: ModeHash},
		{name: "flagged encrypted with keys", keys: true, rec: flagged, wantMode: ModeEncrypted},
		{name: "flagged hashed without keys", rec: flagged, wantMode: ModeHash},
		{name: "configured none", keys: true, opts: Options{Retention: Retention{Clean: ModeNone}}, rec: clean, wantMode: ModeNone},
		{name: "tenant encrypts all", keys: true, tenant: &Retention{Clean: ModeEncrypted}, rec: clean, wantMode: ModeEncrypted},
		{name: "tenant asks encrypted without keys", tenant: &Retention{Flagged: ModeEncrypted}, rec: flagged, wantMode: ModeHash},
		{name: "no content kept as none", keys: true, rec: Record{TenantID: "t1", EndUser: "u3"}, wantMode: ModeNone},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				opts := tc.opts
				if tc.keys {
					opts.Keys = testKeyring(t, "a")
				}
				if tc.tenant != nil {
					opts.TenantRetention = func(string) (Retention, bool) { return *tc.tenant, true }
				}
				tr := newTrail(t, db, opts)
				rec := tc.rec
				rec.ID, rec.Time = NewID(time.Now()), time.Time{}
				mustAppend(t, tr, rec)
				var content string
				err := db.QueryRowContext(context.Background(), `SELECT content FROM audit_records WHERE id = $1`, rec.ID).Scan(&content)
				if err != nil {
					t.Fatal(err)
				}
				if rec.Content.Prompt != "" && strings.Contains(content, rec.Content.Prompt) {
					t.Fatalf("plaintext stored: %q", content)
				}
				got, err := tr.Search(context.Background(), Query{RequestID: rec.RequestID, TenantID: rec.TenantID})
				if err != nil {
					t.Fatal(err)
				}
				e := got[len(got)-1]
				if e.Stored.Mode != tc.wantMode {
					t.Fatalf("mode %q, want %q", e.Stored.Mode, tc.wantMode)
				}
				if tc.wantMode == ModeHash && e.Stored.PromptSHA256 != sha256Hex(rec.Content.Prompt) {
					t.Fatalf("prompt hash %q, want sha256 of the prompt", e.Stored.PromptSHA256)
				}
			})
		}
		wantOK(t, mustVerify(t, db))
	})
	if _, err := New(Options{DB: &store.DB{}, Retention: Retention{Flagged: ModeEncrypted}}); err == nil {
		t.Fatal("New accepted encrypted retention without a keyring")
	}
	if _, err := New(Options{DB: &store.DB{}, Retention: Retention{Clean: "plain"}}); err == nil {
		t.Fatal("New accepted an unknown mode")
	}
}

func TestAppendRejects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(t, db, Options{})
		dup := NewID(time.Now())
		ok := sample(1, time.Time{})
		ok.ID = dup
		mustAppend(t, tr, ok)
		bad := sample(2, time.Now())
		bad.Input.Action = safety.Action(9)
		if err := tr.Append(ctx, bad); err == nil {
			t.Fatal("appended an unknown action")
		}
		// Searches by time find records by id: an id must be NewID's for
		// the record's time.
		for _, id := range []string{"rec-1", NewID(time.Now().Add(time.Hour)), strings.ToLower(NewID(time.Now()))} {
			r := sample(2, time.Now())
			r.ID = id
			if err := tr.Append(ctx, r); err == nil {
				t.Fatalf("appended id %q for time %v", id, r.Time)
			}
		}
		// A duplicate id in a batch fails alone; the others commit.
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				r := sample(i, time.Now())
				if i == 7 {
					r.ID, r.Time = dup, time.Time{}
				}
				errs[i] = tr.Append(ctx, r)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if (err != nil) != (i == 7) {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		odd := sample(3, time.Now())
		odd.Model = "bad\x00model\xff" + strings.Repeat("x", 2*MaxField)
		mustAppend(t, tr, odd)
		wantOK(t, mustVerify(t, db))
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if err := tr.Append(ctx, sample(4, time.Now())); err != ErrClosed {
			t.Fatalf("append after close: %v, want ErrClosed", err)
		}
	})
}

func TestLookup(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		keys := testKeyring(t, "a")
		tr := newTrail(t, db, Options{Keys: keys})
		flagged := sample(9, time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)) // refused input: encrypted
		rec9, rec1 := NewID(flagged.Time), NewID(flagged.Time)
		flagged.ID, flagged.Label = rec9, json.RawMessage(`{"aigc":{"Label":"1"},"text_sha256":"ab"}`)
		clean := sample(1, flagged.Time)
		clean.ID = rec1
		mustAppend(t, tr, flagged, clean)
		e, err := Lookup(ctx, db, rec9, keys)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Label) != string(flagged.Label) || e.Content != flagged.Content || e.RequestID != flagged.RequestID {
			t.Errorf("lookup: label %s, content %+v, request %s", e.Label, e.Content, e.RequestID)
		}
		if e, err := Lookup(ctx, db, rec9, nil); err != nil || e.Content != (Content{}) {
			t.Errorf("lookup without keys: content %+v, %v", e.Content, err)
		}
		if e, err := Lookup(ctx, db, rec1, keys); err != nil || e.Content != (Content{}) || e.Stored.AnswerSHA256 == "" {
			t.Errorf("hashed record: content %+v, stored %+v, %v", e.Content, e.Stored, err)
		}
		if _, err := Lookup(ctx, db, "rec-404", keys); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing record: %v", err)
		}
	})
}
