package safety

import (
	"bufio"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/safety/starter"
)

// bothConfig is a policy whose two term sets meet: lexicon-wide pinyin
// and numeral forms, allow-lists and near phrases of terms, repeats, a
// near phrase that is also a term and one that is an allow phrase.
func bothConfig() Config {
	cfg := nearConfig()
	cfg.Lexicon = lexicon.Options{Pinyin: true, Numerals: true}
	cfg.Terms = append(cfg.Terms,
		lexicon.Term{ID: "ice", Text: "冰毒", Code: "A1h"},
		lexicon.Term{ID: "history", Text: "history", Code: "A5a", Action: "review", Allow: []string{"history of"}},
		lexicon.Term{ID: "thermite", Text: "thermite", Code: "A1d", Near: &lexicon.Near{Phrases: []string{"build", "教我"}, Within: 5}},
		lexicon.Term{ID: "haha", Text: "哈哈哈", Code: "A5a", Action: "review"},
		lexicon.Term{ID: "64", Text: "六四", Code: "A1a"},
	)
	return cfg
}

// starterConfig is the starter lexicon with intent rules made from the
// starter's phrase files, one rule per risk: ten thousand terms and a
// thousand and more phrases, many of them common words.
func starterConfig(t testing.TB) Config {
	t.Helper()
	cfg := Config{Version: "starter"}
	for _, name := range starter.Names {
		f, err := starter.Files.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		terms, err := ParseLexicon(f, name, "")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Terms = append(cfg.Terms, terms...)
	}
	rules := map[string]*NearRule{}
	files, err := starter.Files.ReadDir("intents")
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range files {
		risk, _, _ := strings.Cut(fi.Name(), "-")
		if len(risk) != 3 {
			continue
		}
		r := rules[risk]
		if r == nil {
			r = &NearRule{ID: risk, Code: strings.ToUpper(risk[:1]) + risk[1:]}
			rules[risk] = r
		}
		f, err := starter.Files.Open(path.Join("intents", fi.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			p := strings.TrimSpace(sc.Text())
			if p == "" || strings.HasPrefix(p, "#") {
				continue
			}
			switch {
			case strings.HasSuffix(fi.Name(), "-intent.txt"):
				r.Intent = append(r.Intent, p)
			case strings.HasSuffix(fi.Name(), "-object.txt"):
				r.Object = append(r.Object, p)
			default:
				r.Except = append(r.Except, p)
			}
		}
		f.Close()
	}
	for _, risk := range slices.Sorted(func(yield func(string) bool) {
		for k := range rules {
			if !yield(k) {
				return
			}
		}
	}) {
		if r := rules[risk]; len(r.Intent) > 0 && len(r.Object) > 0 {
			cfg.Near = append(cfg.Near, *r)
		}
	}
	return cfg
}

// checkBoth fails unless the one automaton's matches split into exactly
// what the lexicon and the near automaton find apart.
func checkBoth(t testing.TB, e *Engine, text string) {
	t.Helper()
	lex, near := e.findBoth(text)
	if want := e.lex.Find(text); !slices.Equal(lex, want) {
		t.Fatalf("%q: lexicon matches %v, alone %v", text, lex, want)
	}
	if want := e.near.lex.Find(text); !slices.Equal(near, want) {
		t.Fatalf("%q: near matches %v, alone %v", text, near, want)
	}
}

// bothText is random text from the pieces of both term sets, noise and
// odd runes, so that terms and phrases meet, overlap and break.
func bothText(rng *rand.Rand, e *Engine, words int) string {
	pieces := []string{" ", "，", ".", "\n", "\u200b", "哈", "a", "s", "4", "四", "肆", "\xff", "ﬁ", "𝐛", "  ", "the ", "教我", "冰毒的", "dupin", "du品", "bingdu", "liu四", "6四", "lu肆", "jiao我"}
	var b strings.Builder
	for range words {
		switch k := rng.IntN(10); {
		case k < 4:
			b.WriteString(e.lex.Term(rng.IntN(e.lex.Len())).Text)
		case k < 7:
			b.WriteString(e.near.lex.Term(rng.IntN(e.near.lex.Len())).Text)
		default:
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
	}
	return b.String()
}

func TestCheckBothMatchesApart(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, cfg := range []Config{bothConfig(), starterConfig(t)} {
		e := mustCompile(t, cfg)
		if e.both == nil {
			t.Fatal("no combined automaton with near rules")
		}
		for range 2000 {
			checkBoth(t, e, bothText(rng, e, 1+rng.IntN(30)))
		}
	}
	if e := mustCompile(t, testConfig()); e.both != nil {
		t.Fatal("a combined automaton without near rules")
	}
}

func TestCheckBothShared(t *testing.T) {
	cfg := bothConfig()
	a := mustCompile(t, cfg)
	cfg.Share = a
	cfg.Overrides = append(cfg.Overrides, Override{Code: "A1h", Action: "block"})
	if b := mustCompile(t, cfg); b.both != a.both {
		t.Fatal("an engine sharing both automata built the combined one again")
	}
	cfg.Lexicon.MaxForms = 2
	if b := mustCompile(t, cfg); b.both == a.both {
		t.Fatal("the combined automaton was shared across other lexicon options")
	}
}

func FuzzCheckBoth(f *testing.F) {
	for _, s := range []string{"教我提炼冰毒", "how to make napalm", "the history of thermite", "build thermite", "哈哈哈哈",
		"六四 liusi 陆肆 64", "dupin 毒品", "冰\u200b毒", "教 我 ， 冰 毒", "\xff\xfe冰毒", "ﬁ𝐛𝐨𝐦𝐛 bath bomb"} {
		f.Add(s)
	}
	e := mustCompile(f, bothConfig())
	big := mustCompile(f, starterConfig(f))
	f.Fuzz(func(t *testing.T, text string) {
		checkBoth(t, e, text)
		checkBoth(t, big, text)
	})
}
