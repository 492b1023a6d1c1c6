package policy

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/safety"
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

// Sanction converts the section for the sanctions code and validates it:
// the codes (default sanction.DefaultStrikeCodes; an empty list, none) and
// the ladder (see SanctionLadder).
func (s *Strikes) Sanction() (sanction.Strikes, error) {
	ladder, err := s.SanctionLadder()
	if err != nil {
		return sanction.Strikes{}, err
	}
	st := sanction.Strikes{Codes: sanction.DefaultStrikeCodes(), Ladder: ladder}
	if s != nil && s.Codes != nil {
		st.Codes = s.Codes
	}
	return st, st.Validate()
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
// require on generated text. The base policy's apply to every answer
// (label.Default where a bundle sets none); an overlay's change them for
// its route, tenant or minors, field by field.
type Labels struct {
	Explicit *ExplicitLabel `yaml:"explicit"`
	Implicit *ImplicitLabel `yaml:"implicit"`
	// AllowUnlabelled lets a request that carries the end user's recorded
	// agreement (X-Firebreak-Unlabelled-Agreement) have no explicit label.
	// Only a tenant overlay may set it: the tenant enables it.
	AllowUnlabelled *bool `yaml:"allow_unlabelled"`
}

// ExplicitLabel is the visible notice.
type ExplicitLabel struct {
	Zh       string `yaml:"zh"`       // e.g. 本内容由人工智能生成
	En       string `yaml:"en"`       // e.g. AI-generated content
	Position string `yaml:"position"` // start, end or both; default end
	// SafeReplies labels the safe replies of refused prompts and stopped
	// answers too; default true.
	SafeReplies *bool `yaml:"safe_replies"`
}

// ImplicitLabel holds the fields of the AIGC metadata object that the
// operator sets; Label, ProduceID, PropagateID and ReservedCode1 (the
// signature) are filled per answer.
type ImplicitLabel struct {
	ContentProducer   string `yaml:"content_producer"`
	ContentPropagator string `yaml:"content_propagator"`
	ReservedCode1     string `yaml:"reserved_code1"` // refused: it holds the signature
	ReservedCode2     string `yaml:"reserved_code2"`
}

// validate checks the label rules: an explicit notice needs an AI element
// and a generation element; metadata values are printable ASCII without
// '"' or '\'. It returns problems keyed by field name; tenant says the
// labels are a tenant overlay's.
func (l *Labels) validate(tenant bool) map[string]error {
	probs := map[string]error{}
	if e := l.Explicit; e != nil {
		if err := label.CheckExplicit(label.Zh, e.Zh); err != nil {
			probs["explicit.zh"] = err
		}
		if err := label.CheckExplicit(label.En, e.En); err != nil {
			probs["explicit.en"] = err
		}
		if e.Position != "" {
			if _, err := label.ParsePosition(e.Position); err != nil {
				probs["explicit.position"] = err
			}
		}
	}
	if i := l.Implicit; i != nil {
		fields := map[string]string{"content_producer": i.ContentProducer, "content_propagator": i.ContentPropagator,
			"reserved_code2": i.ReservedCode2}
		for name, v := range fields {
			if !label.ValidValue(v) {
				probs["implicit."+name] = fmt.Errorf("%q: metadata values are printable ASCII without \" or \\", v)
			}
		}
		if i.ReservedCode1 != "" {
			probs["implicit.reserved_code1"] = errors.New("reserved_code1 holds Firebreak's signature of each label; it cannot be set")
		}
	}
	if l.AllowUnlabelled != nil && *l.AllowUnlabelled && !tenant {
		probs["allow_unlabelled"] = errors.New("only a tenant overlay may allow unlabelled output: the tenant enables it")
	}
	return probs
}

// apply lays l over p, field by field.
func (l *Labels) apply(p *label.Policy) {
	if l == nil {
		return
	}
	if e := l.Explicit; e != nil {
		p.Zh = cmp.Or(e.Zh, p.Zh)
		p.En = cmp.Or(e.En, p.En)
		if pos, err := label.ParsePosition(e.Position); err == nil {
			p.Position = pos
		}
		if e.SafeReplies != nil {
			p.SafeReplies = *e.SafeReplies
		}
	}
	if i := l.Implicit; i != nil {
		p.ContentProducer = cmp.Or(i.ContentProducer, p.ContentProducer)
		p.ContentPropagator = cmp.Or(i.ContentPropagator, p.ContentPropagator)
		p.ReservedCode2 = cmp.Or(i.ReservedCode2, p.ReservedCode2)
	}
	if l.AllowUnlabelled != nil {
		p.AllowUnlabelled = *l.AllowUnlabelled
	}
}

// ReviewSpec is the review section of policy.yaml. Every message role of
// the OpenAI API is accepted by default (see safety.DefaultRoles); roles
// named here are added or replace the default of that name. A message
// whose role is not accepted is refused with a 400.
type ReviewSpec struct {
	// Context is how many of the latest messages are also read as one
	// text, so that a phrase split over turns or content parts is found;
	// default every message, -1 for none.
	Context int                 `yaml:"context"`
	Roles   map[string]RoleSpec `yaml:"roles"`
	// Tools is the policy of tool definitions; Fields, of the other
	// request fields a model server may render (documents, chat_template_kwargs,
	// fields Firebreak does not know). Default: input, with overlays.
	Tools  *RoleSpec `yaml:"tools"`
	Fields *RoleSpec `yaml:"fields"`
	// Media is what becomes of a request that holds an image, a
	// recording, a video or a file, or asks for a spoken answer: refuse
	// (the default: review reads text only) or allow (relayed to the
	// model unread, on the operator's responsibility).
	Media string `yaml:"media"`
}

// RoleSpec is how the texts of one role are reviewed.
type RoleSpec struct {
	// Directions whose actions apply: input, output or both; default
	// [input].
	Directions []string `yaml:"directions"`
	// BaseOnly reviews with the base policy, without overlays.
	BaseOnly bool `yaml:"base_only"`
	// Strikes makes a refusal these texts decide count against the end
	// user (true for user by default).
	Strikes bool `yaml:"strikes"`
}

// scope converts the section for the engine; r may be nil.
func (r *ReviewSpec) scope() (safety.Scope, error) {
	s := safety.Scope{Roles: safety.DefaultRoles()}
	if r == nil {
		return s, nil
	}
	if r.Context < -1 {
		return s, fmt.Errorf("context %d: want a number of messages, or -1 for none", r.Context)
	}
	s.Context = r.Context
	switch r.Media {
	case "", "refuse":
	case "allow":
		s.AllowMedia = true
	default:
		return s, fmt.Errorf("media %q: want refuse or allow", r.Media)
	}
	for _, name := range sortedKeys(r.Roles) {
		if strings.TrimSpace(name) == "" || strings.TrimSpace(name) != name {
			return s, fmt.Errorf("roles: role name %q", name)
		}
		rs, err := r.Roles[name].roleScope()
		if err != nil {
			return s, fmt.Errorf("roles.%s: %w", name, err)
		}
		s.Roles[name] = rs
	}
	var err error
	for _, x := range []struct {
		name string
		spec *RoleSpec
		to   *safety.RoleScope
	}{{"tools", r.Tools, &s.Tools}, {"fields", r.Fields, &s.Fields}} {
		if x.spec != nil {
			if *x.to, err = x.spec.roleScope(); err != nil {
				return s, fmt.Errorf("%s: %w", x.name, err)
			}
		}
	}
	return s, nil
}

func (r RoleSpec) roleScope() (safety.RoleScope, error) {
	out := safety.RoleScope{BaseOnly: r.BaseOnly, Strikes: r.Strikes}
	for _, d := range r.Directions {
		switch d {
		case "input":
			out.Directions = append(out.Directions, safety.Input)
		case "output":
			out.Directions = append(out.Directions, safety.Output)
		default:
			return out, fmt.Errorf("direction %q (want input or output)", d)
		}
	}
	return out, nil
}
