package safety_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/lexicon"
)

// TestCheckWithSkipsDetectors checks that a check skipping detectors
// decides as Check does once those detectors' hits are removed, and that
// only the detectors named are skipped.
func TestCheckWithSkipsDetectors(t *testing.T) {
	settings := json.RawMessage(`{}`)
	e, err := safety.Compile(safety.Config{Version: "t",
		Terms:     []lexicon.Term{{Text: "冰毒", Code: "A1h"}, {Text: "phone scam", Code: "A1h", Action: "mask"}},
		Near:      []safety.NearRule{{ID: "buy", Code: "A1h", Intent: []string{"where to buy"}, Object: []string{"pistol"}}},
		Rules:     []safety.Rule{{ID: "card", Pattern: `card \d{4}`, Code: "A4f", Action: "mask"}},
		Detectors: []safety.DetectorConfig{{ID: "pii", Type: "pii", Settings: settings}, {ID: "contact", Type: "pii", Settings: settings}},
		Overrides: []safety.Override{{Code: "A4f", Detector: "contact", Action: "review"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"", "nothing here", "我的电话是13812345678", "mail john.doe@example.com about the phone scam",
		"冰毒 and 13812345678", "where to buy a pistol, card 1234, 13812345678", "phone scam at card 9876",
	}
	for _, text := range texts {
		for _, dir := range []safety.Direction{safety.Input, safety.Output} {
			full := e.Check(dir, text)
			for _, skip := range [][]string{nil, {"pii"}, {"contact"}, {"pii", "contact"}, {"lexicon", "rule", "near"}} {
				got := e.CheckWith(dir, text, safety.CheckOptions{SkipDetectors: skip})
				want := decisionWithout(t, e, dir, text, full, skip)
				if len(got.Hits) == 0 {
					got.Hits = nil // none found and none left are the same
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%q skipping %v:\n got %+v\nwant %+v", text, skip, got, want)
				}
			}
		}
	}
	if d := e.Check(safety.Input, "13812345678"); len(d.Hits) != 2 {
		t.Fatalf("both detectors should find the phone number: %+v", d.Hits)
	}
}

// decisionWithout is full with the hits of the detectors in skip
// removed and the action and code decided again from what is left; the
// reply and the masked text are full's where those agree, else left for
// the caller's own checks.
func decisionWithout(t *testing.T, e *safety.Engine, dir safety.Direction, text string, full safety.Decision, skip []string) safety.Decision {
	t.Helper()
	builtIn := []string{"lexicon", "near", "rule"}
	kept := slices.DeleteFunc(slices.Clone(full.Hits), func(h safety.Hit) bool {
		return slices.Contains(skip, h.Detector) && !slices.Contains(builtIn, h.Detector)
	})
	if len(kept) == 0 {
		kept = nil
	}
	d := safety.Decision{Action: safety.Allow, Hits: kept, Version: full.Version}
	for _, h := range kept {
		if h.Action > d.Action {
			d.Action, d.Code = h.Action, h.Code
		}
	}
	switch {
	case d.Action >= safety.Refuse && full.Code == d.Code:
		d.Reply = full.Reply
	case d.Action >= safety.Refuse:
		d.Reply = e.Check(dir, text).Reply // same language, other code: not derivable here
	case d.Action >= safety.Mask && slices.ContainsFunc(kept, func(h safety.Hit) bool { return h.Action == safety.Mask }):
		d.Masked = maskSpans(text, kept)
	}
	return d
}

// maskSpans replaces the runes of every mask hit by the default mask.
func maskSpans(text string, hits []safety.Hit) string {
	out, last := "", 0
	for _, h := range hits {
		if h.Action != safety.Mask || h.End <= last {
			continue
		}
		s := max(h.Start, last)
		out += text[last:s] + strings.Repeat("＊", utf8.RuneCountInString(text[s:h.End]))
		last = h.End
	}
	return out + text[last:]
}
