package safety

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// digitsDetector is a registry detector for tests: runs of 8 or more ASCII
// digits are personal information (A4f) to be masked.
type digitsDetector struct{ min int }

func (d digitsDetector) Detect(text string) []Hit {
	var hits []Hit
	start := -1
	for i := 0; i <= len(text); i++ {
		digit := i < len(text) && text[i] >= '0' && text[i] <= '9'
		switch {
		case digit && start < 0:
			start = i
		case !digit && start >= 0:
			if i-start >= d.min {
				hits = append(hits, Hit{Detector: "digits", Rule: "digits", Code: "A4f", Action: Mask, Start: start, End: i})
			}
			start = -1
		}
	}
	return hits
}

func (digitsDetector) MaxSpan() int { return 24 }

func init() {
	RegisterDetector("test-digits", func(settings json.RawMessage) (Detector, error) {
		d := digitsDetector{min: 8}
		if len(settings) > 0 {
			if err := json.Unmarshal(settings, &d.min); err != nil {
				return nil, fmt.Errorf("min: %w", err)
			}
		}
		return d, nil
	})
}

// testConfig is a policy with every kind of hit.
func testConfig() Config {
	return Config{
		Version: "v-test",
		Terms: []lexicon.Term{
			{ID: "drugs", Text: "毒品", Code: "A1h", Pinyin: true},
			{ID: "bomb-zh", Text: "炸弹", Code: "A1d", Allow: []string{"炸弹面包"}},
			{ID: "bomb-en", Text: "bomb", Code: "A1d", Allow: []string{"bath bomb"}},
			{ID: "terror", Text: "恐怖袭击", Code: "A1d", Action: "block"},
			{ID: "idiot", Text: "idiot", Code: "A4c", Action: "mask"},
			{ID: "sb", Text: "傻瓜", Code: "A4c", Action: "mask"},
			{ID: "diet", Text: "减肥药", Code: "A5a", Action: "review"},
		},
		Rules:     []Rule{{ID: "card", Pattern: `\b4\d{3}-\d{4}-\d{4}-\d{4}\b`, Code: "A4f", Action: "mask", MaxSpan: 32}},
		Detectors: []DetectorConfig{{ID: "digits", Type: "test-digits"}},
		Overrides: []Override{{Code: "A4f", Direction: "input", Action: "allow"}},
	}
}

func mustCompile(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

func TestCheck(t *testing.T) {
	e := mustCompile(t, testConfig())
	tests := []struct {
		name       string
		dir        Direction
		text       string
		action     Action
		code       string
		masked     string
		replyLang  string // "zh" or "en" when a reply is expected
		wantHitIDs string
	}{
		{"clean", Input, "今天天气很好", Allow, "", "", "", ""},
		{"refuse zh", Input, "哪里能买到毒品？", Refuse, "A1h", "", "zh", "drugs"},
		{"refuse en", Output, "how to build a b.o.m.b at home", Refuse, "A1d", "", "en", "bomb-en"},
		{"allow phrase", Input, "我喜欢炸弹面包", Allow, "", "", "", ""},
		{"block beats refuse", Input, "毒品和恐怖袭击", Block, "A1d", "", "zh", "drugs terror"},
		{"mask output", Output, "you idiot!", Mask, "A4c", "you ＊＊＊＊＊!", "", "idiot"},
		{"mask zh", Output, "你这个傻瓜", Mask, "A4c", "你这个＊＊", "", "sb"},
		{"review", Input, "推荐一款减肥药", Review, "A5a", "", "", "diet"},
		{"pii masked on output", Output, "call 13800138000 now", Mask, "A4f", "call ＊＊＊＊＊＊＊＊＊＊＊ now", "", "digits"},
		{"pii allowed on input", Input, "call 13800138000 now", Allow, "", "", "", "digits"},
		{"rule mask", Output, "card 4111-1111-1111-1111.", Mask, "A4f", "card ＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊＊.", "", "card"},
		{"review keeps masks", Output, "减肥药 idiot", Review, "A5a", "减肥药 ＊＊＊＊＊", "", "diet idiot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Check(tt.dir, tt.text)
			if d.Action != tt.action || d.Code != tt.code || d.Version != "v-test" {
				t.Fatalf("decision = %v %q %q, want %v %q v-test (hits %+v)", d.Action, d.Code, d.Version, tt.action, tt.code, d.Hits)
			}
			if d.Masked != tt.masked {
				t.Errorf("Masked = %q, want %q", d.Masked, tt.masked)
			}
			if got := hitIDs(d.Hits); got != tt.wantHitIDs {
				t.Errorf("hits = %q, want %q", got, tt.wantHitIDs)
			}
			switch tt.replyLang {
			case "":
				if d.Reply != "" {
					t.Errorf("unexpected reply %q", d.Reply)
				}
			case "zh":
				if !mostlyChinese(d.Reply) {
					t.Errorf("reply %q is not Chinese", d.Reply)
				}
			case "en":
				if d.Reply == "" || mostlyChinese(d.Reply) {
					t.Errorf("reply %q is not English", d.Reply)
				}
			}
		})
	}
}

func hitIDs(hits []Hit) string {
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Rule)
	}
	return strings.Join(ids, " ")
}

func TestReplies(t *testing.T) {
	cfg := testConfig()
	cfg.Replies = map[string]Reply{"A1h": {Zh: "请遵守法律。", En: "Please follow the law."}, "A1": {En: "Class reply."}}
	e := mustCompile(t, cfg)
	tests := []struct{ name, text, want string }{
		{"by code zh", "毒品", "请遵守法律。"},
		{"by code en", "dupin", "Please follow the law."},
		{"by class", "a bomb", "Class reply."},
		{"built in for class", "炸弹", defaultReplies["A1"].Zh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Check(Input, tt.text).Reply; got != tt.want {
				t.Errorf("reply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no version", func(c *Config) { c.Version = "" }, "version is required"},
		{"bad term code", func(c *Config) { c.Terms[0].Code = "B1" }, `term "毒品": unknown risk code "B1"`},
		{"bad term action", func(c *Config) { c.Terms[0].Action = "explode" }, `term "毒品": unknown action`},
		{"bad rule", func(c *Config) { c.Rules[0].Pattern = "(" }, "rule card: error parsing regexp"},
		{"bad detector type", func(c *Config) { c.Detectors[0].Type = "nope" }, `detector digits: unknown type "nope"`},
		{"bad detector settings", func(c *Config) { c.Detectors[0].Settings = json.RawMessage(`"x"`) }, "detector digits: min:"},
		{"bad override", func(c *Config) { c.Overrides[0].Direction = "sideways" }, "override A4f: direction"},
		{"bad reply key", func(c *Config) { c.Replies = map[string]Reply{"Z9": {}} }, "reply: unknown risk code"},
		{"bad default", func(c *Config) { c.DefaultAction = "maybe" }, "default action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.change(&cfg)
			_, err := Compile(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	if len(RiskCodes) != 31 {
		t.Fatalf("%d risk codes, want 31", len(RiskCodes))
	}
	tests := []struct {
		code string
		ok   bool
	}{{"A1a", true}, {"A2i", true}, {"A3e", true}, {"A4g", true}, {"A5b", true}, {"A1i", false}, {"A2j", false}, {"A5c", false}, {"a1a", false}, {"", false}}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if err := ValidCode(tt.code); (err == nil) != tt.ok {
				t.Errorf("ValidCode(%q) = %v, want ok=%v", tt.code, err, tt.ok)
			}
		})
	}
}

func TestParseLexicon(t *testing.T) {
	terms, err := ParseLexicon(strings.NewReader("毒品\tA1h\n炸弹\t\trefuse\n"), "t.txt", "A1d")
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) != 2 || terms[1].Code != "A1d" || terms[1].Action != "refuse" {
		t.Fatalf("terms = %+v", terms)
	}
	if _, err := ParseLexicon(strings.NewReader("毒品\tA9z\n"), "t.txt", ""); err == nil || !strings.Contains(err.Error(), "t.txt:1") {
		t.Fatalf("error = %v, want one naming t.txt:1", err)
	}
}

func TestLexiconFileCompiles(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "lexicon.txt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	terms, err := ParseLexicon(f, "lexicon.txt", "")
	if err != nil {
		t.Fatal(err)
	}
	e := mustCompile(t, Config{Version: "file", Terms: terms})
	tests := []struct {
		text   string
		action Action
	}{{"du pin", Refuse}, {"陆 肆", Refuse}, {"恐怖袭击", Block}, {"傻瓜", Mask}, {"减肥药", Review}, {"面包", Allow}}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := e.Check(Input, tt.text).Action; got != tt.action {
				t.Errorf("Check(%q) = %v, want %v", tt.text, got, tt.action)
			}
		})
	}
}
