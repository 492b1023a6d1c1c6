package review

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
)

// Source says why an item is in the queue.
type Source string

const (
	SourceReview    Source = "review"    // the engine's action was review
	SourceSample    Source = "sample"    // a spot check of allowed traffic
	SourceComplaint Source = "complaint" // a complaint from the public
	SourceAppeal    Source = "appeal"    // an end user appeals a sanction
	SourceGrading   Source = "grading"   // an item of a grading set (grading.go)
)

// Sources lists every source, in the order the desk shows them.
var Sources = []Source{SourceAppeal, SourceComplaint, SourceReview, SourceSample, SourceGrading}

func (s Source) valid() bool {
	switch s {
	case SourceReview, SourceSample, SourceComplaint, SourceAppeal, SourceGrading:
		return true
	}
	return false
}

// DefaultSLA is each source's default time from entering the queue to a
// decision: appeals and complaints have a person waiting, review items
// were delivered to a user, samples are spot checks.
var DefaultSLA = map[Source]time.Duration{
	SourceAppeal:    24 * time.Hour,
	SourceComplaint: 72 * time.Hour,
	SourceReview:    4 * time.Hour,
	SourceSample:    7 * 24 * time.Hour,
	SourceGrading:   14 * 24 * time.Hour,
}

// Item states.
const (
	StateOpen = "open" // waiting for a decision at its stage
	StateDone = "done" // decided for good
)

// Stages of an item.
const (
	StageFirst  = 1
	StageSecond = 2 // a second reviewer: a share of decisions and every escalation
	StageSenior = 3 // a senior reviewer: two reviewers disagreed
)

// Options configures New.
type Options struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Trail receives every decision as a staff action, and gives the
	// content of an item's exchange. Nil: decisions are not recorded
	// (tests only) and items show no content.
	Trail *audit.Trail
	// Sanctions applies confirmed violations and appeal outcomes. Nil:
	// decisions have no effect on sanctions.
	Sanctions *sanction.Service
	// Complaints answers complaints decided at the desk
	// (audit.Complaints). Nil: complaints are answered elsewhere.
	Complaints Answerer
	// Keys seals the texts of appeals. Nil: they are stored as given.
	Keys *audit.Keyring
	// SLA overrides DefaultSLA per source.
	SLA map[Source]time.Duration
	// Lease is how long a claim holds an item. Default 10 minutes.
	Lease time.Duration
	// DualShare is the share of first decisions (0 to 1) that also go to a
	// second reviewer; escalations always do. Default 0.
	DualShare float64
	// Logger receives errors of effects. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Float returns a random number in [0, 1), for the dual-review share.
	// Default math/rand/v2.Float64.
	Float func() float64
}

// Answerer answers a complaint (audit.Complaints).
type Answerer interface {
	Answer(ctx context.Context, id, answer, by string) (*audit.Complaint, error)
}

// Queue is the review desk's queue. Safe for concurrent use.
type Queue struct {
	db   *store.DB
	opts Options
	rec  Appender // the audit trail, for decisions
}

// New validates opts.
func New(opts Options) (*Queue, error) {
	if opts.DB == nil {
		return nil, errors.New("review: Options.DB is required")
	}
	if opts.DualShare < 0 || opts.DualShare > 1 {
		return nil, fmt.Errorf("review: DualShare %v is not between 0 and 1", opts.DualShare)
	}
	if opts.Lease < 0 {
		return nil, errors.New("review: negative Lease")
	}
	if opts.Lease == 0 {
		opts.Lease = 10 * time.Minute
	}
	sla := map[Source]time.Duration{}
	for s, d := range DefaultSLA {
		sla[s] = d
	}
	for s, d := range opts.SLA {
		if !s.valid() || d <= 0 {
			return nil, fmt.Errorf("review: SLA for %q must be a positive duration of a known source", s)
		}
		sla[s] = d
	}
	opts.SLA = sla
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Float == nil {
		opts.Float = mrand.Float64
	}
	q := &Queue{db: opts.DB, opts: opts}
	if opts.Trail != nil {
		q.rec = opts.Trail
	}
	return q, nil
}

// SLA returns the service-level target of a source.
func (q *Queue) SLA(s Source) time.Duration { return q.opts.SLA[s] }

// newID returns a prefixed random id.
func newID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// codeList stores codes as " A1a A5a " so a filter is a LIKE '% A1a %'.
func codeList(codes []string) string {
	if len(codes) == 0 {
		return " "
	}
	return " " + strings.Join(codes, " ") + " "
}

func splitList(s string) []string { return strings.Fields(s) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
