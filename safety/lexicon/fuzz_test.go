package lexicon

import (
	"slices"
	"testing"
)

func FuzzFind(f *testing.F) {
	for _, s := range []string{"毒品", "b.o.m.b", "炸炸弹面包", "哈哈哈", "买枪", "\xff\xfe", "ﬁ𝐛𝐨𝐦𝐛", "陆肆"} {
		f.Add(s)
	}
	l := mustLexicon(f, testTerms(), Options{})
	f.Fuzz(func(t *testing.T, text string) {
		ms := l.Find(text)
		for _, m := range ms {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End || !isRuneStart(text, m.Start) || !isRuneStart(text, m.End) {
				t.Fatalf("bad match %+v in %q", m, text)
			}
		}
	})
}

func FuzzStream(f *testing.F) {
	for _, s := range []string{"毒品", "b.o.m.b", "炸炸弹面包", "哈哈哈", "买枪", "\xff\xfe", "ﬁ𝐛𝐨𝐦𝐛", "陆肆"} {
		f.Add(s, uint64(3))
	}
	l := mustLexicon(f, testTerms(), Options{})
	f.Fuzz(func(t *testing.T, text string, cuts uint64) {
		var chunks []string
		rest := text
		for len(rest) > 0 {
			n := 1 + int(cuts%7)
			cuts = cuts/7 + 1
			n = min(n, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		if got, want := streamMatches(t, l, chunks), l.Find(text); !slices.Equal(got, want) {
			t.Fatalf("stream %v != find %v", got, want)
		}
	})
}
