package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
)

// Requirements says which verification level an end user needs to use a
// model. The zero value requires nothing.
//
// Art. 9 of the Deep Synthesis Provisions forbids publishing features to
// unverified users; a public service sets at least {"*": phone}.
type Requirements struct {
	// MinLevel maps a public model name to the lowest level that may use
	// it; the key "*" applies to every model not listed. Default: {} (any
	// level, including unverified).
	MinLevel map[string]Level `json:"min_level" yaml:"min_level"`
	// VerifyURL is where a refused user can verify; the refusal message
	// names it. Default "" (the message names no place).
	VerifyURL string `json:"verify_url" yaml:"verify_url"`
	// AcceptFormatChecks lets a level reached by checking a number's
	// format alone (an ID number without an IDChecker, a credit code)
	// meet requirements. Anyone can make up a number with a valid check
	// character, so by default such a level meets them as the phone level
	// when the user also confirmed a phone, else as unverified (it ranked
	// above a confirmed phone). Default false.
	AcceptFormatChecks bool `json:"accept_format_checks" yaml:"accept_format_checks"`
}

// compiledRequirements is Requirements checked and ready for the hot path.
type compiledRequirements struct {
	byModel  map[string]Level
	fallback Level
	suffix   string // "; verify at <url>" or ""
	format   bool   // Requirements.AcceptFormatChecks
}

func compileRequirements(r Requirements) (compiledRequirements, error) {
	c := compiledRequirements{byModel: make(map[string]Level, len(r.MinLevel)), format: r.AcceptFormatChecks}
	for model, l := range r.MinLevel {
		if !l.valid() {
			return c, fmt.Errorf("requirements: model %q: invalid level %d", model, int(l))
		}
		if model == "" {
			return c, errors.New("requirements: empty model name")
		}
		if model == "*" {
			c.fallback = l
			continue
		}
		c.byModel[model] = l
	}
	if u := strings.TrimSpace(r.VerifyURL); u != "" {
		c.suffix = "; verify at " + u
	}
	return c, nil
}

// need returns the level model requires.
func (c *compiledRequirements) need(model string) Level {
	if l, ok := c.byModel[model]; ok {
		return l
	}
	return c.fallback
}

// Required returns the level Options.Requirements asks of model.
func (s *Service) Required(model string) Level { return s.req.need(model) }

// Check returns nil if u may use model, or an *clienterr.Error (403
// forbidden) whose message says what verification is needed and where to
// get it; its cause is a *LevelError. It reads the state from the cache.
// A nil u (a request that names no end user) counts as unverified. If
// the state cannot be read the request is refused (503).
func (s *Service) Check(ctx context.Context, u *account.EndUser, model string) error {
	need := s.req.need(model)
	if need == LevelUnverified {
		return nil
	}
	have := LevelUnverified
	if u != nil {
		st, err := s.State(ctx, u.ID)
		if err != nil {
			return clienterr.Wrap(clienterr.Unavailable, err, "identity verification is unavailable")
		}
		have = st.realLevel(s.req.format)
	}
	if have >= need {
		return nil
	}
	cause := &LevelError{Model: model, Need: need, Have: have}
	msg := "this service requires " + need.phrase() + " verification" + s.req.suffix
	if _, own := s.req.byModel[model]; own {
		msg = fmt.Sprintf("model %q requires %s verification%s", model, need.phrase(), s.req.suffix)
	}
	return clienterr.Wrap(clienterr.Forbidden, cause, msg)
}
