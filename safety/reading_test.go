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
		`%`, `e6`, `%97`, `%a5`, `b`, `o`, `炸`, "\xff", `"`, `n`, ` `}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		text := randomText(rng, pieces, 12)
		decoded, at, ok := reading(text)
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
		if got, _, ok := reading(in); !ok || got != want {
			t.Errorf("reading(%q) = %q, %v; want %q", in, got, ok, want)
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
	pieces := []string{`\`, `u0062`, `&#98;`, `&amp;`, `&`, `%62`, `%`, `k1`, `ll`, `2001`, `b0mb`, " ", "\n", "炸",
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
