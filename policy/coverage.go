package policy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/firebreak/firebreak/safety"
)

// Floors are the keyword-library numbers of TC260-003 / GB/T 45654-2025
// (see COMPLIANCE.md). The zero value means the standard's numbers.
type Floors struct {
	Total  int           // terms in total; default 10,000
	PerA1  int           // per A1 risk; default 200
	PerA2  int           // per A2 risk; default 100
	MaxAge time.Duration // longest time without a lexicon update; default 7 days
}

func (f Floors) withDefaults() Floors {
	if f.Total == 0 {
		f.Total = 10_000
	}
	if f.PerA1 == 0 {
		f.PerA1 = 200
	}
	if f.PerA2 == 0 {
		f.PerA2 = 100
	}
	if f.MaxAge == 0 {
		f.MaxAge = 7 * 24 * time.Hour
	}
	return f
}

// Coverage counts a version's base lexicon against the floors.
type Coverage struct {
	Version string      `json:"version"`
	Total   int         `json:"total"`
	Floor   int         `json:"floor"`
	Codes   []CodeCount `json:"codes"` // every risk code, in order
	// LexiconUpdated is when the lexicon in force last changed, from the
	// publish history; zero offline or before any publish.
	LexiconUpdated time.Time `json:"lexicon_updated,omitzero"`
	Warnings       []string  `json:"warnings"`
}

// CodeCount is the number of terms of one risk code.
type CodeCount struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Terms int    `json:"terms"`
	Floor int    `json:"floor,omitempty"` // 0: the standard sets none
}

// OK reports whether every floor is met and nothing is stale.
func (c Coverage) OK() bool { return len(c.Warnings) == 0 }

// CoverageOf counts the terms of c's base engine per risk code.
func CoverageOf(c *Compiled, f Floors) Coverage {
	f = f.withDefaults()
	lx := c.Base().Lexicon()
	counts := map[string]int{}
	for i := range lx.Len() {
		counts[lx.Term(i).Code]++
	}
	cov := Coverage{Version: c.Version(), Total: lx.Len(), Floor: f.Total, Warnings: []string{}}
	for _, rc := range safety.RiskCodes {
		cc := CodeCount{Code: rc.Code, Name: rc.Name, Terms: counts[rc.Code]}
		switch safety.CodeClass(rc.Code) {
		case "A1":
			cc.Floor = f.PerA1
		case "A2":
			cc.Floor = f.PerA2
		}
		if cc.Terms < cc.Floor {
			cov.Warnings = append(cov.Warnings, fmt.Sprintf("%s has %d terms, below the floor of %d", rc.Code, cc.Terms, cc.Floor))
		}
		cov.Codes = append(cov.Codes, cc)
	}
	if cov.Total < f.Total {
		cov.Warnings = append([]string{fmt.Sprintf("%d terms in total, below the floor of %d", cov.Total, f.Total)}, cov.Warnings...)
	}
	return cov
}

// Coverage counts the version in force and warns when its lexicon has not
// changed for longer than f.MaxAge (the standard asks for weekly updates).
func (s *Service) Coverage(ctx context.Context, f Floors) (Coverage, error) {
	f = f.withDefaults()
	cov := CoverageOf(s.Current(), f)
	at, err := s.v.lexiconUpdated(ctx)
	if err != nil {
		return cov, err
	}
	cov.LexiconUpdated = at
	switch age := s.opts.Now().Sub(at); {
	case at.IsZero():
		cov.Warnings = append(cov.Warnings, "no lexicon has been published; the built-in default is in force")
	case age > f.MaxAge:
		cov.Warnings = append(cov.Warnings, fmt.Sprintf("the lexicon was last updated %s ago (%s); the standard asks for weekly updates",
			age.Round(time.Hour), at.UTC().Format(time.DateOnly)))
	}
	return cov, nil
}

// WriteText renders the coverage for a terminal.
func (c Coverage) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "policy %s: %d terms (floor %d)\n", c.Version, c.Total, c.Floor)
	if !c.LexiconUpdated.IsZero() {
		fmt.Fprintf(bw, "lexicon last updated %s\n", c.LexiconUpdated.UTC().Format(time.RFC3339))
	}
	for _, cc := range c.Codes {
		mark := " "
		if cc.Terms < cc.Floor {
			mark = "!"
		}
		floor := "-"
		if cc.Floor > 0 {
			floor = fmt.Sprint(cc.Floor)
		}
		fmt.Fprintf(bw, "%s %-4s %6d / %-4s %s\n", mark, cc.Code, cc.Terms, floor, cc.Name)
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintf(bw, "\n%d warnings:\n  %s\n", len(c.Warnings), strings.Join(c.Warnings, "\n  "))
	}
	return bw.Flush()
}
