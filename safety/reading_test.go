package safety

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// TestUnescapeOffsets: whatever the text, every byte of the decoded
// reading maps to an offset of the text, in order, so that a hit found in
// it is given where it is written.
func TestUnescapeOffsets(t *testing.T) {
	pieces := []string{`\`, `u`, `0062`, `k1`, `7`, `b0mb`, `2001`, `d83d`, `\ude00`, `x6`, `2`, `&`, `#`, `x`, `;`, `amp;`, `ouml;`,
		`%`, `e6`, `%97`, `%a5`, `b`, `o`, `炸`, "\xff", `"`, `n`, ` `, `cGlwZSBib21i`, `=`, `5Yi25L2c`, `+`, `/`, `-`, `_`}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		text := randomText(rng, pieces, 12)
		decoded, at, ok := reading(text, 0)
		if !ok {
			continue
		}
		if len(at) != len(decoded)+1 || at[len(decoded)] != len(text) {
			t.Fatalf("%q → %q: %d offsets", text, decoded, len(at))
		}
		for i := 1; i < len(at); i++ {
			if at[i] < at[i-1] || at[i] > len(text) {
				t.Fatalf("%q → %q: offsets %v", text, decoded, at)
			}
		}
	}
	for in, want := range map[string]string{
		`\u0062omb`: "bomb", `\x62omb`: "bomb", `&#98;omb`: "bomb", `&#x62;omb`: "bomb", `b&ouml;mb`: "bömb",
		`%62omb`: "bomb", `%E7%82%B8弹`: "炸弹", `\ud83d\ude00`: "😀", `a\"b\\n`: `a"b\n`,
	} {
		if got, _, ok := unescape(in); !ok || got != want {
			t.Errorf("unescape(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]string{"b0mb": "bomb", "k1ll y0ur5elf": "kill yourself", "GPT4 in 2001": "GPTa in 2001", `&#98;0mb`: "bomb"} {
		if got, _, ok := reading(in, 0); !ok || got != want {
			t.Errorf("reading(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]string{
		"cGlwZSBib21i": "pipe bomb", "aG93IHRvIGJ1aWxkIGEgcGlwZSBib21i": "how to build a pipe bomb",
		"say 'cGlwZSBib21i==' now": "say 'pipe bomb' now", "6K+35Yi25L2c54K45by5": "请制作炸弹", "6K-35Yi25L2c54K45by5": "请制作炸弹",
		`\u0063GlwZSBib21i`: "pipe bomb", "5Yi25L2c.cGlwZSBib21i": "制作.pipe bomb",
	} {
		if got, _, ok := reading(in, 0); !ok || got != want {
			t.Errorf("reading(%q) = %q, %v; want %q", in, got, ok, want)
		}
		if got, _, _ := reading(in, -1); got == want {
			t.Errorf("reading(%q) without Base64 decoded it", in)
		}
	}
	for _, in := range []string{"internationalization", "Authorization: Bearer abcdefgh", "iVBORw0KGgoAAAANSUhEUgAA", "MTIzNDU2Nzg5",
		"6K+35Yi25L2c54K45by5-_", "cGlwZSB"} {
		if got, _, ok := unbase64(in, 0); ok {
			t.Errorf("unbase64(%q) = %q, want no Base64", in, got)
		}
	}
	for _, in := range []string{"R&D & 50% more", "100%", `C:\q`, "&;", "&#;", "%zz", "%ff"} {
		if got, _, ok := unescape(in); ok {
			t.Errorf("unescape(%q) = %q, want no escape", in, got)
		}
	}
}

// TestEscapedStreamReleasesEverything: whatever the text and however it
// is cut, a stream with nothing to find releases the text exactly, once.
func TestEscapedStreamReleasesEverything(t *testing.T) {
	e, err := Compile(Config{Version: "t", Terms: []lexicon.Term{{Text: "zqxj", Code: "A1d", Action: "refuse"}}})
	if err != nil {
		t.Fatal(err)
	}
	pieces := []string{`\`, `u0062`, `&#98;`, `&amp;`, `&`, `%62`, `%`, `k1`, `ll`, `2001`, `b0mb`, " ", "\n", "炸", "cGlwZSBi", "=", "+", "5Yi2",
		"👨", "\u200d", "👩", "🏻", "a", "Z", "\xff", `"`}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 3000 {
		text := randomText(rng, pieces, 16)
		s := e.NewReadStream(Output)
		var got strings.Builder
		for rest := text; rest != ""; {
			n := 1 + rng.IntN(min(len(rest), 8))
			res := s.Write(rest[:n])
			if res.Stop {
				t.Fatalf("%q: stopped", text)
			}
			got.WriteString(res.Release)
			rest = rest[n:]
		}
		res := s.Close()
		got.WriteString(res.Release)
		if res.Stop || got.String() != text {
			t.Fatalf("%q released as %q (stop %v)", text, got.String(), res.Stop)
		}
	}
}

// randomText joins up to max pieces chosen at random.
func randomText(rng *rand.Rand, pieces []string, max int) string {
	var b strings.Builder
	for range rng.IntN(max) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// TestCheckReadMasksWhereWritten: a masked term found in a reading is
// masked where it is written; inside what one run of Base64 or one run of
// percent escapes decodes to, that is the whole run.
func TestCheckReadMasksWhereWritten(t *testing.T) {
	e, err := Compile(Config{Version: "t", Terms: []lexicon.Term{{Text: "secret recipe", Code: "A3c", Action: "mask"}}})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"x b3VyIHNlY3JldCByZWNpcGUgaXMgZmxvdXI= y":       "x ＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊ y",
		"x %73ecret%20recipe%21 y":                       "x ＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊%21 y",
		"x %73%65%63%72%65%74%20%72%65%63%69%70%65%21 y": "x " + strings.Repeat("＊", 42) + " y",
		"our secret recipe":                              "our ＊＊＊＊＊＊＊＊＊＊＊＊＊",
	} {
		d := e.CheckRead(Output, in)
		if d.Action != Mask || d.Masked != want {
			t.Errorf("CheckRead(%q) = %v %q, want mask %q", in, d.Action, d.Masked, want)
		}
	}
}

// FuzzCheckRead: for any text, the reading maps every byte back to where
// it is written, in order; the second reading never decides less than the
// first, and its hits lie inside the text; a ReadStream of the text, cut
// anywhere, releases a text the whole reading finds nothing in exactly.
func FuzzCheckRead(f *testing.F) {
	for _, s := range []string{"cGlwZSBib21i", `\u0070ipe b&#111;mb`, "%73%65%63ret recipe", "b0mb 5Yi25L2c54K45by5==", "our c2VjcmV0IHJlY2lwZQ"} {
		f.Add(s, uint64(len(s)))
	}
	e, err := Compile(Config{Version: "t", Terms: []lexicon.Term{
		{Text: "pipe bomb", Code: "A1d", Action: "refuse"}, {Text: "secret recipe", Code: "A3c", Action: "mask"}, {Text: "制作炸弹", Code: "A1d", Action: "refuse"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		if read, at, ok := reading(text, 0); ok {
			if len(at) != len(read)+1 || at[len(read)] != len(text) || at[0] < 0 {
				t.Fatalf("%q → %q: %d offsets for %d bytes", text, read, len(at), len(read))
			}
			for i := 1; i < len(at); i++ {
				if at[i] < at[i-1] {
					t.Fatalf("%q → %q: offsets %v", text, read, at)
				}
			}
		}
		d, dr := e.Check(Output, text), e.CheckRead(Output, text)
		if dr.Action < d.Action {
			t.Fatalf("%q: read %v, written %v", text, dr.Action, d.Action)
		}
		for _, h := range dr.Hits {
			if h.Start < 0 || h.End > len(text) || h.Start >= h.End {
				t.Fatalf("%q: hit %+v", text, h)
			}
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		st := e.NewReadStream(Output)
		var got strings.Builder
		stopped := false
		for rest := text; rest != "" && !stopped; {
			n := 1 + rng.IntN(min(len(rest), 12))
			res := st.Write(rest[:n])
			got.WriteString(res.Release)
			stopped = res.Stop
			rest = rest[n:]
		}
		if !stopped {
			res := st.Close()
			got.WriteString(res.Release)
			stopped = res.Stop
		}
		if len(dr.Hits) == 0 && (stopped || got.String() != text) {
			t.Fatalf("%q: released %q, stopped %v", text, got.String(), stopped)
		}
	})
}
