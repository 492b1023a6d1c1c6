package identity

import (
	"fmt"
)

// Level is how far an end user's real identity has been verified. Levels
// are ordered: a requirement of L is met by L and by every higher level.
type Level int8

const (
	// LevelUnverified is the zero Level: nothing is known.
	LevelUnverified Level = iota
	// LevelPhone: the user confirmed a code sent to a mainland mobile
	// number, which is itself registered under a real name.
	LevelPhone
	// LevelIDDocument: the user gave a resident ID number that passed the
	// GB 11643 checks (and the operator's IDChecker, if one is plugged in).
	// Reached by the format checks alone, it meets requirements only with
	// Requirements.AcceptFormatChecks (State.realLevel); so does
	// LevelOrganisation, whose credit code only ever has its format checked.
	LevelIDDocument
	// LevelOrganisation: the user acts for an organisation whose unified
	// social credit code passed the GB 32100 checks.
	LevelOrganisation
	// LevelAttested: the operator's own identity system vouches for the
	// user in a signed token, and takes responsibility for how.
	LevelAttested
)

// Methods: how a level was reached (State.Method).
const (
	MethodSMS        = "sms"         // ConfirmPhone
	MethodIDFormat   = "id_format"   // VerifyIDDocument, format checked only
	MethodIDChecked  = "id_checked"  // VerifyIDDocument, matched by the IDChecker
	MethodUSCCFormat = "uscc_format" // VerifyOrganisation, format checked only
	MethodToken      = "token"       // Attest, from the operator's signed token
)

var levelNames = [...]string{"unverified", "phone", "id_document", "organisation", "attested"}

// levelPhrases are the words used in messages to end users.
var levelPhrases = [...]string{"no", "phone", "ID document", "organisation", "operator-attested"}

// ParseLevel parses the name of a level: unverified, phone, id_document,
// organisation or attested.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown verification level %q", s)
}

// String returns the level's name as ParseLevel accepts it.
func (l Level) String() string {
	if l.valid() {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", int(l))
}

func (l Level) valid() bool { return l >= LevelUnverified && l <= LevelAttested }

// phrase names the level in a sentence for end users.
func (l Level) phrase() string {
	if l.valid() {
		return levelPhrases[l]
	}
	return l.String()
}

// MarshalText makes a Level appear by name in JSON and YAML.
func (l Level) MarshalText() ([]byte, error) {
	if !l.valid() {
		return nil, fmt.Errorf("invalid verification level %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText parses a level name, so configuration can name levels.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
