package sanction

import (
	"errors"
	"fmt"
	"time"
)

// Action is a graded sanction. Actions are ordered by severity; None is
// good standing.
type Action int

const (
	None      Action = iota // no sanction
	Warn                    // tell the user; nothing is withheld
	Restrict                // limit requests per minute and models
	Suspend                 // refuse every request until it ends
	Terminate               // refuse every request until lifted by a person
)

var actionNames = [...]string{"none", "warn", "restrict", "suspend", "terminate"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// ParseAction parses an action name as written in configuration.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return None, fmt.Errorf("unknown sanction %q (want none, warn, restrict, suspend or terminate)", s)
}

func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	*a = v
	return err
}

// Trigger says when a Step fires. Zero fields are unset; a step fires when
// any set threshold is reached. Counts cover only the user's unspent
// violations: an escalation (a step of Restrict or more) spends the
// violations recorded so far, so they do not fire the next step too.
type Trigger struct {
	// InARow fires on this many violations with no clean input between.
	InARow int `json:"in_a_row,omitempty"`
	// PerDay fires on this many violations entered on one calendar day in
	// Options.Location.
	PerDay int `json:"per_day,omitempty"`
	// Total fires on this many violations entered within Window before
	// the current one; Window 0 counts all unspent violations.
	Total  int           `json:"total,omitempty"`
	Window time.Duration `json:"window,omitempty"`
	// Repeat makes the step replace another step of action Of when that
	// would be the user's Repeat-th sanction of action Of within Within
	// (0: ever). Lifted sanctions do not count. The default ladder turns a
	// second suspension within 90 days into termination this way.
	Repeat int           `json:"repeat,omitempty"`
	Of     Action        `json:"of,omitempty"`
	Within time.Duration `json:"within,omitempty"`
}

// Step is one rung of the ladder.
type Step struct {
	Trigger Trigger `json:"trigger"`
	Action  Action  `json:"action"`
	// Duration is how long the sanction stands; 0 means until lifted.
	// Terminate always stands until lifted.
	Duration time.Duration `json:"duration,omitempty"`
	// Restrict holds the limits of a Restrict step.
	Restrict Restriction `json:"restrict,omitempty"`
}

// Restriction is what a restricted user may still do.
type Restriction struct {
	RPM    int      `json:"rpm,omitempty"`    // requests per minute; 0: not limited
	Models []string `json:"models,omitempty"` // models allowed; empty: all
}

// Ladder is the configured sequence of sanctions. When several steps fire
// on one violation, the most severe wins (the later one on a tie).
type Ladder struct {
	Steps []Step `json:"steps"`
}

// DefaultLadder is the ladder Firebreak ships: each violation warns (the
// warning stands for a day); 3 in a row or 5 in one calendar day suspend
// for 7 days, the rule secondary sources attribute to the national
// standard (unverified, hence configurable); a second suspension within 90
// days terminates.
func DefaultLadder() Ladder {
	const day = 24 * time.Hour
	return Ladder{Steps: []Step{
		{Trigger: Trigger{Total: 1}, Action: Warn, Duration: day},
		{Trigger: Trigger{InARow: 3, PerDay: 5}, Action: Suspend, Duration: 7 * day},
		{Trigger: Trigger{Repeat: 2, Of: Suspend, Within: 90 * day}, Action: Terminate},
	}}
}

// Validate reports the first problem with the ladder, naming the step.
func (l Ladder) Validate() error {
	if len(l.Steps) == 0 {
		return errors.New("ladder has no steps")
	}
	for i, s := range l.Steps {
		if err := s.validate(); err != nil {
			return fmt.Errorf("ladder step %d: %w", i, err)
		}
	}
	return nil
}

func (s Step) validate() error {
	t := s.Trigger
	switch {
	case s.Action < Warn || s.Action > Terminate:
		return fmt.Errorf("action %v: want warn, restrict, suspend or terminate", s.Action)
	case t.InARow < 0 || t.PerDay < 0 || t.Total < 0 || t.Repeat < 0:
		return errors.New("trigger counts must not be negative")
	case t.Window < 0 || t.Within < 0 || s.Duration < 0:
		return errors.New("durations must not be negative")
	case t.InARow == 0 && t.PerDay == 0 && t.Total == 0 && t.Repeat == 0:
		return errors.New("trigger has no threshold")
	case t.Repeat > 0 && (t.Of < Warn || t.Of > Terminate):
		return errors.New("repeat trigger needs of: warn, restrict, suspend or terminate")
	case s.Action != Restrict && (s.Restrict.RPM != 0 || len(s.Restrict.Models) != 0):
		return errors.New("restrict limits on a step that does not restrict")
	case s.Restrict.RPM < 0:
		return errors.New("restrict rpm must not be negative")
	}
	return nil
}

// counts is what a violation is judged by. total and repeats are asked
// only for the windows and actions the ladder uses.
type counts struct {
	inARow  int
	perDay  int
	total   func(window time.Duration) (int, error)
	repeats func(of Action, within time.Duration) (int, error) // earlier, unlifted
}

// choice is the step a violation fires, with the reason written to history.
type choice struct {
	step   int // -1: none
	reason string
}

// choose returns the step that fires for c.
func (l Ladder) choose(c counts) (choice, error) {
	best := choice{step: -1}
	for i, s := range l.Steps {
		reason, err := s.fires(c)
		if err != nil {
			return choice{}, err
		}
		if reason != "" && (best.step < 0 || s.Action >= l.Steps[best.step].Action) {
			best = choice{step: i, reason: reason}
		}
	}
	if best.step < 0 {
		return best, nil
	}
	return l.escalate(best, c)
}

// fires returns why s fires on c, or "" if it does not. Repeat is judged
// by escalate, after a step has been chosen.
func (s Step) fires(c counts) (string, error) {
	t := s.Trigger
	switch {
	case t.InARow > 0 && c.inARow >= t.InARow:
		return fmt.Sprintf("%d violations in a row", c.inARow), nil
	case t.PerDay > 0 && c.perDay >= t.PerDay:
		return fmt.Sprintf("%d violations in one day", c.perDay), nil
	case t.Total > 0:
		n, err := c.total(t.Window)
		if err != nil || n < t.Total {
			return "", err
		}
		if t.Window > 0 {
			return fmt.Sprintf("%d violations within %s", n, span(t.Window)), nil
		}
		return fmt.Sprintf("%d violations", n), nil
	}
	return "", nil
}

// escalate replaces the chosen step by a more severe Repeat step whose
// threshold the chosen one reaches.
func (l Ladder) escalate(best choice, c counts) (choice, error) {
	chosen := l.Steps[best.step].Action
	for i, s := range l.Steps {
		t := s.Trigger
		if t.Repeat == 0 || t.Of != chosen || s.Action < l.Steps[best.step].Action {
			continue
		}
		n, err := c.repeats(t.Of, t.Within)
		if err != nil {
			return choice{}, err
		}
		if n+1 >= t.Repeat {
			best = choice{step: i, reason: fmt.Sprintf("%s (%s number %d", best.reason, t.Of, n+1)}
			if t.Within > 0 {
				best.reason += " within " + span(t.Within)
			}
			best.reason += ")"
		}
	}
	return best, nil
}

// span writes a duration for people: whole days as days.
func span(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
