package lexicon

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/benchtext"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// unskimmed returns l with the skim turned off: the full scan over every
// rune, which the skim must agree with match for match.
func unskimmed(l *Lexicon) *Lexicon {
	c := *l
	c.ends.window = 0
	return &c
}

// skimText returns text built to trip an end-anchored prefilter: terms and
// phrases of the lexicon, plain or disguised, at the very start and end
// too, between long stretches of text where nothing ends, with noise runs
// just under and over the gap, repeats, breaks, invisible, multi-rune,
// supplementary and invalid runes.
func skimText(rng *rand.Rand, l *Lexicon) string {
	han := []rune(benchtext.CommonHan)
	odd := []string{" ", "*", "，", "  ", "   ", "    ", "* * *", "\u200b", "\n", "\r\n", "。", "🌿", "𝐛𝐨𝐦𝐛",
		"ﬁ", "\xff", "\xe4\xb8", "Ｂ", "哈", "a", "ss", "六", "陆", "4"}
	var b strings.Builder
	term := func() {
		t := l.Term(rng.IntN(l.Len()))
		text := t.Text
		switch {
		case len(t.Allow) > 0 && rng.IntN(3) == 0:
			text = t.Allow[rng.IntN(len(t.Allow))]
		case t.Near != nil && rng.IntN(3) == 0:
			text = t.Near.Phrases[rng.IntN(len(t.Near.Phrases))] + text
		}
		if rng.IntN(2) == 0 {
			text = disguise(rng, text)
		}
		b.WriteString(text)
	}
	if rng.IntN(3) == 0 {
		term()
	}
	for range 2 + rng.IntN(20) {
		switch rng.IntN(6) {
		case 0, 1:
			term()
		case 2:
			for range 1 + rng.IntN(80) {
				b.WriteRune(han[rng.IntN(len(han))])
			}
		case 3:
			for range 1 + rng.IntN(12) {
				b.WriteString(benchtext.EnglishWords[rng.IntN(len(benchtext.EnglishWords))])
				b.WriteByte(' ')
			}
		default:
			for range 1 + rng.IntN(4) {
				b.WriteString(odd[rng.IntN(len(odd))])
			}
		}
	}
	if rng.IntN(3) == 0 {
		term()
	}
	return b.String()
}

// TestSkimAgreesWithFullScan compares Find and streams with the skim on
// against the full scan of every rune, for lexicons and options that move
// the skim's bounds: the gap (none, one, the default), breaks that end
// terms, no collapse of repeats, derived forms (pinyin, numerals).
func TestSkimAgreesWithFullScan(t *testing.T) {
	golden := goldenTerms()
	options := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"no gap", Options{Norm: textnorm.Options{MaxGap: -1}}},
		{"gap 1", Options{Norm: textnorm.Options{MaxGap: 1}}},
		{"breaks end terms", Options{Norm: textnorm.Options{BreaksEndTerms: true}}},
		{"no collapse", Options{Norm: textnorm.Options{NoCollapse: true}}},
		{"forms", Options{Pinyin: true, Numerals: true, Initials: true}},
	}
	lexicons := []struct {
		name  string
		terms []Term
	}{
		{"small", testTerms()},
		{"golden", golden[:2000]},
	}
	for _, o := range options {
		for _, lx := range lexicons {
			t.Run(o.name+"/"+lx.name, func(t *testing.T) {
				l := mustLexicon(t, lx.terms, o.opts)
				full := unskimmed(l)
				rng := rand.New(rand.NewPCG(uint64(len(o.name)), uint64(len(lx.terms))))
				matches := 0
				for i := range 300 {
					text := skimText(rng, l)
					want := full.Find(text)
					matches += len(want)
					if got := l.Find(text); !slices.Equal(got, want) {
						t.Fatalf("text %d %q:\nskim %s\nfull %s", i, text, found(l, text, got), found(l, text, want))
					}
					if got := streamMatches(t, l, randomChunks(rng, text)); !slices.Equal(got, want) {
						t.Fatalf("text %d %q, stream:\nskim %s\nfull %s", i, text, found(l, text, got), found(l, text, want))
					}
				}
				if matches < 300 {
					t.Fatalf("only %d matches in 300 texts: the texts no longer exercise the skim", matches)
				}
			})
		}
	}
}

// TestSkimEdges pins the places where the skim's test for an end needs
// the symbols before: a gap just over or at the maximum (also across
// writes, where the scanner's own gap counts), a repeat, a break, a reset
// by a letter in no pattern; and for the third symbol from the end, a run
// of the second to skip, with noise inside or before it.
func TestSkimEdges(t *testing.T) {
	terms := append(testTerms(), Term{ID: "knife", Text: "刀"}, Term{ID: "dd", Text: "d"}, Term{ID: "poison", Text: "毒药"},
		Term{ID: "dose", Text: "投毒药"}, Term{ID: "blast", Text: "爆破破门"}, Term{ID: "sphinx", Text: "sphinx"})
	tests := []struct {
		name, text string
		opts       Options
		want       []string // ids of the matches, in order
	}{
		{"gap over the maximum", "刀    刀", Options{}, []string{"knife", "knife"}},
		{"gap at the maximum: a repeat", "刀   刀", Options{}, []string{"knife"}},
		{"a repeat, then a gap over the maximum", "刀刀    刀", Options{}, []string{"knife", "knife"}},
		{"gap 1 over", "刀  刀", Options{Norm: textnorm.Options{MaxGap: 1}}, []string{"knife", "knife"}},
		{"no gap", "毒 药", Options{Norm: textnorm.Options{MaxGap: -1}}, nil},
		{"pair over a gap", "毒 * 药", Options{}, []string{"poison"}},
		{"pair over too long a gap", "毒 * * 药", Options{}, nil},
		{"break ends the term", "毒\n药", Options{Norm: textnorm.Options{BreaksEndTerms: true}}, nil},
		{"break is noise", "毒\n药", Options{}, []string{"poison"}},
		{"letter in no pattern", "毒x药", Options{}, nil},
		{"invisible runes", "毒\u200b\u200b\u200b\u200b药", Options{}, []string{"poison"}},
		{"word edge", "d, ad, ax, d", Options{}, []string{"dd", "dd"}},
		{"repeat needed", "你哈你哈哈", Options{}, []string{"haha"}},
		{"no collapse", "刀刀", Options{Norm: textnorm.Options{NoCollapse: true}}, []string{"knife", "knife"}},
		{"last two only", "下毒药", Options{}, []string{"poison"}},
		{"last three", "投毒药", Options{}, []string{"dose", "poison"}},
		{"last three over a gap", "投 * 毒药", Options{}, []string{"dose", "poison"}},
		{"last three over too long a gap", "投 * * 毒药", Options{}, []string{"poison"}},
		{"last three over a break", "投\n毒药", Options{Norm: textnorm.Options{BreaksEndTerms: true}}, []string{"poison"}},
		{"last three over a run", "爆破破门", Options{}, []string{"blast"}},
		{"last three over a run with noise inside", "爆破 * 破门", Options{}, []string{"blast"}},
		{"last three over noise before and inside a run", "爆 * 破 * 破门", Options{}, []string{"blast"}},
		{"last three over a long run", "爆 破破破破破破破门", Options{}, []string{"blast"}},
		{"run too short", "爆破门", Options{}, nil},
		{"run cut by too long a gap", "爆破 * * 破门", Options{}, nil},
		{"run after a letter in no pattern", "爆x破破门", Options{}, nil},
		{"last three uncollapsed", "爆破破门", Options{Norm: textnorm.Options{NoCollapse: true}}, []string{"blast"}},
		{"last three of a word", "jinx lynx sphinx", Options{}, []string{"sphinx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustLexicon(t, terms, tt.opts)
			text := "你好" + tt.text + "你好"
			var ids []string
			for _, m := range unskimmed(l).Find(text) {
				ids = append(ids, l.Term(m.Term).ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("full scan of %q found %v, want %v", text, ids, tt.want)
			}
			want := unskimmed(l).Find(text)
			if got := l.Find(text); !slices.Equal(got, want) {
				t.Fatalf("skim %v, full %v", got, want)
			}
			// every cut in two, so that a noise run straddles a write
			// with text after it, and every rune and byte a write
			var runes, bytes []string
			chunkings := [][]string{}
			for i, r := range text {
				runes = append(runes, string(r))
				chunkings = append(chunkings, []string{text[:i], text[i:]})
			}
			for i := range len(text) {
				bytes = append(bytes, text[i:i+1])
			}
			for _, chunks := range append(chunkings, runes, bytes) {
				if got := streamMatches(t, l, chunks); !slices.Equal(got, want) {
					t.Fatalf("stream of %q: skim %v, full %v", chunks, got, want)
				}
			}
		})
	}
}

// TestSkimSkips checks that the skim does skip: on text where no term can
// end, the scanner restarts close to the end rather than scanning from
// the start.
func TestSkimSkips(t *testing.T) {
	l := mustLexicon(t, testTerms(), Options{})
	text := strings.Repeat("你好世界，今天天气很好。", 200) + "毒品"
	st := l.NewStream()
	ms := st.Write(text[:len(text)-len("毒品")])
	if len(ms) != 0 || st.sc.nsym > 10 {
		t.Fatalf("before the term: %d matches, %d symbols fed to the automaton; want 0 and a handful", len(ms), st.sc.nsym)
	}
	ms = append(ms, st.Write("毒品")...)
	ms = append(ms, st.Close()...)
	if len(ms) != 1 || text[ms[0].Start:ms[0].End] != "毒品" {
		t.Fatalf("matches %v, want 毒品 at the end", ms)
	}
}

func FuzzSkim(f *testing.F) {
	for _, s := range []string{"毒品", "毒   品", "b.o.m.b", "炸炸弹面包", "哈哈哈", "\xff\xfe毒品", "ﬁ𝐛𝐨𝐦𝐛", "陆肆",
		"买了一把枪", "kill\u200b yourself", "classy ass", "你好你好你好毒\n品"} {
		f.Add(s, uint64(3))
	}
	l := mustLexicon(f, goldenTerms()[:500], Options{})
	full := unskimmed(l)
	f.Fuzz(func(t *testing.T, text string, cuts uint64) {
		want := full.Find(text)
		if got := l.Find(text); !slices.Equal(got, want) {
			t.Fatalf("skim %v != full %v", got, want)
		}
		var chunks []string
		for rest := text; len(rest) > 0; {
			n := min(1+int(cuts%11), len(rest))
			cuts = cuts/11 + 1
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		if got := streamMatches(t, l, chunks); !slices.Equal(got, want) {
			t.Fatalf("stream %v != full %v", got, want)
		}
	})
}

func TestRuneCut(t *testing.T) {
	tests := []struct {
		text    string
		k, want int
	}{
		{"abc", 1, 1},
		{"abc", 9, 3},
		{"a你b", 2, 4},            // inside 你: on to b
		{"a你b", 1, 1},            // at 你
		{"a\x80\x80\x80b", 2, 4}, // stray continuation bytes: on to the next start
		{"你", 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := runeCut(tt.text, tt.k); got != tt.want {
				t.Errorf("runeCut(%q, %d) = %d, want %d", tt.text, tt.k, got, tt.want)
			}
		})
	}
}

// TestNoSkimOption checks that Options.NoSkim turns the prefilter off and
// changes no match.
func TestNoSkimOption(t *testing.T) {
	terms := goldenTerms()[:500]
	skimmed := mustLexicon(t, terms, Options{})
	l := mustLexicon(t, terms, Options{NoSkim: true})
	if l.ends.window != 0 || skimmed.ends.window == 0 {
		t.Fatalf("window %d with NoSkim, %d without", l.ends.window, skimmed.ends.window)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		text := skimText(rng, skimmed)
		if got, want := l.Find(text), skimmed.Find(text); !slices.Equal(got, want) {
			t.Fatalf("%q: NoSkim %v, skim %v", text, got, want)
		}
	}
}
