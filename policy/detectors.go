package policy

import (
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/pii"
)

// The detector types a policy may name (detectors: [{type: …}]), in one
// visible list: a new detector is one line here (see docs/extending.md).
func init() {
	safety.RegisterDetector("pii", pii.FromSettings)
}
