package policy

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/textnorm"
)

// Problem is one thing wrong with a bundle, at a file and line (0 when
// the problem has no single line).
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	if p.File != "" {
		return p.File + ": " + p.Msg
	}
	return p.Msg
}

// InvalidError is returned for a bundle that does not validate. It lists
// every problem found, in file and line order.
type InvalidError struct {
	Bundle   string // bundle ID
	Problems []Problem
}

// ClientCode makes an invalid bundle a 400 whose message names its problems.
func (*InvalidError) ClientCode() clienterr.Code { return clienterr.InvalidRequest }

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid policy bundle %s: ", e.Bundle)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// checker collects the problems of policy.yaml's values.
type checker struct {
	spec  *parsedSpec
	probs []Problem
}

func (c *checker) addf(path, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: SpecFile, Line: c.spec.line(path), Msg: path + ": " + fmt.Sprintf(format, args...)})
}

func (c *checker) action(path, a string) {
	if a == "" {
		return
	}
	if _, err := safety.ParseAction(a); err != nil {
		c.addf(path, "%v", err)
	}
}

func (c *checker) code(path, code string, classOK bool) {
	check := safety.ValidCode
	if classOK {
		check = safety.ValidCodeOrClass
	}
	if err := check(code); err != nil {
		c.addf(path, "%v", err)
	}
}

var overlayName = regexp.MustCompile(`^(minors|(route|tenant):[A-Za-z0-9][A-Za-z0-9._/-]*)$`)

// checkSpec validates everything in policy.yaml that needs no other file.
func checkSpec(p *parsedSpec) []Problem {
	c := &checker{spec: p}
	s := &p.Spec
	if s.Format != 0 && s.Format != 1 {
		c.addf("format", "format %d (this Firebreak reads format 1)", s.Format)
	}
	if s.DefaultCode != "" {
		c.code("default_code", s.DefaultCode, false)
	}
	c.action("default_action", s.DefaultAction)
	ids := map[string]string{}
	c.layer("", &s.Layer, ids)
	for _, key := range sortedKeys(s.Overlays) {
		path := "overlays." + key
		if !overlayName.MatchString(key) {
			c.addf(path, "overlay %q: want minors, route:NAME or tenant:NAME", key)
		}
		ov := s.Overlays[key]
		c.layer(path+".", &ov.Layer, ids)
		c.labels(path+".labels", ov.Labels, strings.HasPrefix(key, "tenant:"))
		for i, inc := range ov.Include {
			if _, ok := s.Overlays[inc]; !ok || inc == key {
				c.addf(fmt.Sprintf("%sinclude[%d]", path+".", i), "no overlay %q to include", inc)
			}
		}
	}
	if _, err := includeCycles(s.Overlays); err != nil {
		c.addf("overlays", "%v", err)
	}
	c.strikes(s.Strikes)
	c.labels("labels", s.Labels, false)
	if _, err := s.Review.scope(); err != nil {
		c.addf("review", "%v", err)
	}
	if _, err := textnorm.New(s.Normalise); err != nil {
		c.addf("normalise", "%v", err)
	}
	return c.probs
}

func (c *checker) labels(path string, l *Labels, tenant bool) {
	if l == nil {
		return
	}
	probs := l.validate(tenant)
	for _, k := range sortedKeys(probs) {
		c.addf(path+"."+k, "%v", probs[k])
	}
}

// layer checks one layer. ids holds rule and detector ids across layers,
// since an overlay engine holds the base's too.
func (c *checker) layer(prefix string, l *Layer, ids map[string]string) {
	for _, code := range sortedKeys(l.Categories) {
		path := prefix + "categories." + code
		c.code(path, code, true)
		cat := l.Categories[code]
		c.action(path+".default", cat.Default)
		c.action(path+".input", cat.Input)
		c.action(path+".output", cat.Output)
	}
	files := map[string]bool{}
	for i, lx := range l.Lexicons {
		path := fmt.Sprintf("%slexicons[%d]", prefix, i)
		c.lexicon(path, lx, files)
	}
	for i, r := range l.Rules {
		c.rule(fmt.Sprintf("%srules[%d]", prefix, i), r, ids)
	}
	for i, r := range l.Intents {
		c.intent(fmt.Sprintf("%sintents[%d]", prefix, i), r, ids)
	}
	for i, d := range l.Detectors {
		c.detector(fmt.Sprintf("%sdetectors[%d]", prefix, i), d, ids)
	}
	for i, a := range l.Actions {
		path := fmt.Sprintf("%sactions[%d]", prefix, i)
		c.code(path+".code", a.Code, true)
		if a.Action == "" {
			c.addf(path, "action is required")
		}
		c.action(path+".action", a.Action)
		if a.Direction != "" && a.Direction != "input" && a.Direction != "output" {
			c.addf(path+".direction", "direction %q (want input, output or empty)", a.Direction)
		}
	}
	for _, k := range sortedKeys(l.Replies) {
		if k != "" {
			c.code(prefix+"replies."+k, k, true)
		}
	}
}

func (c *checker) lexicon(path string, lx LexiconSpec, files map[string]bool) {
	if lx.File == "" {
		c.addf(path, "file is required")
	} else if files[lx.File] {
		c.addf(path+".file", "lexicon %s listed twice", lx.File)
	}
	files[lx.File] = true
	if lx.Code != "" {
		c.code(path+".code", lx.Code, false)
	}
	c.action(path+".action", lx.Action)
	for j, f := range lx.Flags {
		if f != "pinyin" && f != "initials" && f != "numerals" {
			c.addf(fmt.Sprintf("%s.flags[%d]", path, j), "unknown flag %q (want pinyin, initials or numerals)", f)
		}
	}
}

// uniqueID checks that an id is set and not used before by another item
// of its kind ("rule", "intent rule"), across layers.
func (c *checker) uniqueID(path, kind, id string, ids map[string]string) {
	switch prev, dup := ids[kind+":"+id]; {
	case id == "":
		c.addf(path, "id is required")
	case dup:
		c.addf(path+".id", "duplicate %s id %q (first at %s)", kind, id, prev)
	default:
		ids[kind+":"+id] = fmt.Sprintf("%s:%d", SpecFile, c.spec.line(path))
	}
}

func (c *checker) rule(path string, r RuleSpec, ids map[string]string) {
	c.uniqueID(path, "rule", r.ID, ids)
	if _, err := regexp.Compile(r.Pattern); err != nil || r.Pattern == "" {
		c.addf(path+".pattern", "bad regular expression: %v", cmp.Or(err, fmt.Errorf("empty pattern")))
	}
	c.code(path+".code", r.Code, false)
	c.action(path+".action", r.Action)
	if r.MaxSpan < 0 {
		c.addf(path+".max_span", "max_span must not be negative")
	}
}

func (c *checker) detector(path string, d DetectorSpec, ids map[string]string) {
	switch prev, dup := ids["detector:"+d.ID]; {
	case d.ID == "":
		c.addf(path, "id is required")
	case dup || d.ID == "pii" && c.spec.PII != nil && c.spec.PII.Enabled:
		c.addf(path+".id", "duplicate detector id %q (first at %s)", d.ID, cmp.Or(prev, "pii"))
	default:
		ids["detector:"+d.ID] = fmt.Sprintf("%s:%d", SpecFile, c.spec.line(path))
	}
	if _, ok := safety.LookupDetector(d.Type); !ok {
		c.addf(path+".type", "unknown detector type %q (registered: %s)", d.Type, strings.Join(safety.DetectorTypes(), ", "))
	}
}

func (c *checker) strikes(s *Strikes) {
	if s == nil {
		return
	}
	for i, code := range s.Codes {
		c.code(fmt.Sprintf("strikes.codes[%d]", i), code, true)
	}
	if _, err := s.SanctionLadder(); err != nil {
		c.addf("strikes.ladder", "%v", err)
	}
}

// includeCycles returns, for each overlay, the overlays laid down before
// it (includes first, depth first), or an error naming a cycle.
func includeCycles(ovs map[string]Overlay) (map[string][]string, error) {
	out := map[string][]string{}
	var visit func(key string, stack []string) ([]string, error)
	visit = func(key string, stack []string) ([]string, error) {
		if slices.Contains(stack, key) {
			return nil, fmt.Errorf("include cycle: %s", strings.Join(append(stack, key), " -> "))
		}
		var order []string
		for _, inc := range ovs[key].Include {
			if _, ok := ovs[inc]; !ok || inc == key {
				continue // reported by checkSpec
			}
			sub, err := visit(inc, append(stack, key))
			if err != nil {
				return nil, err
			}
			for _, s := range append(sub, inc) {
				if !slices.Contains(order, s) {
					order = append(order, s)
				}
			}
		}
		return order, nil
	}
	for _, key := range sortedKeys(ovs) {
		order, err := visit(key, nil)
		if err != nil {
			return nil, err
		}
		out[key] = order
	}
	return out, nil
}
