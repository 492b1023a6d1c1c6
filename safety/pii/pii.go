// Package pii finds personal information in text: Chinese mobile and
// landline numbers, resident ID numbers, bank card numbers, unified social
// credit codes, passport numbers, e-mail addresses and IP addresses.
//
// Every candidate is validated (check digits, birth dates, number ranges,
// word boundaries) so that order numbers, timestamps and prices are not
// reported. The detector registers itself with the safety engine as type
// "pii"; the validation and masking helpers are exported for the account
// code's real-name checks. The package is pure: text in, hits out.
package pii

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/firebreak/firebreak/safety"
)

// Kind names one kind of personal information. It is the Rule of a hit.
type Kind string

const (
	Mobile   Kind = "mobile"    // mainland mobile, 1[3-9]x, optional +86/0086
	IDCard   Kind = "id_card"   // resident ID number, 18 characters (15 optional)
	BankCard Kind = "bank_card" // payment card, 13–19 digits, Luhn, known IIN
	Email    Kind = "email"     // e-mail address
	IPv4     Kind = "ipv4"      // dotted-quad IPv4 address
	IPv6     Kind = "ipv6"      // IPv6 address
	USCC     Kind = "uscc"      // unified social credit code (GB 32100-2015)
	Landline Kind = "landline"  // mainland fixed line with area code
	Passport Kind = "passport"  // PRC ordinary passport (E/G series)
)

// allKinds fixes the order of kinds; a kind's index is its slot in the
// detector's tables.
var allKinds = [...]Kind{Mobile, IDCard, BankCard, Email, IPv4, IPv6, USCC, Landline, Passport}

const numKinds = len(allKinds)

// Kinds lists every kind the detector knows.
func Kinds() []Kind { return append([]Kind(nil), allKinds[:]...) }

func kindIndex(k Kind) int {
	for i, x := range allKinds {
		if x == k {
			return i
		}
	}
	return -1
}

// DefaultCode is the risk code of every kind unless Options.Codes says
// otherwise: A4f, infringing personal information rights.
const DefaultCode = "A4f"

// Options configures a Detector. The zero value detects every kind with
// action Mask and code A4f. As JSON (detector settings in a policy):
//
//	{"kinds": ["mobile", "id_card"], "actions": {"id_card": "review"},
//	 "codes": {"mobile": "A4f"}, "legacy_id15": true}
type Options struct {
	// Kinds lists the kinds to detect. Default (nil): all kinds.
	Kinds []Kind `json:"kinds"`
	// Actions sets the action per kind. Default: Mask for every kind.
	Actions map[Kind]safety.Action `json:"actions"`
	// Codes sets the risk code per kind. Default: DefaultCode.
	Codes map[Kind]string `json:"codes"`
	// LegacyID15 also reports first-generation 15-digit ID numbers, which
	// have no check digit (only province and birth date are checked).
	// Default false.
	LegacyID15 bool `json:"legacy_id15"`
}

// Detector finds personal information. It is immutable and safe for
// concurrent use.
type Detector struct {
	enabled  [numKinds]bool
	action   [numKinds]safety.Action
	code     [numKinds]string
	legacy15 bool
}

var (
	_ safety.Detector = (*Detector)(nil)
	_ safety.Spanner  = (*Detector)(nil)
)

// New validates o and returns a detector.
func New(o Options) (*Detector, error) {
	d := &Detector{legacy15: o.LegacyID15}
	for i := range allKinds {
		d.action[i] = safety.Mask
		d.code[i] = DefaultCode
	}
	if o.Kinds == nil {
		for i := range d.enabled {
			d.enabled[i] = true
		}
	} else if len(o.Kinds) == 0 {
		return nil, fmt.Errorf("pii: kinds: empty list (omit it for all kinds)")
	}
	for i, k := range o.Kinds {
		x := kindIndex(k)
		if x < 0 {
			return nil, fmt.Errorf("pii: kinds[%d]: unknown kind %q", i, k)
		}
		d.enabled[x] = true
	}
	for k, a := range o.Actions {
		x := kindIndex(k)
		if x < 0 {
			return nil, fmt.Errorf("pii: actions: unknown kind %q", k)
		}
		if a < safety.Allow || a > safety.Block {
			return nil, fmt.Errorf("pii: actions[%s]: invalid action %d", k, a)
		}
		d.action[x] = a
	}
	for k, c := range o.Codes {
		x := kindIndex(k)
		if x < 0 {
			return nil, fmt.Errorf("pii: codes: unknown kind %q", k)
		}
		if !validCode(c) {
			return nil, fmt.Errorf("pii: codes[%s]: %q is not a risk code (A1a…A5b)", k, c)
		}
		d.code[x] = c
	}
	return d, nil
}

// maxEmail is the longest e-mail address reported (RFC 5321 path limit);
// it is also the longest span of any kind.
const maxEmail = 254

// MaxSpan is the longest hit the detector can report, in bytes.
func (d *Detector) MaxSpan() int { return maxEmail }

// Detect returns the personal information in text, ordered by offset and
// never overlapping.
func (d *Detector) Detect(text string) []safety.Hit {
	s := scanner{d: d, text: text}
	s.run()
	return s.hits
}

// FromSettings is the detector factory (safety.DetectorFactory) that
// policies reach as type "pii" (registered in package policy): settings
// are Options as JSON; unknown fields are an error so that a typo does not
// silently disable a setting.
func FromSettings(raw json.RawMessage) (safety.Detector, error) {
	var o Options
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("pii settings: %w", err)
		}
	}
	return New(o)
}

// validCode reports whether c is one of the 31 canonical risk codes of
// GB/T 45654 Appendix A (A1a–A1h, A2a–A2i, A3a–A3e, A4a–A4g, A5a–A5b).
func validCode(c string) bool {
	if len(c) != 3 || c[0] != 'A' {
		return false
	}
	last := map[byte]byte{'1': 'h', '2': 'i', '3': 'e', '4': 'g', '5': 'b'}[c[1]]
	return last != 0 && c[2] >= 'a' && c[2] <= last
}
