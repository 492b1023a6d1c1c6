package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/sanction"
)

// Strikes is the strike section of policy.yaml. The policy package only
// validates it and carries it; the sanctions code applies it.
type Strikes struct {
	// Codes lists the codes or classes whose hits bear a strike; default
	// A1 and A2, the 17 risks of the keyword library.
	Codes []string `yaml:"codes"`
	// Ladder is the sequence of graded sanctions; default the sanctions
	// package's DefaultLadder.
	Ladder []StrikeStep `yaml:"ladder"`
}

// StrikeStep is one rung of the ladder. Durations are Go durations or a
// number of days ("7d").
type StrikeStep struct {
	InARow         int      `yaml:"in_a_row"`
	PerDay         int      `yaml:"per_day"`
	Total          int      `yaml:"total"`
	Window         string   `yaml:"window"`
	Repeat         int      `yaml:"repeat"`
	Of             string   `yaml:"of"`
	Within         string   `yaml:"within"`
	Action         string   `yaml:"action"` // warn, restrict, suspend, terminate
	Duration       string   `yaml:"duration"`
	RestrictRPM    int      `yaml:"restrict_rpm"`
	RestrictModels []string `yaml:"restrict_models"`
}

// SanctionLadder converts the ladder for the sanctions code and validates
// it. An empty ladder gives sanction.DefaultLadder().
func (s *Strikes) SanctionLadder() (sanction.Ladder, error) {
	if s == nil || len(s.Ladder) == 0 {
		return sanction.DefaultLadder(), nil
	}
	var l sanction.Ladder
	for i, st := range s.Ladder {
		step, err := st.step()
		if err != nil {
			return l, fmt.Errorf("ladder step %d: %w", i, err)
		}
		l.Steps = append(l.Steps, step)
	}
	return l, l.Validate()
}

func (st StrikeStep) step() (sanction.Step, error) {
	var out sanction.Step
	var err error
	if out.Action, err = sanction.ParseAction(st.Action); err != nil {
		return out, err
	}
	if st.Of != "" {
		if out.Trigger.Of, err = sanction.ParseAction(st.Of); err != nil {
			return out, fmt.Errorf("of: %w", err)
		}
	}
	durs := []struct {
		name string
		s    string
		d    *time.Duration
	}{{"window", st.Window, &out.Trigger.Window}, {"within", st.Within, &out.Trigger.Within}, {"duration", st.Duration, &out.Duration}}
	for _, d := range durs {
		if *d.d, err = parseDuration(d.s); err != nil {
			return out, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	out.Trigger.InARow, out.Trigger.PerDay, out.Trigger.Total, out.Trigger.Repeat = st.InARow, st.PerDay, st.Total, st.Repeat
	out.Restrict = sanction.Restriction{RPM: st.RestrictRPM, Models: st.RestrictModels}
	return out, nil
}

// parseDuration accepts Go durations and whole days ("7d"); "" is zero.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q (want e.g. 7d or 12h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q (want e.g. 7d or 12h)", s)
	}
	return d, nil
}

// Labels configure the labels the Labelling Measures and GB 45438-2025
// require on generated text. Carried for the labelling code.
type Labels struct {
	Explicit *ExplicitLabel `yaml:"explicit"`
	Implicit *ImplicitLabel `yaml:"implicit"`
}

// ExplicitLabel is the visible notice.
type ExplicitLabel struct {
	Zh       string `yaml:"zh"`       // e.g. 本内容由人工智能生成
	En       string `yaml:"en"`       // e.g. AI-generated content
	Position string `yaml:"position"` // start or end; default end
}

// ImplicitLabel holds the fields of the AIGC metadata object that the
// operator sets; Label and the IDs are filled per answer.
type ImplicitLabel struct {
	ContentProducer   string `yaml:"content_producer"`
	ContentPropagator string `yaml:"content_propagator"`
	ReservedCode1     string `yaml:"reserved_code1"`
	ReservedCode2     string `yaml:"reserved_code2"`
}

// validate checks the label rules: an explicit notice needs an AI element
// and a generation element; metadata values are printable ASCII without
// '"' or '\'. It returns problems keyed by field name.
func (l *Labels) validate() map[string]error {
	probs := map[string]error{}
	if e := l.Explicit; e != nil {
		if e.Zh != "" && !(hasAny(e.Zh, "人工智能", "AI") && hasAny(e.Zh, "生成", "合成")) {
			probs["explicit.zh"] = errors.New("an explicit label must contain 人工智能 or AI and 生成 or 合成 (「AI生成」 complies, 「AI助手」 does not)")
		}
		if e.En != "" && !(hasAny(e.En, "AI", "artificial intelligence", "Artificial intelligence") && hasAny(strings.ToLower(e.En), "generat", "synthes")) {
			probs["explicit.en"] = errors.New("an explicit label must say AI and generated or synthesised")
		}
		if e.Position != "" && e.Position != "start" && e.Position != "end" {
			probs["explicit.position"] = fmt.Errorf("position %q (want start or end)", e.Position)
		}
	}
	if i := l.Implicit; i != nil {
		fields := map[string]string{"content_producer": i.ContentProducer, "content_propagator": i.ContentPropagator,
			"reserved_code1": i.ReservedCode1, "reserved_code2": i.ReservedCode2}
		for name, v := range fields {
			if !metadataValue(v) {
				probs["implicit."+name] = fmt.Errorf("%q: metadata values are printable ASCII without \" or \\", v)
			}
		}
	}
	return probs
}

func hasAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func metadataValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
