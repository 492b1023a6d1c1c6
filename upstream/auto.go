package upstream

import (
	"fmt"
	"regexp"
	"sync"
	"unicode"
	"unicode/utf8"
)

// autoRouter picks a domain rule for model "auto". All keywords of all rules
// are compiled into one automaton, so the text is scanned once whatever the
// number of rules and keywords.
type autoRouter struct {
	keywords *keywordDFA // nil when no rule has keywords
	domains  []autoDomain
	scratch  sync.Pool // *autoScratch
}

type autoDomain struct {
	entry    *modelEntry
	reason   string // "auto:<domain>", built once so that Resolve does not allocate
	patterns []*regexp.Regexp
}

type autoScratch struct {
	lower  []byte
	scores []int
}

func newAutoRouter(rules []DomainRule, models map[string]*modelEntry) (*autoRouter, error) {
	a := &autoRouter{}
	seen := map[string]bool{}
	kb := newKeywordBuilder()
	for i, rule := range rules {
		if rule.Domain == "" || seen[rule.Domain] {
			return nil, fmt.Errorf("routing: domain rule %d: empty or duplicate domain %q", i, rule.Domain)
		}
		seen[rule.Domain] = true
		e, ok := models[rule.Model]
		if !ok {
			return nil, fmt.Errorf("routing: domain %s: unknown model %q", rule.Domain, rule.Model)
		}
		if len(rule.Keywords) == 0 && len(rule.Patterns) == 0 {
			return nil, fmt.Errorf("routing: domain %s: no keywords and no patterns", rule.Domain)
		}
		d := autoDomain{entry: e, reason: "auto:" + rule.Domain}
		for _, p := range rule.Patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("routing: domain %s: pattern %q: %w", rule.Domain, p, err)
			}
			d.patterns = append(d.patterns, re)
		}
		for _, kw := range rule.Keywords {
			low := foldLower(nil, kw)
			if len(low) == 0 {
				return nil, fmt.Errorf("routing: domain %s: empty keyword", rule.Domain)
			}
			kb.add(low, int32(i))
		}
		a.domains = append(a.domains, d)
	}
	if kb.count > 0 {
		a.keywords = kb.build()
	}
	return a, nil
}

// pick returns the index of the winning rule, or -1 when no rule matches.
func (a *autoRouter) pick(text string) int {
	if len(a.domains) == 0 || text == "" {
		return -1
	}
	s, _ := a.scratch.Get().(*autoScratch)
	if s == nil {
		s = &autoScratch{scores: make([]int, len(a.domains))}
	}
	clear(s.scores)
	if a.keywords != nil {
		s.lower = foldLower(s.lower[:0], text)
		a.keywords.score(s.lower, s.scores)
	}
	for i, d := range a.domains {
		for _, re := range d.patterns {
			if re.MatchString(text) {
				s.scores[i]++
			}
		}
	}
	best, bestScore := -1, 0
	for i, sc := range s.scores {
		if sc > bestScore {
			best, bestScore = i, sc
		}
	}
	if cap(s.lower) <= 64<<10 { // keep the pool from holding huge buffers
		a.scratch.Put(s)
	}
	return best
}

// foldLower appends the simple lower case of s to dst. ASCII is folded in
// place without decoding; invalid UTF-8 bytes are copied as they are.
func foldLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += n
	}
	return dst
}
