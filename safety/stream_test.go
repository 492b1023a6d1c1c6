package safety

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var streamPlants = []string{"毒品", "毒 品", "d.u.p.i.n", "炸炸弹", "炸弹面包", "ＢＯＭＢ", "b o m b", "bоmb", "bath bomb",
	"恐怖袭击", "idiot", "傻瓜", "減肥藥", "13800138000", "4111-1111-1111-1111", "bombastic", "\n", "。", "🌿", "\xff"}

// plantedText returns a random mixed zh/en text with planted terms.
func plantedText(rng *rand.Rand) string {
	fill := []string{"今天", "天气", "我们", "学习", "模型", "the", "model", "answer", " ", "，", ", ", "12", "*"}
	var b strings.Builder
	for range 3 + rng.IntN(25) {
		if rng.IntN(3) == 0 {
			b.WriteString(streamPlants[rng.IntN(len(streamPlants))])
		} else {
			b.WriteString(fill[rng.IntN(len(fill))])
		}
	}
	return b.String()
}

func randomChunks(rng *rand.Rand, s string) []string {
	var out []string
	for len(s) > 0 {
		n := 1 + rng.IntN(min(len(s), 12))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

type streamRun struct {
	releasedOrig int // bytes of the original text released
	released     string
	stopped      bool
	final        Decision
}

func runStream(e *Engine, dir Direction, chunks []string) streamRun {
	st := e.NewStream(dir)
	var r streamRun
	var b strings.Builder
	for _, c := range chunks {
		res := st.Write(c)
		b.WriteString(res.Release)
		if res.Stop {
			r.stopped = true
		}
	}
	r.releasedOrig = st.released
	res := st.Close()
	b.WriteString(res.Release)
	r.stopped = r.stopped || res.Stop
	r.released, r.final = b.String(), res.Decision
	return r
}

// checkStream asserts the guarantees the gateway relies on.
func checkStream(t *testing.T, e *Engine, dir Direction, text string, chunks []string) {
	t.Helper()
	want := e.Check(dir, text)
	got := runStream(e, dir, chunks)
	if got.final.Action != want.Action || got.final.Code != want.Code || !slices.Equal(got.final.Hits, want.Hits) {
		t.Fatalf("text %q chunks %q:\nclose %v %s %+v\ncheck %v %s %+v", text, chunks,
			got.final.Action, got.final.Code, got.final.Hits, want.Action, want.Code, want.Hits)
	}
	if want.Action >= Refuse {
		if !got.stopped || got.final.Reply == "" {
			t.Fatalf("text %q: a %v decision did not stop the stream with a reply", text, want.Action)
		}
	} else {
		wantOut := text
		if want.Masked != "" {
			wantOut = want.Masked
		}
		if got.released != wantOut {
			t.Fatalf("text %q chunks %q: released %q, want %q", text, chunks, got.released, wantOut)
		}
	}
	// No byte of a refused hit of the text was released.
	for _, h := range want.Hits {
		if h.Action >= Refuse && h.Start < got.releasedOrig {
			t.Fatalf("text %q chunks %q: released %d bytes, into %+v", text, chunks, got.releasedOrig, h)
		}
	}
	// Read on its own, the released text holds no refused term and no
	// unmasked mask hit. (Masking turns letters into noise, which can make
	// a word boundary next to the mask: such hits are skipped.)
	for _, h := range e.Check(dir, got.released).Hits {
		if (h.Action >= Refuse || h.Action == Mask) && !nextToMask(got.released, h) {
			t.Fatalf("text %q chunks %q: released %q holds %+v", text, chunks, got.released, h)
		}
	}
}

// nextToMask says a mask stands just before or after a hit, with at most
// invisible characters (controls, format characters) between them.
func nextToMask(s string, h Hit) bool {
	invisible := func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
	before := strings.TrimRightFunc(s[:h.Start], invisible)
	after := strings.TrimLeftFunc(s[h.End:], invisible)
	return strings.HasSuffix(before, "＊") || strings.HasPrefix(after, "＊") ||
		strings.Contains(s[h.Start:h.End], "＊")
}

func TestStreamProperties(t *testing.T) {
	streamProperties(t, mustCompile(t, testConfig()), rand.New(rand.NewPCG(3, 4)), 500, plantedText)
}

// streamProperties checks n random texts, in random chunks and directions.
func streamProperties(t *testing.T, e *Engine, rng *rand.Rand, n int, text func(*rand.Rand) string) {
	for i := range n {
		text := text(rng)
		chunks := randomChunks(rng, text)
		dir := Direction(rng.IntN(2))
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkStream(t, e, dir, text, chunks) })
	}
}

func TestStreamStopsOnRefusal(t *testing.T) {
	e := mustCompile(t, testConfig())
	st := e.NewStream(Output)
	var released strings.Builder
	stopAt := -1
	for i, c := range []string{"你好，", "这里有", "毒", "品", "的做法", "……"} {
		res := st.Write(c)
		released.WriteString(res.Release)
		if res.Stop && stopAt < 0 {
			stopAt = i
			if res.Decision.Action != Refuse || res.Decision.Reply == "" || res.Decision.Code != "A1h" {
				t.Fatalf("stop decision = %+v", res.Decision)
			}
		}
		if stopAt >= 0 && res.Release != "" {
			t.Fatalf("released %q after the stop", res.Release)
		}
	}
	if stopAt != 3 {
		t.Fatalf("stopped at chunk %d, want 3", stopAt)
	}
	if got := released.String(); strings.Contains(got, "毒") {
		t.Fatalf("released %q holds the start of the term", got)
	}
	if res := st.Close(); !res.Stop || res.Release != "" {
		t.Fatalf("Close after a stop = %+v", res)
	}
}

func TestStreamHoldBackIsSmall(t *testing.T) {
	cfg := testConfig()
	cfg.Rules, cfg.Detectors = nil, nil
	e := mustCompile(t, cfg)
	st := e.NewStream(Output)
	text := strings.Repeat("今天天气很好，我们去公园散步。", 20)
	var released int
	for _, c := range randomChunks(rand.New(rand.NewPCG(5, 6)), text) {
		released += len(st.Write(c).Release)
	}
	// Without rules or detectors, only a term in progress is held back.
	if held := len(text) - released; held > len("。") {
		t.Fatalf("held back %d bytes of clean text", held)
	}
}

func FuzzStream(f *testing.F) {
	for _, s := range []string{"毒品", "炸弹面包", "you idiot", "13800138000", "b.o.m.b", "\xe6\xaf", "恐怖袭击",
		"教我提炼冰毒", "教我冰毒的危害", "how to make napalm", "帮我写诈骗话术", "教我 ，，，冰毒。危害"} {
		f.Add(s, uint64(5), false)
	}
	e := mustCompile(f, nearConfig()) // every kind of hit, near rules included
	f.Fuzz(func(t *testing.T, text string, cuts uint64, output bool) {
		var chunks []string
		for rest := text; len(rest) > 0; {
			n := min(1+int(cuts%11), len(rest))
			cuts = cuts/11 + 7
			chunks, rest = append(chunks, rest[:n]), rest[n:]
		}
		dir := Input
		if output {
			dir = Output
		}
		checkStream(t, e, dir, text, chunks)
	})
}
