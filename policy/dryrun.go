package policy

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety"
)

// Sample is one recorded text to replay.
type Sample struct {
	Direction safety.Direction
	Text      string
	Route     string // optional: picks the route's overlay
	Tenant    string // optional: picks the tenant's overlay
	Minor     bool
	// Ref names where the sample came from (an audit record id); reports
	// carry it in examples.
	Ref string
	// Hidden keeps the text out of the report: the reader may see that
	// the sample changed, not what it says.
	Hidden bool
}

// Traffic yields recorded samples; Next returns io.EOF after the last.
// The JSONL reader implements it, and so can the audit store over its
// retained content.
type Traffic interface {
	Next() (Sample, error)
}

// ReadJSONL reads {"direction":"input"|"output","text":"…"} lines (with
// optional "route", "tenant", "minor"); blank lines are skipped.
func ReadJSONL(r io.Reader) Traffic {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	return &jsonlTraffic{sc: sc}
}

type jsonlTraffic struct {
	sc   *bufio.Scanner
	line int
}

func (t *jsonlTraffic) Next() (Sample, error) {
	for t.sc.Scan() {
		t.line++
		raw := strings.TrimSpace(t.sc.Text())
		if raw == "" {
			continue
		}
		var in struct {
			Direction string `json:"direction"`
			Text      string `json:"text"`
			Route     string `json:"route"`
			Tenant    string `json:"tenant"`
			Minor     bool   `json:"minor"`
		}
		if err := json.Unmarshal([]byte(raw), &in); err != nil {
			return Sample{}, fmt.Errorf("traffic line %d: %w", t.line, err)
		}
		s := Sample{Text: in.Text, Route: in.Route, Tenant: in.Tenant, Minor: in.Minor}
		switch in.Direction {
		case "input", "":
		case "output":
			s.Direction = safety.Output
		default:
			return Sample{}, fmt.Errorf("traffic line %d: direction %q (want input or output)", t.line, in.Direction)
		}
		return s, nil
	}
	if err := t.sc.Err(); err != nil {
		return Sample{}, fmt.Errorf("traffic: %w", err)
	}
	return Sample{}, io.EOF
}

// DryRunOptions bound a dry run.
type DryRunOptions struct {
	// Examples is how many examples each change keeps; default 3.
	Examples int
	// MaxText truncates example texts to this many runes; default 80.
	MaxText int
	// Limit stops after this many samples; default 0: all.
	Limit int
}

// Change kinds in a dry-run report.
const (
	NewlyRefused    = "newly_refused"
	NoLongerRefused = "no_longer_refused"
	ActionChanged   = "action_changed"
)

// Report says what a proposed version would change on recorded traffic.
type Report struct {
	From    string         `json:"from"`
	To      string         `json:"to"`
	Samples int            `json:"samples"`
	Changed int            `json:"changed"` // samples whose action changed
	Changes []ChangedGroup `json:"changes"` // by direction, code and kind
}

// ChangedGroup counts one kind of change for one risk code and direction.
type ChangedGroup struct {
	Direction string    `json:"direction"`
	Code      string    `json:"code"`
	Kind      string    `json:"kind"`
	Count     int       `json:"count"`
	Examples  []Example `json:"examples"`
}

// Example is one changed sample, its text truncated.
type Example struct {
	Sample int    `json:"sample"`           // 1-based position in the traffic
	Ref    string `json:"ref,omitempty"`    // the sample's Ref
	Text   string `json:"text"`             // "" when Hidden
	Hidden bool   `json:"hidden,omitempty"` // the text is not shown to this reader
	From   string `json:"from"`             // action under the current version
	To     string `json:"to"`
	Rule   string `json:"rule,omitempty"` // the deciding term or rule under the version that refuses
}

// DryRun replays traffic through from and to and reports every change of
// decision, grouped by risk code and direction.
func DryRun(ctx context.Context, from, to *Compiled, traffic Traffic, opts DryRunOptions) (*Report, error) {
	opts.Examples = cmp.Or(opts.Examples, 3)
	opts.MaxText = cmp.Or(opts.MaxText, 80)
	r := &Report{From: from.Version(), To: to.Version(), Changes: []ChangedGroup{}}
	groups := map[[3]string]*ChangedGroup{}
	for opts.Limit <= 0 || r.Samples < opts.Limit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := traffic.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		r.Samples++
		a := from.Engine(s.Route, s.Tenant, s.Minor).Check(s.Direction, s.Text)
		b := to.Engine(s.Route, s.Tenant, s.Minor).Check(s.Direction, s.Text)
		if a.Action == b.Action {
			continue
		}
		r.Changed++
		kind, code, rule := classify(a, b)
		key := [3]string{s.Direction.String(), code, kind}
		g := groups[key]
		if g == nil {
			g = &ChangedGroup{Direction: key[0], Code: code, Kind: kind}
			groups[key] = g
		}
		g.Count++
		if len(g.Examples) < opts.Examples {
			ex := Example{Sample: r.Samples, Ref: s.Ref, Hidden: s.Hidden, From: a.Action.String(), To: b.Action.String(), Rule: rule}
			if !s.Hidden {
				ex.Text = truncate(s.Text, opts.MaxText)
			}
			g.Examples = append(g.Examples, ex)
		}
	}
	for _, g := range groups {
		r.Changes = append(r.Changes, *g)
	}
	slices.SortFunc(r.Changes, func(x, y ChangedGroup) int {
		return cmp.Or(cmp.Compare(x.Direction, y.Direction), cmp.Compare(x.Code, y.Code), cmp.Compare(x.Kind, y.Kind))
	})
	return r, nil
}

// classify names a change and the code it is counted under: the code of
// the decision that refuses, else of the stricter one.
func classify(a, b safety.Decision) (kind, code, rule string) {
	ar, br := a.Action >= safety.Refuse, b.Action >= safety.Refuse
	switch {
	case br && !ar:
		return NewlyRefused, b.Code, decidingRule(b)
	case ar && !br:
		return NoLongerRefused, a.Code, decidingRule(a)
	case b.Action > a.Action:
		return ActionChanged, b.Code, decidingRule(b)
	default:
		return ActionChanged, a.Code, decidingRule(a)
	}
}

func decidingRule(d safety.Decision) string {
	for _, h := range d.Hits {
		if h.Action == d.Action && h.Code == d.Code {
			return h.Detector + ":" + h.Rule
		}
	}
	return ""
}

func truncate(s string, runes int) string {
	if utf8.RuneCountInString(s) <= runes {
		return s
	}
	i := 0
	for n := 0; n < runes; n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// WriteText renders the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "dry run %s -> %s: %d samples, %d would change\n", r.From, r.To, r.Samples, r.Changed)
	for _, g := range r.Changes {
		fmt.Fprintf(bw, "\n%-6s %-4s %-18s %5d  %s\n", g.Direction, cmp.Or(g.Code, "-"), g.Kind, g.Count, safety.CodeName(g.Code))
		for _, e := range g.Examples {
			text := strconv.Quote(e.Text)
			if e.Hidden {
				text = "(text not shown)"
			}
			if e.Ref != "" {
				text = e.Ref + " " + text
			}
			fmt.Fprintf(bw, "    #%d %s -> %s %s %s\n", e.Sample, e.From, e.To, e.Rule, text)
		}
	}
	return bw.Flush()
}

// DryRun replays traffic through the version in force and proposed.
func (s *Service) DryRun(ctx context.Context, proposed *Bundle, traffic Traffic, opts DryRunOptions) (*Report, error) {
	to, err := CompileBundle(proposed)
	if err != nil {
		return nil, err
	}
	return DryRun(ctx, s.Current(), to, traffic, opts)
}
