package replica

import (
	"testing"
	"time"

	"github.com/firebreak/firebreak/config"
)

// TestSlotOutlastsLongestRequest: a concurrency slot is held longer than
// the longest request the HTTP settings let run, so it never lapses under
// a running stream (with max_stream above the limiter's default of 15
// minutes it did, and a user with a cap of N ran N+1 streams).
func TestSlotOutlastsLongestRequest(t *testing.T) {
	for _, h := range []config.HTTP{
		config.Default().HTTP,
		{ReadTimeout: time.Minute, MaxStream: 40 * time.Minute, WriteTimeout: 10 * time.Minute},
		{ReadTimeout: 5 * time.Minute, MaxStream: 10 * time.Minute, WriteTimeout: 2 * time.Hour},
	} {
		if got, longest := slotTTL(h), h.ReadTimeout+max(h.MaxStream, h.WriteTimeout); got <= longest || got < 15*time.Minute {
			t.Errorf("%+v: slot %v, longest request %v", h, got, longest)
		}
	}
}
