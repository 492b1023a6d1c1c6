package kb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// synthetic makes documents of words drawn with a Zipf law from a
// vocabulary of 30,000 made-up English words and 3,000 Han characters,
// in sentences of about 12 words, a quarter of them Chinese: a corpus
// whose term statistics look like text, made the same way every run.
type synthetic struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	words []string
}

func newSynthetic() *synthetic {
	rng := rand.New(rand.NewPCG(1, 2))
	s := &synthetic{rng: rng, zipf: rand.NewZipf(rng, 1.1, 2, 32_999)}
	syll := []string{"ka", "lo", "mi", "ter", "san", "dor", "vel", "qui", "pra", "nu", "zed", "ro", "bel", "tis", "gon", "fe"}
	for i := range 30_000 {
		var b strings.Builder
		for n := i; ; n /= 16 {
			b.WriteString(syll[n%16])
			if n < 16 {
				break
			}
		}
		s.words = append(s.words, b.String())
	}
	for i := range 3_000 {
		s.words = append(s.words, string(rune(0x4e00+i*5)))
	}
	return s
}

func (s *synthetic) word() string { return s.words[s.zipf.Uint64()] }

func (s *synthetic) sentence() string {
	var b strings.Builder
	if s.rng.IntN(4) == 0 { // Chinese: characters, no spaces
		for range 12 + s.rng.IntN(12) {
			w := s.words[30_000+s.rng.IntN(3_000)]
			if r := s.zipf.Uint64(); r >= 30_000 {
				w = s.words[r]
			}
			b.WriteString(w)
		}
		b.WriteString("。")
		return b.String()
	}
	for i := range 8 + s.rng.IntN(8) {
		if i > 0 {
			b.WriteByte(' ')
		}
		w := s.word()
		for []rune(w)[0] >= 0x4e00 {
			w = s.word()
		}
		b.WriteString(w)
	}
	b.WriteString(". ")
	return b.String()
}

// document is text of about n bytes.
func (s *synthetic) document(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(s.sentence())
	}
	return b.String()
}

// query is three to six words of the corpus, common and rare, or, one
// time in four, four to eight characters of a Chinese sentence.
func (s *synthetic) query() string {
	if s.rng.IntN(4) == 0 {
		r := []rune(s.sentence())
		for r[0] < 0x4e00 {
			r = []rune(s.sentence())
		}
		return string(r[:min(len(r)-1, 4+s.rng.IntN(5))])
	}
	var ws []string
	for range 3 + s.rng.IntN(4) {
		ws = append(ws, s.words[s.rng.IntN(len(s.words))])
	}
	return strings.Join(ws, " ")
}

var benchBases = map[string]*kb.Service{}

// benchBase fills a base of about chunks chunks once per database and size.
func benchBase(b *testing.B, dialect string, chunks int) *kb.Service {
	key := fmt.Sprint(dialect, chunks)
	if s := benchBases[key]; s != nil {
		return s
	}
	opts := store.Options{DataDir: b.TempDir(), WALCheckpointEvery: -1}
	if dialect == "postgres" {
		opts = store.Options{DSN: storetest.PostgresDSN(b)}
	}
	db := storetest.Open(b, opts)
	ctx := context.Background()
	s, err := kb.New(ctx, kb.Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateBase(ctx, kb.Base{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	gen := newSynthetic()
	const perDoc = 1000 // chunks of about 455 new bytes each
	for n := 0; n < chunks; n += perDoc {
		text := gen.document(min(perDoc, chunks-n) * 455)
		if _, err := s.AddDocument(ctx, "bench", kb.NewDocument{Title: fmt.Sprintf("doc-%d.txt", n), Data: []byte(text)}); err != nil {
			b.Fatal(err)
		}
	}
	if dialect == "postgres" {
		// What autovacuum does within a minute of a large ingest: the
		// planner's statistics of the new rows.
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE kb_chunks, kb_terms"); err != nil {
			b.Fatal(err)
		}
	}
	base, err := s.Base(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d chunks", dialect, base.Chunks)
	benchBases[key] = s
	return s
}

// BenchmarkSearch is the latency of one BM25 retrieval of the top 4
// passages, on SQLite (FTS5) and PostgreSQL, at 1,000 chunks (the
// baseline) and 100,000. FIREBREAK_TEST_POSTGRES=off skips PostgreSQL.
func BenchmarkSearch(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, n := range []int{1_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%dk", dialect, n/1000), func(b *testing.B) {
				s := benchBase(b, dialect, n)
				gen := newSynthetic()
				queries := make([]string, 64)
				for i := range queries {
					queries[i] = gen.query()
				}
				ctx := context.Background()
				i := 0
				start := cputime.Process()
				for b.Loop() {
					if _, err := s.Search(ctx, []string{"bench"}, queries[i%len(queries)], 4); err != nil {
						b.Fatal(err)
					}
					i++
				}
				cputime.Report(b, start, 0)
			})
		}
	}
}
