// Package safety is Firebreak's content safety engine: text in, decision
// out. A policy configuration compiles into an immutable Engine that checks
// prompts and answers against lexicons (with evasion-proof normalisation),
// regular-expression rules and pluggable detectors, decides to allow, mask,
// review, refuse (with a safe reply) or block, and does the same
// incrementally on a streamed answer without letting a violating byte out.
//
// The package is a pure library: no network, no database, no logging.
package safety

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// Config is a policy as the engine compiles it.
type Config struct {
	Version   string           // policy version, stamped on every decision; required
	Terms     []lexicon.Term   // lexicon terms; Code must be a risk code
	Rules     []Rule           // regular-expression rules
	Near      []NearRule       // intent rules: an intent phrase near an object phrase
	Detectors []DetectorConfig // registry detectors (PII …)
	Normalise textnorm.Options // text normalisation; zero value: every fold, gap 3
	Lexicon   lexicon.Options  // lexicon-wide pinyin/numeral forms; its Norm is replaced by Normalise
	Replies   map[string]Reply // safe replies by risk code or class ("A1"); built-in defaults otherwise
	Overrides []Override       // actions by risk code/class and direction, over the hits' own
	// DefaultAction is the action of terms and rules that name none;
	// default "refuse".
	DefaultAction string
	// Mask replaces each rune of a masked span; default "＊".
	Mask string
	// DetectorSpan is the hold-back, in bytes, for detectors that do not
	// say their MaxSpan; default 256.
	DetectorSpan int
	// Share, when set, is an engine compiled from the same terms and
	// normalisation, differing at most in the terms' actions (a policy
	// overlay that only makes some codes stricter): its automaton is
	// reused instead of built again. When the terms differ, Compile builds
	// its own. Default nil.
	Share *Engine
	// Scope says what of a request the input review reads and how; the
	// engine carries it for the surface (see Scope). Zero value: every
	// role of the OpenAI API, the whole conversation also read joined.
	Scope Scope
}

// Rule is a regular expression (RE2 syntax) whose matches are hits.
type Rule struct {
	ID      string `json:"id" yaml:"id"`
	Pattern string `json:"pattern" yaml:"pattern"`
	Code    string `json:"code" yaml:"code"`
	Action  string `json:"action,omitempty" yaml:"action,omitempty"` // default: Config.DefaultAction
	// MaxSpan bounds a match's length in bytes, which is what a stream
	// holds back for this rule; default 256. Longer matches are ignored.
	MaxSpan int `json:"max_span,omitempty" yaml:"max_span,omitempty"`
}

// DetectorConfig configures one detector from the registry (see
// RegisterDetector).
type DetectorConfig struct {
	ID       string          `json:"id" yaml:"id"`
	Type     string          `json:"type" yaml:"type"`
	Settings json.RawMessage `json:"settings,omitempty" yaml:"settings,omitempty"`
}

// Override sets the action of hits by risk code or class, optionally for
// one direction or one detector only, e.g. {Code: "A4f", Direction:
// "input", Detector: "pii", Action: "allow"}: a user may give their own
// phone number, and a request to buy other people's is still refused.
type Override struct {
	Code      string `json:"code" yaml:"code"`                               // "A4f" or class "A4"
	Direction string `json:"direction,omitempty" yaml:"direction,omitempty"` // "input", "output" or "" for both
	// Detector limits the override to the hits of one detector: "lexicon",
	// "near", "rule" or a registry detector's id ("pii"). Default: all.
	Detector string `json:"detector,omitempty" yaml:"detector,omitempty"`
	Action   string `json:"action" yaml:"action"`
}

// Decision is the engine's verdict on a text.
type Decision struct {
	Action  Action `json:"action"`
	Code    string `json:"code,omitempty"` // risk code of the deciding hit
	Hits    []Hit  `json:"hits,omitempty"` // every hit, ordered by position
	Version string `json:"version"`        // policy version
	// Masked is the text with mask spans replaced, when the text passes
	// (Mask or Review) and some hit asks for a mask.
	Masked string `json:"masked,omitempty"`
	// Reply is the safe reply when Action >= Refuse, in the text's
	// language (Chinese when the text is mostly Chinese).
	Reply string `json:"reply,omitempty"`
}

// Engine is a compiled policy. It is immutable and safe for concurrent use.
type Engine struct {
	version    string
	lex        *lexicon.Lexicon
	lexOpts    lexicon.Options // what lex was built with, for sharing it
	termAction []Action
	termHits   [2][]Hit // per direction, each term's hit with Start and End unset
	rules      []rule
	dets       []detector
	overrides  map[overrideKey]Action
	// detOverrides: some override names a detector
	detOverrides bool
	replies      map[string]Reply
	mask         string
	span         int  // longest hold-back any rule or detector needs
	ruleSpan     int  // longest hold-back any rule needs
	hasAllow     bool // some term has an allow-list

	// both holds the lexicon's terms, then the near rules' phrases, in one
	// automaton: a whole-text check reads the text once for both (see
	// findBoth). nil without near rules. Streams keep the two apart.
	both *lexicon.Lexicon

	near           *nearCore   // nil without near rules
	nearAction     []Action    // each near rule's own action
	nearDirAction  [2][]Action // … with the overrides of each direction
	nearRefuses    [2]bool     // some near rule refuses in that direction
	nearRefuseRule [2][]bool   // … which ones
	scope          Scope
}

type rule struct {
	Rule
	re     *regexp.Regexp
	action Action
}

type detector struct {
	id   string
	d    Detector
	span int
}

type overrideKey struct {
	code string
	dir  int    // -1: both directions
	det  string // "": any detector
}

// Compile validates cfg and builds an Engine. Errors name the offending
// term, rule, detector or override.
func Compile(cfg Config) (*Engine, error) {
	if cfg.Version == "" {
		return nil, errors.New("compile policy: version is required")
	}
	e := &Engine{version: cfg.Version, replies: cfg.Replies, mask: cfg.Mask, overrides: map[overrideKey]Action{},
		scope: cfg.Scope.withDefaults()}
	if err := e.scope.validate(); err != nil {
		return nil, fmt.Errorf("compile policy %s: %w", cfg.Version, err)
	}
	if e.mask == "" {
		e.mask = "＊"
	}
	def, err := parseDefaultAction(cfg.DefaultAction)
	if err != nil {
		return nil, fmt.Errorf("compile policy: default action: %w", err)
	}
	steps := []func(Config, Action) error{e.compileTerms, e.compileNear, e.compileRules, e.compileDetectors, e.compileOverrides, e.prepareTermHits, e.prepareNear, e.compileBoth, e.checkReplies}
	for _, step := range steps {
		if err := step(cfg, def); err != nil {
			return nil, fmt.Errorf("compile policy %s: %w", cfg.Version, err)
		}
	}
	return e, nil
}

func parseDefaultAction(s string) (Action, error) {
	if s == "" {
		return Refuse, nil
	}
	return ParseAction(s)
}

func (e *Engine) compileTerms(cfg Config, def Action) error {
	e.termAction = make([]Action, len(cfg.Terms))
	for i, t := range cfg.Terms {
		if err := ValidCode(t.Code); err != nil {
			return fmt.Errorf("term %q: %w", t.Text, err)
		}
		e.termAction[i] = def
		e.hasAllow = e.hasAllow || len(t.Allow) > 0
		if t.Action != "" {
			a, err := ParseAction(t.Action)
			if err != nil {
				return fmt.Errorf("term %q: %w", t.Text, err)
			}
			e.termAction[i] = a
		}
	}
	opts := cfg.Lexicon
	opts.Norm = cfg.Normalise
	e.lexOpts = opts
	if sh := cfg.Share; sh != nil && sh.lexOpts == opts && sameTerms(sh.lex, cfg.Terms) {
		e.lex = sh.lex
		return nil
	}
	lx, err := lexicon.New(cfg.Terms, opts)
	if err != nil {
		return err
	}
	e.lex = lx
	return nil
}

// sameTerms reports whether terms would build lx's automaton: the same
// terms in the same order, whatever their actions (the engine keeps
// actions apart from the automaton).
func sameTerms(lx *lexicon.Lexicon, terms []lexicon.Term) bool {
	if lx.Len() != len(terms) {
		return false
	}
	for i, t := range terms {
		u := lx.Term(i)
		if t.ID == "" {
			t.ID = t.Text // the lexicon's default
		}
		if t.ID != u.ID || t.Text != u.Text || t.Code != u.Code || t.Pinyin != u.Pinyin || t.Initials != u.Initials ||
			t.Numerals != u.Numerals || !slices.Equal(t.Allow, u.Allow) || !sameNear(t.Near, u.Near) {
			return false
		}
	}
	return true
}

func sameNear(a, b *lexicon.Near) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Within == b.Within && slices.Equal(a.Phrases, b.Phrases)
}

// prepareTermHits builds each term's hit once, with the overrides of each
// direction applied, so that a check only fills in the offsets.
func (e *Engine) prepareTermHits(Config, Action) error {
	for _, dir := range []Direction{Input, Output} {
		hits := make([]Hit, e.lex.Len())
		for i := range hits {
			t := e.lex.Term(i)
			hits[i] = Hit{Detector: "lexicon", Rule: t.ID, Term: t.Text, Code: t.Code,
				Action: e.action(dir, "lexicon", t.Code, e.termAction[i])}
		}
		e.termHits[dir] = hits
	}
	return nil
}

func (e *Engine) compileRules(cfg Config, def Action) error {
	for _, r := range cfg.Rules {
		if r.ID == "" {
			return fmt.Errorf("rule %q: id is required", r.Pattern)
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
		if err := ValidCode(r.Code); err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
		a := def
		if r.Action != "" {
			if a, err = ParseAction(r.Action); err != nil {
				return fmt.Errorf("rule %s: %w", r.ID, err)
			}
		}
		if r.MaxSpan <= 0 {
			r.MaxSpan = 256
		}
		e.span = max(e.span, r.MaxSpan)
		e.ruleSpan = max(e.ruleSpan, r.MaxSpan)
		e.rules = append(e.rules, rule{Rule: r, re: re, action: a})
	}
	return nil
}

func (e *Engine) compileDetectors(cfg Config, _ Action) error {
	defSpan := cfg.DetectorSpan
	if defSpan <= 0 {
		defSpan = 256
	}
	for _, dc := range cfg.Detectors {
		f, ok := LookupDetector(dc.Type)
		if !ok {
			return fmt.Errorf("detector %s: unknown type %q (registered: %v)", dc.ID, dc.Type, DetectorTypes())
		}
		d, err := f(dc.Settings)
		if err != nil {
			return fmt.Errorf("detector %s: %w", dc.ID, err)
		}
		span := defSpan
		if s, ok := d.(Spanner); ok && s.MaxSpan() > 0 {
			span = s.MaxSpan()
		}
		e.span = max(e.span, span)
		e.dets = append(e.dets, detector{id: dc.ID, d: d, span: span})
	}
	return nil
}

func (e *Engine) compileOverrides(cfg Config, _ Action) error {
	for _, o := range cfg.Overrides {
		if err := ValidCodeOrClass(o.Code); err != nil {
			return fmt.Errorf("override: %w", err)
		}
		a, err := ParseAction(o.Action)
		if err != nil {
			return fmt.Errorf("override %s: %w", o.Code, err)
		}
		k := overrideKey{code: o.Code, dir: -1, det: o.Detector}
		e.detOverrides = e.detOverrides || o.Detector != ""
		switch o.Direction {
		case "":
		case "input":
			k.dir = int(Input)
		case "output":
			k.dir = int(Output)
		default:
			return fmt.Errorf("override %s: direction %q (want input, output or empty)", o.Code, o.Direction)
		}
		e.overrides[k] = a
	}
	return nil
}

func (e *Engine) checkReplies(cfg Config, _ Action) error {
	for k := range cfg.Replies {
		if k == "" {
			continue
		}
		if err := ValidCodeOrClass(k); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
	return nil
}

// Version is the policy version the engine was compiled from.
func (e *Engine) Version() string { return e.version }

// Scope is what of a request the input review reads and how.
func (e *Engine) Scope() Scope { return e.scope }

// Lexicon returns the compiled lexicon.
func (e *Engine) Lexicon() *lexicon.Lexicon { return e.lex }

// Check decides on a whole text.
func (e *Engine) Check(dir Direction, text string) Decision {
	return e.CheckWith(dir, text, CheckOptions{})
}

// CheckOptions narrows what a check reads. The zero value is Check's.
type CheckOptions struct {
	// SkipDetectors names registry detectors, by the id they were
	// configured with (DetectorConfig.ID, the Detector of their hits),
	// that the check does not run: a caller that drops their hits anyway,
	// such as corpus cleaning with a PII stage of its own, saves their
	// cost. A detector configured without an id is always run. Default:
	// every detector runs.
	SkipDetectors []string
}

// CheckWith decides on a whole text as Check does, less what o leaves
// out: the decision is Check's with the skipped detectors' hits removed
// (and the action, code, reply and mask those hits gave with them).
func (e *Engine) CheckWith(dir Direction, text string, o CheckOptions) Decision {
	ms, near := e.findBoth(text)
	hits := e.lexHits(dir, ms, nil)
	hits = e.nearHitsOf(dir, text, 0, Allow, near, hits)
	hits = e.detectorHits(dir, text, 0, o.SkipDetectors, hits)
	return e.decide(dir, text, hits)
}
