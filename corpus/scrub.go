package corpus

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/guard"
	"github.com/firebreak/firebreak/safety/pii"
)

// PIIConfig configures personal-information scrubbing with the safety
// engine's detectors (package safety/pii).
type PIIConfig struct {
	Switch `yaml:",inline"`
	// Mode is "mask" (default: replace each span) or "drop" (drop the item).
	Mode string `yaml:"mode"`
	// Kinds lists the kinds scrubbed (mobile, id_card, bank_card, email,
	// ipv4, ipv6, uscc, landline, passport). Default: all.
	Kinds []pii.Kind `yaml:"kinds"`
	// Mask replaces a span; "{kind}" in it is replaced by the kind.
	// Default "[{kind}]".
	Mask string `yaml:"mask"`
}

func (c PIIConfig) withDefaults() PIIConfig {
	if c.Mode == "" {
		c.Mode = "mask"
	}
	if c.Mask == "" {
		c.Mask = "[{kind}]"
	}
	return c
}

func (c PIIConfig) validate() error {
	c = c.withDefaults()
	if c.Mode != "mask" && c.Mode != "drop" {
		return fmt.Errorf("stages.pii.mode %q: want mask or drop", c.Mode)
	}
	_, err := pii.New(pii.Options{Kinds: c.Kinds})
	return err
}

type piiStage struct {
	det  *pii.Detector
	drop bool
	mask string
}

func newPIIStage(c PIIConfig) (*piiStage, error) {
	d, err := pii.New(pii.Options{Kinds: c.Kinds})
	if err != nil {
		return nil, err
	}
	return &piiStage{det: d, drop: c.Mode == "drop", mask: c.Mask}, nil
}

// apply returns the masked text with one change event per kind, or a drop.
func (p *piiStage) apply(text string) (string, []Event, *Event) {
	hits := p.det.Detect(text)
	if len(hits) == 0 {
		return text, nil, nil
	}
	if p.drop {
		return text, nil, &Event{Stage: StagePII, Rule: hits[0].Rule, Count: len(hits)}
	}
	var b strings.Builder
	b.Grow(len(text))
	var events []Event
	at := 0
	for _, h := range hits {
		b.WriteString(text[at:h.Start])
		b.WriteString(strings.ReplaceAll(p.mask, "{kind}", h.Rule))
		at = h.End
		if i := eventIndex(events, h.Rule); i >= 0 {
			events[i].Count++
		} else {
			events = append(events, Event{Stage: StagePII, Rule: h.Rule, Count: 1})
		}
	}
	b.WriteString(text[at:])
	return b.String(), events, nil
}

func eventIndex(events []Event, rule string) int {
	for i, e := range events {
		if e.Rule == rule {
			return i
		}
	}
	return -1
}

// UnsafeConfig configures the unsafe-content stage: a policy bundle's
// engine, and a guard model when one is configured.
type UnsafeConfig struct {
	Switch `yaml:",inline"`
	// Policy is a policy bundle folder; its base engine checks every item.
	// Default: the built-in default bundle.
	Policy string `yaml:"policy"`
	// Direction is how items are reviewed: "output" (default, as a
	// model's answer: what training would teach it to say) or "input".
	Direction string `yaml:"direction"`
	// DropAt is the least action of a hit that drops the item (and counts
	// it against its source): "review" or "refuse" (default) or "block".
	DropAt string `yaml:"drop_at"`
	// Guard, when set, also asks a guard model about every item that the
	// lexicon passed.
	Guard *GuardConfig `yaml:"guard"`
}

// GuardConfig names a guard model served behind an OpenAI-compatible API.
type GuardConfig struct {
	BaseURL   string        `yaml:"base_url"`
	Model     string        `yaml:"model"`
	Format    string        `yaml:"format"`      // llama-guard-3 (default) or qwen3guard
	APIKeyEnv string        `yaml:"api_key_env"` // environment variable holding the key
	Timeout   time.Duration `yaml:"timeout"`     // per item; default 30s
	OnError   string        `yaml:"on_error"`    // open (default: keep the item) or closed (drop it)
}

func (c UnsafeConfig) withDefaults() UnsafeConfig {
	if c.Direction == "" {
		c.Direction = "output"
	}
	if c.DropAt == "" {
		c.DropAt = "refuse"
	}
	return c
}

func (c UnsafeConfig) validate() error {
	c = c.withDefaults()
	if c.Direction != "input" && c.Direction != "output" {
		return fmt.Errorf("stages.unsafe.direction %q: want input or output", c.Direction)
	}
	if a, err := safety.ParseAction(c.DropAt); err != nil || a < safety.Review {
		return fmt.Errorf("stages.unsafe.drop_at %q: want review, refuse or block", c.DropAt)
	}
	if g := c.Guard; g != nil && (g.BaseURL == "" || g.Model == "") {
		return fmt.Errorf("stages.unsafe.guard: base_url and model are required")
	}
	return nil
}

type unsafeStage struct {
	engine *safety.Engine
	dir    safety.Direction
	dropAt safety.Action
	guard  *guard.Guard
}

// LoadEngine compiles the policy bundle in dir (the built-in default
// bundle when dir is empty) and returns its base engine.
func LoadEngine(dir string) (*safety.Engine, error) {
	b := policy.Default()
	if dir != "" {
		var err error
		if b, err = policy.LoadDir(dir); err != nil {
			return nil, err
		}
	}
	c, err := policy.CompileBundle(b)
	if err != nil {
		return nil, err
	}
	return c.Base(), nil
}

func newUnsafeStage(c UnsafeConfig) (*unsafeStage, error) {
	e, err := LoadEngine(c.Policy)
	if err != nil {
		return nil, fmt.Errorf("stages.unsafe.policy: %w", err)
	}
	s := &unsafeStage{engine: e, dir: safety.Output}
	if c.Direction == "input" {
		s.dir = safety.Input
	}
	s.dropAt, _ = safety.ParseAction(c.DropAt)
	if g := c.Guard; g != nil {
		o := guard.Options{BaseURL: g.BaseURL, Model: g.Model, Format: guard.Format(g.Format), Timeout: g.Timeout,
			OnError: guard.FailMode(g.OnError), Categories: nil}
		if o.Timeout == 0 {
			o.Timeout = 30 * time.Second
		}
		if g.APIKeyEnv != "" {
			o.APIKey = os.Getenv(g.APIKeyEnv)
		}
		if s.guard, err = guard.New(o); err != nil {
			return nil, fmt.Errorf("stages.unsafe.guard: %w", err)
		}
	}
	return s, nil
}

// Judge reviews a text: the hits at or above the drop action, as
// findings. The PII detector's hits are left to the PII stage, so the
// engine does not run it.
func (s *unsafeStage) Judge(ctx context.Context, text string) ([]Finding, error) {
	d := s.engine.CheckWith(s.dir, text, safety.CheckOptions{SkipDetectors: []string{"pii"}})
	found := findings(d.Hits, s.dropAt)
	if len(found) > 0 || s.guard == nil {
		return found, nil
	}
	v, err := s.guard.Classify(ctx, s.dir, guardMessages(s.dir, text))
	return findings(v.Hits, s.dropAt), err
}

func guardMessages(dir safety.Direction, text string) []guard.Message {
	if dir == safety.Input {
		return []guard.Message{{Role: "user", Content: text}}
	}
	return []guard.Message{{Role: "user", Content: "请继续。Continue."}, {Role: "assistant", Content: text}}
}

func findings(hits []safety.Hit, at safety.Action) []Finding {
	var out []Finding
	for _, h := range hits {
		if h.Detector == "pii" || h.Action < at {
			continue
		}
		out = append(out, Finding{Detector: h.Detector, Rule: h.Rule, Code: h.Code, Term: h.Term})
	}
	return out
}

// apply returns a drop event and the evidence when the item is unsafe.
func (s *unsafeStage) apply(ctx context.Context, text string) (*Event, []Finding) {
	found, err := s.Judge(ctx, text)
	if len(found) == 0 {
		return nil, nil
	}
	ev := &Event{Stage: StageUnsafe, Rule: found[0].Detector + ":" + found[0].Rule, Detail: found[0].Code, Count: len(found)}
	if err != nil {
		ev.Detail += " (guard failed closed)"
	}
	return ev, found
}
