package safety

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Scope says what of a chat request the input review reads and how: a
// policy per message role, for tool definitions and for the request's
// other fields, and how much of the conversation is also read as one
// text. It is plain data the surface applies; the engine only carries it,
// so that a request gets the scope of the policy version that reviews it.
type Scope struct {
	// Context is how many of the latest messages are also read as one
	// text, their texts joined by line breaks as a model reads them, so
	// that a phrase split over consecutive messages or content parts is
	// found. Zero means DefaultContext; negative, no joined reading.
	Context int
	// Roles maps every message role the service accepts to its policy. A
	// message with another role is refused. Nil means DefaultRoles().
	Roles map[string]RoleScope
	// Tools is the policy of tool definitions (names, descriptions,
	// parameter schemas); Fields, of the request's other fields that a
	// server may render into the prompt. Zero values: input, all overlays.
	Tools, Fields RoleScope
	// AllowMedia lets requests with media through to the model unread:
	// images, recordings, videos and files in content parts, and answers
	// asked for as audio. Review reads text only, so by default such a
	// request is refused with a 400.
	AllowMedia bool
}

// DefaultContext is the number of latest messages read as one text: all
// of them. A model reads the whole conversation; a window would let later
// turns push a phrase split over earlier ones out of the reading.
const DefaultContext = math.MaxInt32

// RoleScope is how the texts of one role are reviewed.
type RoleScope struct {
	// Directions whose actions apply to the texts; the most severe
	// decision wins and masks of each apply in turn. Empty means Input.
	Directions []Direction
	// BaseOnly reviews the texts with the base policy, without the
	// route, tenant and minors overlays. Default false.
	BaseOnly bool
	// Strikes makes a refusal decided by these texts count against the
	// end user. Default false; true for "user" in DefaultRoles.
	Strikes bool
}

// DefaultRoles are the roles of the OpenAI chat API. Everything a model
// reads is input; what was or pretends to be the model's own answer (an
// assistant turn, a prefill) is held to the output policy too. Only the
// end user's own messages bear strikes.
func DefaultRoles() map[string]RoleScope {
	in := []Direction{Input}
	return map[string]RoleScope{
		"system":    {Directions: in},
		"developer": {Directions: in},
		"user":      {Directions: in, Strikes: true},
		"assistant": {Directions: []Direction{Input, Output}},
		"tool":      {Directions: in},
		"function":  {Directions: in},
	}
}

// withDefaults returns s with its zero parts filled in.
func (s Scope) withDefaults() Scope {
	if s.Context == 0 {
		s.Context = DefaultContext
	}
	if s.Roles == nil {
		s.Roles = DefaultRoles()
	}
	roles := make(map[string]RoleScope, len(s.Roles))
	for name, r := range s.Roles {
		roles[name] = r.withDefaults()
	}
	s.Roles = roles
	s.Tools, s.Fields = s.Tools.withDefaults(), s.Fields.withDefaults()
	return s
}

func (r RoleScope) withDefaults() RoleScope {
	if len(r.Directions) == 0 {
		r.Directions = []Direction{Input}
	}
	r.Directions = slices.Clone(r.Directions)
	return r
}

func (s Scope) validate() error {
	for _, name := range s.RoleNames() {
		if name == "" {
			return fmt.Errorf("scope: a role needs a name")
		}
		for _, d := range s.Roles[name].Directions {
			if d != Input && d != Output {
				return fmt.Errorf("scope: role %s: direction %d", name, int(d))
			}
		}
	}
	return nil
}

// Role returns the policy of a message role and whether the role is
// accepted.
func (s Scope) Role(name string) (RoleScope, bool) {
	r, ok := s.Roles[name]
	return r, ok
}

// RoleNames lists the accepted roles, sorted.
func (s Scope) RoleNames() []string {
	names := make([]string, 0, len(s.Roles))
	for n := range s.Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
