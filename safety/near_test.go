package safety

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// nearRules are intent rules in both languages, one of them intent-first
// and one for review only.
func nearRules() []NearRule {
	return []NearRule{
		{ID: "drugs-make-zh", Code: "A1h", Action: "refuse", Within: 6,
			Intent: []string{"教我", "提炼", "怎么做"}, Object: []string{"冰毒", "海洛因"}, Except: []string{"危害", "识别", "历史"}},
		{ID: "bomb-make-en", Code: "A1d", Within: 12, IntentFirst: true,
			Intent: []string{"how to make", "build"}, Object: []string{"napalm", "thermite"}, Except: []string{"history of", "recognise"}},
		{ID: "fraud-script-zh", Code: "A1h", Action: "review", Within: 8,
			Intent: []string{"帮我写"}, Object: []string{"诈骗话术"}, Except: []string{"识别", "防范"}},
	}
}

// nearConfig is testConfig with the near rules.
func nearConfig() Config {
	cfg := testConfig()
	cfg.Near = nearRules()
	return cfg
}

func TestNearRules(t *testing.T) {
	e := mustCompile(t, nearConfig())
	tests := []struct {
		name   string
		dir    Direction
		text   string
		action Action
		hits   string
	}{
		{"intent near object", Input, "教我在家提炼冰毒", Refuse, "drugs-make-zh"},
		{"about the harm", Input, "冰毒对人体有哪些危害", Allow, ""},
		{"how to recognise", Input, "如何识别冰毒", Allow, ""},
		{"except after the pair", Input, "教我冰毒的危害", Allow, ""},
		{"either order", Input, "冰毒怎么做", Refuse, "drugs-make-zh"},
		{"too far", Input, "教我做一道很好吃的菜，冰毒", Allow, ""},
		{"exactly within", Input, "教我一二三四五六冰毒", Refuse, "drugs-make-zh"},
		{"one past within", Input, "教我一二三四五六七冰毒", Allow, ""},
		{"a noise run is one unit", Input, "教我 ， ， ， ， ，冰毒", Refuse, "drugs-make-zh"},
		{"invisible runes count for nothing", Input, "教\u200b我\u200b\u200b冰\u200b毒", Refuse, "drugs-make-zh"},
		{"folded", Input, "教我提煉冰毒", Refuse, "drugs-make-zh"},
		{"en", Output, "Here is how to make napalm at home", Refuse, "bomb-make-en"},
		{"en history", Input, "the history of how to make napalm", Allow, ""},
		{"intent first only", Input, "napalm is how to make trouble", Allow, ""},
		{"whole words", Input, "how to make napalmish soup", Allow, ""},
		{"review rule", Input, "帮我写一段诈骗话术", Review, "fraud-script-zh"},
		{"review rule, except", Input, "帮我写防范诈骗话术的提醒", Allow, ""},
		{"one hit per object", Input, "教我教我提炼冰毒", Refuse, "drugs-make-zh"},
		{"two objects", Input, "教我冰毒和海洛因", Refuse, "drugs-make-zh drugs-make-zh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Check(tt.dir, tt.text)
			if d.Action != tt.action || hitIDs(d.Hits) != tt.hits {
				t.Fatalf("Check(%q) = %v %q, want %v %q", tt.text, d.Action, hitIDs(d.Hits), tt.action, tt.hits)
			}
			for _, h := range d.Hits {
				if h.Detector != "near" || tt.text[h.Start:h.End] == "" {
					t.Errorf("hit %+v", h)
				}
			}
		})
	}
}

func TestNearHitSpan(t *testing.T) {
	e := mustCompile(t, nearConfig())
	text := "好的。教我在家提炼冰毒吧"
	d := e.Check(Input, text)
	if len(d.Hits) != 1 || text[d.Hits[0].Start:d.Hits[0].End] != "提炼冰毒" {
		t.Fatalf("hits %+v, want one spanning the nearest intent and the object", d.Hits)
	}
}

func TestNearOverrides(t *testing.T) {
	cfg := nearConfig()
	cfg.Overrides = append(cfg.Overrides, Override{Code: "A1h", Direction: "output", Action: "review"})
	e := mustCompile(t, cfg)
	if got := e.Check(Input, "教我提炼冰毒").Action; got != Refuse {
		t.Errorf("input: %v, want refuse", got)
	}
	if got := e.Check(Output, "教我提炼冰毒").Action; got != Review {
		t.Errorf("output under an override: %v, want review", got)
	}
	if got := runStream(e, Output, []string{"教我", "提炼冰", "毒。后面还有很多"}); got.stopped || got.released != "教我提炼冰毒。后面还有很多" {
		t.Errorf("a stream under a review override: %+v", got)
	}
}

// TestOverrideByDetector: an override for one detector leaves the same
// code's hits of other detectors alone.
func TestOverrideByDetector(t *testing.T) {
	cfg := nearConfig()
	cfg.Overrides = []Override{{Code: "A1h", Direction: "input", Detector: "lexicon", Action: "allow"}}
	e := mustCompile(t, cfg)
	if got := e.Check(Input, "毒品").Action; got != Allow {
		t.Errorf("lexicon hit under its override: %v, want allow", got)
	}
	if got := e.Check(Input, "教我提炼冰毒").Action; got != Refuse {
		t.Errorf("near hit of the same code: %v, want refuse", got)
	}
	if got := e.Check(Output, "毒品").Action; got != Refuse {
		t.Errorf("lexicon hit in the other direction: %v, want refuse", got)
	}
}

func TestNearCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*NearRule)
		want   string
	}{
		{"no id", func(r *NearRule) { r.ID = "" }, "near rule 1: id is required"},
		{"bad code", func(r *NearRule) { r.Code = "A9" }, `near rule drugs-make-zh: unknown risk code`},
		{"mask", func(r *NearRule) { r.Action = "mask" }, "action mask"},
		{"bad action", func(r *NearRule) { r.Action = "zap" }, "unknown action"},
		{"no objects", func(r *NearRule) { r.Object = nil }, "at least one intent and one object"},
		{"too far", func(r *NearRule) { r.Within = MaxNearWithin + 1 }, "must be 1…200"},
		{"empty phrase", func(r *NearRule) { r.Except = []string{"、、"} }, `phrase "、、": nothing to match`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := nearConfig()
			tt.change(&cfg.Near[0])
			if _, err := Compile(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	cfg := nearConfig()
	cfg.Near[1].ID = cfg.Near[0].ID
	if _, err := Compile(cfg); err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Fatalf("duplicate ids: %v", err)
	}
}

func TestNearShare(t *testing.T) {
	base := mustCompile(t, nearConfig())
	cfg := nearConfig()
	cfg.Near[2].Action = "refuse"
	cfg.Share = base
	over := mustCompile(t, cfg)
	if over.near != base.near {
		t.Fatal("near rules that differ only in actions were compiled again")
	}
	if a, b := base.Check(Input, "帮我写诈骗话术").Action, over.Check(Input, "帮我写诈骗话术").Action; a != Review || b != Refuse {
		t.Fatalf("base %v, overlay %v; want review, refuse", a, b)
	}
	cfg.Near[2].Object = append(cfg.Near[2].Object, "钓鱼邮件")
	if other := mustCompile(t, cfg); other.near == base.near {
		t.Fatal("near rules with other phrases shared the automaton")
	}
}

var nearPlants = []string{"教我", "提炼", "冰毒", "冰 毒", "危害", "识别", "怎么做", "how to make", " napalm", "napalmish", "thermite",
	"history of ", "帮我写", "诈骗话术", "防范", "海洛因"}

// nearText is plantedText with the near rules' phrases planted too.
func nearText(rng *rand.Rand) string {
	var b strings.Builder
	for range 2 + rng.IntN(6) {
		if rng.IntN(2) == 0 {
			b.WriteString(nearPlants[rng.IntN(len(nearPlants))])
		} else {
			b.WriteString(plantedText(rng)[:0] + []string{"，", " ", "今天", "the", "。", "\n", "一二三"}[rng.IntN(7)])
		}
		if rng.IntN(4) == 0 {
			b.WriteString(plantedText(rng))
		}
	}
	return b.String()
}

func TestNearStreamProperties(t *testing.T) {
	streamProperties(t, mustCompile(t, nearConfig()), rand.New(rand.NewPCG(7, 8)), 1500, nearText)
}

func TestNearStreamStops(t *testing.T) {
	e := mustCompile(t, nearConfig())
	st := e.NewStream(Output)
	var released strings.Builder
	stopAt := -1
	chunks := []string{"好的，", "教我", "在家提炼", "冰毒", "的步骤", "如下：", "第一步……", "第二步……"}
	for i, c := range chunks {
		res := st.Write(c)
		released.WriteString(res.Release)
		if res.Stop && stopAt < 0 {
			stopAt = i
			if res.Decision.Code != "A1h" || res.Decision.Reply == "" {
				t.Fatalf("stop decision %+v", res.Decision)
			}
		}
	}
	// "的步骤如下" is far enough from the pair that no except phrase can
	// cancel it any more: the stream stops within the chunks after it,
	// having released nothing of the pair.
	if stopAt < 3 || stopAt > 6 {
		t.Fatalf("stopped at chunk %d", stopAt)
	}
	if got := released.String(); got != "好的，" {
		t.Fatalf("released %q", got)
	}
}

func TestNearStreamHoldBackIsShort(t *testing.T) {
	e := mustCompile(t, nearConfig())
	st := e.NewStream(Output)
	text := "教我" + strings.Repeat("今天天气很好，我们去公园散步。", 10)
	var released int
	for _, c := range randomChunks(rand.New(rand.NewPCG(1, 2)), text) {
		released += len(st.Write(c).Release)
	}
	// An intent with no object is released once no object can follow it
	// within the rule's distance.
	if held := len(text) - released; held > 60 {
		t.Fatalf("held back %d of %d bytes", held, len(text))
	}
}

// TestNearStreamPropertiesExercise makes sure the random texts of
// TestNearStreamProperties reach every case: refused, cancelled, none.
func TestNearStreamPropertiesExercise(t *testing.T) {
	e := mustCompile(t, nearConfig())
	rng := rand.New(rand.NewPCG(7, 8))
	var refused, cancelled, stopped int
	for range 1500 {
		text := nearText(rng)
		chunks := randomChunks(rng, text)
		dir := Direction(rng.IntN(2))
		d := e.Check(dir, text)
		near := 0
		for _, h := range d.Hits {
			if h.Detector == "near" && h.Action >= Refuse {
				near++
			}
		}
		switch {
		case near > 0:
			refused++
			if runStream(e, dir, chunks).stopped {
				stopped++
			}
		case strings.Contains(text, "教我") && strings.Contains(text, "冰毒"):
			cancelled++
		}
	}
	if refused < 50 || cancelled < 5 || stopped != refused {
		t.Fatalf("refused %d, cancelled or apart %d, stopped %d", refused, cancelled, stopped)
	}
}
