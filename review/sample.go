package review

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/safety"
)

// Appender is where the gateway's records go (audit.Trail).
type Appender interface {
	Append(ctx context.Context, rec audit.Record) error
}

// Sampling sets the share of allowed exchanges spot-checked by a person.
type Sampling struct {
	// Rate is the share (0 to 1) of each tenant's allowed exchanges that
	// are sampled. Default 0: none.
	Rate float64
	// Tenants overrides Rate for the tenants it names.
	Tenants map[string]float64
	// Float returns a random number in [0, 1). Default math/rand/v2.
	Float func() float64
}

func (s Sampling) validate() error {
	if s.Rate < 0 || s.Rate > 1 {
		return fmt.Errorf("review sampling rate %v is not between 0 and 1", s.Rate)
	}
	for t, r := range s.Tenants {
		if r < 0 || r > 1 {
			return fmt.Errorf("review sampling rate %v of tenant %q is not between 0 and 1", r, t)
		}
	}
	return nil
}

// Recorder stands between the gateway and the audit trail: every record
// goes to the trail, and once it is durable, an exchange the engine sent
// to review, or an allowed exchange drawn by the tenant's sampling rate,
// enters the queue. A sampled exchange's content is kept sealed on the
// trail (audit.Record.Retain), so a reviewer can read it and nobody can
// without the keyring. A queue failure is logged: the answer, already
// accounted for on the trail, is not failed for it.
type Recorder struct {
	next  Appender
	queue *Queue
	samp  Sampling
	mu    sync.Mutex // guards samp.Float, which need not be safe for concurrent use
}

// Recorder returns the recorder that feeds the queue from next. A
// sampling rate above zero needs content to be sealable: sealed needs be
// true (the trail has a keyring).
func (q *Queue) Recorder(next Appender, s Sampling, sealed bool) (*Recorder, error) {
	if next == nil {
		return nil, fmt.Errorf("review recorder: no audit trail")
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if !sealed && (s.Rate > 0 || anyAbove(s.Tenants)) {
		return nil, fmt.Errorf("review sampling needs the audit keyring: sampled content is kept sealed, never in plain text")
	}
	if s.Float == nil {
		s.Float = q.opts.Float
	}
	return &Recorder{next: next, queue: q, samp: s}, nil
}

func anyAbove(m map[string]float64) bool {
	for _, r := range m {
		if r > 0 {
			return true
		}
	}
	return false
}

// allowed reports whether rec is an exchange answered in full with
// nothing found: what sampling draws from.
func allowed(rec *audit.Record) bool {
	return rec.Route != audit.RouteStaff && rec.Outcome == audit.OutcomeOK && !rec.Flagged() &&
		rec.Input.Action == safety.Allow && rec.Output.Action == safety.Allow
}

func (r *Recorder) draw(tenant string) bool {
	rate, ok := r.samp.Tenants[tenant]
	if !ok {
		rate = r.samp.Rate
	}
	if rate <= 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samp.Float() < rate
}

// Append implements the gateway's Recorder.
func (r *Recorder) Append(ctx context.Context, rec audit.Record) error {
	var source Source
	switch {
	case wantsReview(&rec):
		source = SourceReview
	case allowed(&rec) && r.draw(rec.TenantID):
		source, rec.Retain = SourceSample, true
	}
	if source != "" && rec.ID == "" {
		if rec.Time.IsZero() {
			rec.Time = time.Now()
		}
		rec.ID = audit.NewID(rec.Time)
	}
	if err := r.next.Append(ctx, rec); err != nil {
		return err
	}
	if source == "" {
		return nil
	}
	if err := r.queue.EnqueueRecord(ctx, rec, source); err != nil {
		r.queue.opts.Logger.Error("exchange not queued for review", "record_id", rec.ID, "source", string(source), "err", err)
	}
	return nil
}
