package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
)

// AdultAge is the age of majority (Civil Code Art. 17).
const AdultAge = 18

// MinorOptions tunes minors' mode (Interim Measures Art. 10: prevent
// minors' over-reliance on and addiction to the service).
type MinorOptions struct {
	// DailyRequests caps a minor's requests per local calendar day, counted
	// in the database so the cap holds across replicas. Default 50;
	// negative means no cap.
	DailyRequests int `json:"daily_requests" yaml:"daily_requests"`
	// QuietHours is the local time range "HH:MM-HH:MM" in which minors are
	// refused; it may cross midnight. Default "22:00-06:00"; "off" disables.
	QuietHours string `json:"quiet_hours" yaml:"quiet_hours"`
	// Policy names the stricter policy overlay applied to minors, which
	// Overlay returns for the policy engine. Default "minors".
	Policy string `json:"policy" yaml:"policy"`
}

func (o MinorOptions) withDefaults() MinorOptions {
	if o.DailyRequests == 0 {
		o.DailyRequests = 50
	}
	if o.QuietHours == "" {
		o.QuietHours = "22:00-06:00"
	}
	if o.Policy == "" {
		o.Policy = "minors"
	}
	return o
}

// quietHours is a daily range of local minutes [from, to), possibly
// wrapping past midnight.
type quietHours struct {
	on       bool
	from, to int // minutes since local midnight
	text     string
}

func parseQuietHours(s string) (quietHours, error) {
	if s == "off" {
		return quietHours{}, nil
	}
	var fh, fm, th, tm int
	if n, err := fmt.Sscanf(s, "%d:%d-%d:%d", &fh, &fm, &th, &tm); err != nil || n != 4 || len(s) != 11 {
		return quietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM or off", s)
	}
	if fh > 23 || th > 23 || fm > 59 || tm > 59 || fh < 0 || th < 0 || fm < 0 || tm < 0 {
		return quietHours{}, fmt.Errorf("quiet hours %q: time out of range", s)
	}
	q := quietHours{on: true, from: fh*60 + fm, to: th*60 + tm}
	if q.from == q.to {
		return quietHours{}, fmt.Errorf("quiet hours %q: empty range", s)
	}
	q.text = fmt.Sprintf("between %02d:%02d and %02d:%02d", fh, fm, th, tm)
	return q, nil
}

// contains reports whether local time t is inside the range, and if so
// when the range ends.
func (q quietHours) contains(t time.Time) (time.Time, bool) {
	if !q.on {
		return time.Time{}, false
	}
	m := t.Hour()*60 + t.Minute()
	in := q.from <= m && m < q.to
	if q.from > q.to {
		in = m >= q.from || m < q.to
	}
	if !in {
		return time.Time{}, false
	}
	y, mo, d := t.Date()
	end := time.Date(y, mo, d, q.to/60, q.to%60, 0, 0, t.Location())
	if !end.After(t) {
		end = time.Date(y, mo, d+1, q.to/60, q.to%60, 0, 0, t.Location())
	}
	return end, true
}

// MinorGate returns nil unless u is a minor who may not use the service
// now: inside quiet hours (403), or past the daily cap (429 with
// Retry-After until local midnight). The message says which; the cause is
// a *MinorError. For a minor it counts the request, so call it once per
// request and after Check. Adults cost one cache read. If the counter
// cannot be written the minor is refused (503): the cap fails closed. A
// nil u is not known to be a minor.
func (s *Service) MinorGate(ctx context.Context, u *account.EndUser, now time.Time) error {
	if u == nil {
		return nil
	}
	st, err := s.State(ctx, u.ID)
	if err != nil {
		return clienterr.Wrap(clienterr.Unavailable, err, "identity verification is unavailable")
	}
	if !st.IsMinor(now) {
		return nil
	}
	local := now.In(s.opts.Location)
	if end, in := s.quiet.contains(local); in {
		return clienterr.Wrap(clienterr.Forbidden, &MinorError{Reason: ErrQuietHours, Until: end},
			"minors' mode: service is closed "+s.quiet.text)
	}
	limit := s.opts.Minors.DailyRequests
	if limit < 0 {
		return nil
	}
	day, midnight := localDay(local)
	ok, err := bump(ctx, s.db, "minor-day:"+u.ID, day, midnight.UnixMilli(), limit)
	if err != nil {
		return clienterr.Wrap(clienterr.Unavailable, err, "minors' mode: usage count unavailable")
	}
	if !ok {
		e := clienterr.Wrap(clienterr.QuotaExceeded, &MinorError{Reason: ErrDailyLimit, Until: midnight},
			fmt.Sprintf("minors' mode: daily limit of %d requests reached; try again tomorrow", limit))
		e.RetryAfter = midnight.Sub(now)
		return e
	}
	return nil
}

// Overlay returns the name of the stricter policy to apply to u's request
// at now (MinorOptions.Policy for a minor), or "" for none or a nil u.
func (s *Service) Overlay(ctx context.Context, u *account.EndUser, now time.Time) (string, error) {
	if u == nil {
		return "", nil
	}
	st, err := s.State(ctx, u.ID)
	if err != nil {
		return "", fmt.Errorf("policy overlay: %w", err)
	}
	if st.IsMinor(now) {
		return s.opts.Minors.Policy, nil
	}
	return "", nil
}

// localDay numbers local's calendar day (days since 1970-01-01) and
// returns the start of the next one.
func localDay(local time.Time) (int64, time.Time) {
	y, m, d := local.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	return day, time.Date(y, m, d+1, 0, 0, 0, 0, local.Location())
}

// comingOfAge returns the start of the 18th birthday of someone born on
// birth's calendar date, in loc. Someone born on 29 February comes of age
// on 1 March in a common year.
func comingOfAge(birth time.Time, loc *time.Location) time.Time {
	y, m, d := birth.Date()
	return time.Date(y+AdultAge, m, d, 0, 0, 0, 0, loc)
}

// minorFields derives what to store about age from a birth date: only the
// day of coming of age, and only while it is in the future. An adult's
// birth date is not kept at all.
func minorFields(birth, now time.Time, loc *time.Location) (minor bool, until string) {
	adult := comingOfAge(birth, loc)
	if now.Before(adult) {
		return true, adult.Format(time.DateOnly)
	}
	return false, ""
}
