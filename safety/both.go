package safety

import (
	"strconv"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// A whole-text check needs the lexicon's matches and the near phrases'.
// The near phrases are common words ("how to", "怎么"), so the near
// automaton runs over nearly every rune of a text; scanning the text a
// second time for the lexicon cost as much again. One automaton over both
// term sets reads the text once. A term's matches do not depend on what
// else the automaton holds (every occurrence of every pattern is
// reported, and a term's allow-list and near rule read only its own
// phrases), so the matches split into exactly the two sets that the two
// automata find apart (FuzzCheckBoth).

// compileBoth builds the automaton of both term sets, or takes the shared
// engine's when it was built from the same two.
func (e *Engine) compileBoth(cfg Config, _ Action) error {
	if e.near == nil {
		return nil
	}
	if sh := cfg.Share; sh != nil && sh.both != nil && sh.lex == e.lex && sh.near == e.near {
		e.both = sh.both
		return nil
	}
	o := e.lexOpts
	terms := make([]lexicon.Term, 0, e.lex.Len()+e.near.lex.Len())
	for i := range e.lex.Len() {
		t := e.lex.Term(i)
		// The lexicon-wide forms go on each term, so that the phrases,
		// built without them as in their own automaton, stay as they are.
		t.Pinyin, t.Initials, t.Numerals = t.Pinyin || o.Pinyin, t.Initials || o.Initials, t.Numerals || o.Numerals
		t.ID = "t" + strconv.Itoa(i) // the two sets' ids may meet
		terms = append(terms, t)
	}
	for i := range e.near.lex.Len() {
		t := e.near.lex.Term(i)
		t.ID = "n" + strconv.Itoa(i)
		terms = append(terms, t)
	}
	// The phrases end on most words of a text, so the prefilter would stop
	// at nearly every one: it cost 10% of a check on mixed prose.
	lx, err := lexicon.New(terms, lexicon.Options{Norm: o.Norm, MaxForms: o.MaxForms, NoSkim: true})
	if err != nil {
		return err
	}
	e.both = lx
	return nil
}

// findBoth returns the lexicon's matches in text and the near automaton's,
// each as its own Find returns them.
func (e *Engine) findBoth(text string) (lex, near []lexicon.Match) {
	if e.both == nil {
		return e.lex.Find(text), nil
	}
	all := e.both.Find(text)
	n := e.lex.Len()
	k := 0
	for _, m := range all {
		if m.Term >= n {
			k++
		}
	}
	if k > 0 {
		near = make([]lexicon.Match, 0, k)
	}
	k = 0
	for _, m := range all {
		if m.Term < n {
			all[k] = m
			k++
			continue
		}
		m.Term -= n
		near = append(near, m)
	}
	return all[:k], near
}
