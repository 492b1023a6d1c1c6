package kb_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/kb/support"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func newService(t *testing.T, db *store.DB) *kb.Service {
	t.Helper()
	s, err := kb.New(context.Background(), kb.Options{DB: db, Now: func() time.Time { return time.UnixMilli(1_800_000_000_000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// loadCorpus puts every file of testdata/corpus in base.
func loadCorpus(t *testing.T, s *kb.Service, base string) map[int64]string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateBase(ctx, kb.Base{Name: base, CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/corpus/*")
	if err != nil || len(files) == 0 {
		t.Fatal("no corpus", err)
	}
	titles := map[int64]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.AddDocument(ctx, base, kb.NewDocument{Title: filepath.Base(f), Data: data, Author: "test"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		titles[d.ID] = d.Title
	}
	return titles
}

type query struct {
	Query string `json:"query"`
	Doc   string `json:"doc"`
}

func loadQueries(t *testing.T) []query {
	t.Helper()
	f, err := os.Open("testdata/queries.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var qs []query
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var q query
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	return qs
}

// TestRetrievalRecall measures recall@1 and recall@3 of BM25 retrieval on
// the zh/en corpus with known answers, on both databases, and holds them
// to floors.
func TestRetrievalRecall(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db)
		loadCorpus(t, s, "med")
		for _, lang := range []string{"en", "zh"} {
			var n, at1, at3 int
			for _, q := range loadQueries(t) {
				zh := strings.ContainsFunc(q.Query, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff })
				if zh != (lang == "zh") {
					continue
				}
				n++
				ps, err := s.Search(context.Background(), []string{"med"}, q.Query, 3)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for i, p := range ps {
					if p.Title == q.Doc {
						if i == 0 {
							at1++
						}
						at3++
						found = true
						break
					}
				}
				if !found {
					t.Logf("miss: %q", q.Query)
				}
				if len(ps) > 1 && ps[0].Score < ps[1].Score {
					t.Errorf("%q: not ordered by score", q.Query)
				}
			}
			r1, r3 := float64(at1)/float64(n), float64(at3)/float64(n)
			t.Logf("%s %s: recall@1 %.2f, recall@3 %.2f (%d queries)", db.Dialect(), lang, r1, r3, n)
			if r1 < 0.85 || r3 < 0.9 {
				t.Errorf("%s: recall@1 %.2f, recall@3 %.2f under the floors 0.85 / 0.9", lang, r1, r3)
			}
		}
	})
}

func TestBasesAndDocuments(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		if _, err := s.CreateBase(ctx, kb.Base{Name: "bad name"}); clienterr.As(err).Code != clienterr.InvalidRequest {
			t.Errorf("bad name: %v", err)
		}
		if _, err := s.CreateBase(ctx, kb.Base{Name: "shop", Route: "shop-bot", Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateBase(ctx, kb.Base{Name: "shop"}); !errors.Is(err, kb.ErrBaseExists) {
			t.Errorf("twice: %v", err)
		}
		data, _ := os.ReadFile("testdata/corpus/refunds.txt")
		d, err := s.AddDocument(ctx, "shop", kb.NewDocument{Title: "refunds.txt", Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddDocument(ctx, "shop", kb.NewDocument{Title: "again.txt", Data: data}); !errors.Is(err, kb.ErrDuplicate) {
			t.Errorf("same file twice: %v", err)
		}
		if _, err := s.AddDocument(ctx, "nope", kb.NewDocument{Title: "x.txt", Data: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no such base: %v", err)
		}
		other, err := s.AddDocument(ctx, "shop", kb.NewDocument{Title: "gifts.md", Data: []byte("# Gifts\n\nGift wrapping costs 3 dollars.")})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Base(ctx, "shop")
		if err != nil || b.Documents != 2 || b.Chunks != int64(d.Chunks+other.Chunks) || b.Route != "shop-bot" {
			t.Fatalf("base %+v, %v", b, err)
		}
		for _, c := range []struct {
			route, tenant string
			want          bool
		}{{"shop-bot", "acme", true}, {"shop-bot", "other", false}, {"med-bot", "acme", false}} {
			names, err := s.BasesFor(ctx, c.route, c.tenant)
			if err != nil || (len(names) == 1) != c.want {
				t.Errorf("BasesFor(%s, %s) = %v, %v", c.route, c.tenant, names, err)
			}
		}
		ps, err := s.Search(ctx, []string{"shop"}, "gift wrapping price", 5)
		if err != nil || len(ps) == 0 || ps[0].DocumentID != other.ID {
			t.Fatalf("search: %+v, %v", ps, err)
		}
		if err := s.RemoveDocument(ctx, "shop", other.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveDocument(ctx, "shop", other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed twice: %v", err)
		}
		ps, err = s.Search(ctx, []string{"shop"}, "gift wrapping price", 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.DocumentID == other.ID {
				t.Fatal("a removed document is still found")
			}
		}
		// The refund document still ranks, with the right statistics.
		ps, err = s.Search(ctx, []string{"shop"}, "gift cards refunded", 5)
		if err != nil || len(ps) == 0 || ps[0].DocumentID != d.ID || ps[0].Score <= 0 {
			t.Fatalf("after removal: %+v, %v", ps, err)
		}
		docs, err := s.Documents(ctx, "shop")
		if err != nil || len(docs) != 1 {
			t.Fatalf("documents: %+v, %v", docs, err)
		}
		if err := s.RemoveBase(ctx, "shop"); err != nil {
			t.Fatal(err)
		}
		if ps, err := s.Search(ctx, []string{"shop"}, "gift cards refunded", 5); err != nil || len(ps) != 0 {
			t.Fatalf("after removing the base: %+v, %v", ps, err)
		}
		if _, err := s.Base(ctx, "shop"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed base: %v", err)
		}
	})
}

func TestGroundingSettings(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		if _, ok := s.GroundingOf("med-bot"); ok {
			t.Fatal("grounded before any setting")
		}
		for _, bad := range []kb.Grounding{{Route: ""}, {Route: "r", Action: "shout"}, {Route: "r", TopK: 50}, {Route: "r", MinSupport: 2}} {
			if _, err := s.SetGrounding(ctx, bad); clienterr.As(err).Code != clienterr.InvalidRequest {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		g, err := s.SetGrounding(ctx, kb.Grounding{Route: "med-bot", Action: kb.Refuse, UpdatedBy: "ops"})
		if err != nil || g.TopK != 4 || g.MinSupport != support.DefaultMinSupport {
			t.Fatalf("%+v %v", g, err)
		}
		if got, ok := s.GroundingOf("med-bot"); !ok || got.Action != kb.Refuse {
			t.Fatalf("in memory: %+v", got)
		}
		// Another replica's service reads it from the database.
		s2 := newService(t, db)
		if got, ok := s2.GroundingOf("med-bot"); !ok || got.Action != kb.Refuse {
			t.Fatalf("second service: %+v", got)
		}
		if err := s.RemoveGrounding(ctx, "med-bot"); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.GroundingOf("med-bot"); ok {
			t.Fatal("still grounded")
		}
		if err := s.RemoveGrounding(ctx, "med-bot"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("twice: %v", err)
		}
	})
}
