package upstream

import "time"

// SetClock replaces the router's clock, so that ejection tests need no sleeps.
func SetClock(r *Router, now func() time.Time) { r.now = now }
