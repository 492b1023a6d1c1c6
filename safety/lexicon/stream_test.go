package lexicon

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/benchtext"
)

// plantedText returns a random mixed zh/en text with terms of the test
// lexicon planted in it, plain or disguised.
func plantedText(rng *rand.Rand) string {
	han := []rune(benchtext.CommonHan)
	plants := []string{"毒品", "毒 品", "d.u.p.i.n", "炸炸弹", "炸弹面包", "ＢＯＭＢ", "b o m b", "bоmb",
		"photo bomb", "哈哈哈", "cc", "陆肆", "6-4", "买枪", "枪", "flg", "ass", "class", "發票", "kill yourself",
		"毒\u200b品", "bombastic", "\n", "。", "🌿", "ﬁ", "\xff"}
	var b strings.Builder
	for range 5 + rng.IntN(30) {
		switch rng.IntN(4) {
		case 0:
			b.WriteString(plants[rng.IntN(len(plants))])
		case 1:
			for range 1 + rng.IntN(6) {
				b.WriteRune(han[rng.IntN(60)])
			}
		case 2:
			b.WriteString(benchtext.EnglishWords[rng.IntN(len(benchtext.EnglishWords))])
		default:
			b.WriteString([]string{" ", "，", ", ", "*", "  "}[rng.IntN(5)])
		}
	}
	return b.String()
}

// randomChunks splits s at random byte positions, inside runes too.
func randomChunks(rng *rand.Rand, s string) []string {
	var out []string
	for len(s) > 0 {
		n := 1 + rng.IntN(min(len(s), 9))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// streamMatches runs text through a Stream in chunks and checks that no
// match starts before a Safe value reported earlier.
func streamMatches(t *testing.T, l *Lexicon, chunks []string) []Match {
	t.Helper()
	st := l.NewStream()
	var all []Match
	safe := 0
	for _, c := range chunks {
		for _, m := range st.Write(c) {
			if m.Start < safe {
				t.Fatalf("match %+v starts before the safe point %d", m, safe)
			}
			all = append(all, m)
		}
		s := st.Safe()
		if s < safe || s > st.Pos() {
			t.Fatalf("Safe went from %d to %d (pos %d)", safe, s, st.Pos())
		}
		safe = s
	}
	for _, m := range st.Close() {
		if m.Start < safe {
			t.Fatalf("match %+v at close starts before the safe point %d", m, safe)
		}
		all = append(all, m)
	}
	sortMatches(all)
	return all
}

func TestStreamEqualsFind(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		text := plantedText(rng)
		chunks := randomChunks(rng, text)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want := l.Find(text)
			got := streamMatches(t, l, chunks)
			if !slices.Equal(got, want) {
				t.Fatalf("text %q chunks %q:\nstream %s\nfind   %s", text, chunks,
					found(l, text, got), found(l, text, want))
			}
		})
	}
}

func TestStreamSafeHoldsBackPartialTerm(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{})
	tests := []struct {
		name     string
		chunks   []string
		wantSafe int // after the last chunk
	}{
		{"nothing pending", []string{"你好"}, len("你好")},
		{"half a term", []string{"你好", "毒"}, len("你好")},
		{"term then noise", []string{"你好毒", " "}, len("你好")},
		{"allow phrase may follow", []string{"炸弹"}, 0},
		{"latin word may go on", []string{"a bomb"}, 2},
		{"split rune", []string{"你", "\xe5\xa5"}, len("你")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := l.NewStream()
			for _, c := range tt.chunks {
				st.Write(c)
			}
			if got := st.Safe(); got != tt.wantSafe {
				t.Errorf("Safe() = %d, want %d", got, tt.wantSafe)
			}
		})
	}
}
