package sanction

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety"
)

// Source says who found a violation.
type Source string

const (
	SourceMachine Source = "machine" // the engine refused the input
	SourceReview  Source = "review"  // a reviewer confirmed it
)

// Limits on a Violation's evidence.
const (
	MaxEvidence    = 32
	MaxEvidenceLen = 200
)

// Violation is one input (or, rarely, output) that broke the law or the
// agreement, attributed to an end user. It carries ids, never the content.
type Violation struct {
	TenantID  string
	EndUserID string
	Code      string           // risk code, e.g. "A1a"
	Direction safety.Direction // Input unless the user made the model say it
	Source    Source           // default SourceMachine
	// Actor is the reviewer who confirmed a SourceReview violation.
	// Default ActorSystem.
	Actor    string
	Evidence []string  // audit record or request ids
	Time     time.Time // when the content was entered; default now
}

func (v *Violation) normalise(now time.Time) error {
	if v.TenantID == "" || v.EndUserID == "" || v.Code == "" {
		return errors.New("tenant, end user and code are required")
	}
	if v.Source == "" {
		v.Source = SourceMachine
	}
	if v.Source != SourceMachine && v.Source != SourceReview {
		return fmt.Errorf("source %q: want machine or review", v.Source)
	}
	if v.Actor == "" {
		v.Actor = ActorSystem
	}
	if len(v.Evidence) > MaxEvidence {
		return fmt.Errorf("more than %d evidence ids", MaxEvidence)
	}
	for _, e := range v.Evidence {
		if e == "" || len(e) > MaxEvidenceLen || !utf8.ValidString(e) {
			return fmt.Errorf("evidence ids must be 1 to %d bytes of UTF-8", MaxEvidenceLen)
		}
	}
	if v.Time.IsZero() {
		v.Time = now
	}
	return nil
}

// Outcome is what RecordViolation did, for the gateway's reply.
type Outcome struct {
	// Counted is false when the code bears no strike: nothing was recorded.
	Counted     bool
	ViolationID string
	// Sanction is the step this violation imposed, or nil.
	Sanction *Sanction
	// Standing is the user's standing after the violation.
	Standing Standing
	// Warn says to tell the user in this very response: the gateway sends
	// Header in a response header and adds Notice to the safe reply.
	Warn   bool
	Notice string
}

// Header describes the sanction imposed for the response header: "warn",
// "restrict; until=…", "suspend; until=…" or "terminate"; "" when Warn is
// false.
func (o Outcome) Header() string {
	if !o.Warn || o.Sanction == nil {
		return ""
	}
	h := o.Sanction.Action.String()
	if !o.Sanction.ExpiresAt.IsZero() && o.Sanction.Action != Warn {
		h += "; until=" + o.Sanction.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return h
}

// RecordViolation counts v against its user and imposes the ladder step it
// fires, if any. One user's violations are judged one at a time (a row lock
// on PostgreSQL, the single writer on SQLite), so concurrent violations
// neither double-count nor skip a step. A code that bears no strike is
// ignored (Outcome.Counted false). A review violation counts per day and
// in total but not in a row: it is not one of a run of inputs.
func (s *Service) RecordViolation(ctx context.Context, v Violation) (Outcome, error) {
	now := s.opts.Now()
	if err := v.normalise(now); err != nil {
		return Outcome{}, fmt.Errorf("record violation: %w", err)
	}
	k := userKey{v.TenantID, v.EndUserID}
	rules := s.opts.Rules.Strikes()
	if !rules.bears(v.Code) {
		st, err := s.Standing(ctx, v.TenantID, v.EndUserID)
		return Outcome{Standing: st}, err
	}
	var out Outcome
	err := s.writeUser(ctx, k, func(tx *sql.Tx) error {
		var err error
		out, err = s.judge(ctx, tx, v, rules.Ladder, now)
		return err
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("record violation: %w", err)
	}
	if out.Sanction != nil {
		out.Warn = true
		out.Notice = s.notice(out.Sanction)
	}
	// Load afresh rather than through state: a load another request
	// started before the commit may still be in flight.
	gen := s.users.Generation()
	st, err := s.loadState(ctx, k, now)
	if err != nil {
		return out, fmt.Errorf("record violation: %w", err)
	}
	s.users.PutIfCurrent(k, st, gen, now)
	out.Standing = st.standing(now)
	return out, nil
}

func (s *Service) notice(sa *Sanction) string {
	until := "—"
	if !sa.ExpiresAt.IsZero() {
		until = sa.ExpiresAt.In(s.opts.Location).Format("2006-01-02 15:04 MST")
	}
	return strings.ReplaceAll(s.opts.Notices[sa.Action], "{until}", until)
}

// bump counts one more violation on the user's strikes row, creating it,
// and returns the row. The upsert takes the row lock on PostgreSQL, held
// until the transaction ends.
const bump = `INSERT INTO sanction_strikes (tenant_id, end_user_id, seq, spent_seq, in_a_row, updated_at)
	VALUES ($1, $2, 1, 0, $3, $4)
	ON CONFLICT (tenant_id, end_user_id) DO UPDATE SET
		seq = sanction_strikes.seq + 1,
		in_a_row = sanction_strikes.in_a_row + excluded.in_a_row,
		updated_at = excluded.updated_at
	RETURNING seq, spent_seq, in_a_row`

// judge records v in tx and applies ladder.
func (s *Service) judge(ctx context.Context, tx *sql.Tx, v Violation, ladder Ladder, now time.Time) (Outcome, error) {
	row := 1
	if v.Source == SourceReview {
		row = 0
	}
	var seq, spent int64
	var inARow int
	err := tx.QueryRowContext(ctx, bump, v.TenantID, v.EndUserID, row, now.UnixMilli()).Scan(&seq, &spent, &inARow)
	if err != nil {
		return Outcome{}, fmt.Errorf("count strike: %w", err)
	}
	out := Outcome{Counted: true, ViolationID: newID("vio_")}
	if err := insertViolation(ctx, tx, out.ViolationID, seq, v, now); err != nil {
		return Outcome{}, err
	}
	j := judgement{tx: tx, v: v, seq: seq, spent: spent, loc: s.opts.Location, now: now}
	if terminated, err := j.terminated(ctx); err != nil || terminated {
		return out, err
	}
	c := counts{inARow: inARow, total: j.totalFunc(ctx), repeats: j.repeatsFunc(ctx)}
	if c.perDay, err = j.perDay(ctx); err != nil {
		return Outcome{}, err
	}
	ch, err := ladder.choose(c)
	if err != nil || ch.step < 0 {
		return out, err
	}
	out.Sanction, err = j.impose(ctx, ladder.Steps[ch.step], ch, out.ViolationID)
	return out, err
}

func insertViolation(ctx context.Context, tx *sql.Tx, id string, seq int64, v Violation, now time.Time) error {
	ev := v.Evidence
	if ev == nil {
		ev = []string{}
	}
	evidence, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sanction_violations
		(id, tenant_id, end_user_id, seq, code, direction, source, actor, evidence, at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		id, v.TenantID, v.EndUserID, seq, v.Code, v.Direction.String(), string(v.Source), v.Actor,
		string(evidence), v.Time.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert violation: %w", err)
	}
	return nil
}

// judgement holds what the counting queries of one violation share.
type judgement struct {
	tx         *sql.Tx
	v          Violation
	seq, spent int64
	loc        *time.Location
	now        time.Time
}

func (j *judgement) count(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int
	if err := j.tx.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", what, err)
	}
	return n, nil
}

// terminated reports whether the user is terminated already: then nothing
// more is imposed.
func (j *judgement) terminated(ctx context.Context) (bool, error) {
	n, err := j.count(ctx, "terminations", `SELECT COUNT(*) FROM sanctions
		WHERE tenant_id = $1 AND end_user_id = $2 AND action = 'terminate' AND lifted_at IS NULL`,
		j.v.TenantID, j.v.EndUserID)
	return n > 0, err
}

// perDay counts the unspent violations entered on the calendar day of v.
func (j *judgement) perDay(ctx context.Context) (int, error) {
	t := j.v.Time.In(j.loc)
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, j.loc)
	end := start.AddDate(0, 0, 1)
	return j.count(ctx, "violations per day", `SELECT COUNT(*) FROM sanction_violations
		WHERE tenant_id = $1 AND end_user_id = $2 AND seq > $3 AND at >= $4 AND at < $5`,
		j.v.TenantID, j.v.EndUserID, j.spent, start.UnixMilli(), end.UnixMilli())
}

func (j *judgement) totalFunc(ctx context.Context) func(time.Duration) (int, error) {
	return func(window time.Duration) (int, error) {
		// Counted, not taken from seq: a reversed violation's row is gone.
		var since int64 = math.MinInt64
		if window > 0 {
			since = j.v.Time.Add(-window).UnixMilli()
		}
		return j.count(ctx, "violations", `SELECT COUNT(*) FROM sanction_violations
			WHERE tenant_id = $1 AND end_user_id = $2 AND seq > $3 AND at > $4`,
			j.v.TenantID, j.v.EndUserID, j.spent, since)
	}
}

func (j *judgement) repeatsFunc(ctx context.Context) func(Action, time.Duration) (int, error) {
	return func(of Action, within time.Duration) (int, error) {
		var since int64
		if within > 0 {
			since = j.now.Add(-within).UnixMilli()
		}
		return j.count(ctx, "sanctions", `SELECT COUNT(*) FROM sanctions
			WHERE tenant_id = $1 AND end_user_id = $2 AND action = $3 AND lifted_at IS NULL AND created_at >= $4`,
			j.v.TenantID, j.v.EndUserID, of.String(), since)
	}
}

// impose writes the chosen step. An escalation spends the violations so
// far and resets the run.
func (j *judgement) impose(ctx context.Context, step Step, ch choice, violationID string) (*Sanction, error) {
	sa := &Sanction{ID: newID("snc_"), TenantID: j.v.TenantID, EndUserID: j.v.EndUserID, Action: step.Action,
		Step: ch.step, ViolationID: violationID, Reason: ch.reason, Actor: ActorSystem, Restrict: step.Restrict,
		CreatedAt: fromMs(j.now.UnixMilli())}
	if step.Duration > 0 && step.Action != Terminate {
		sa.ExpiresAt = fromMs(j.now.Add(step.Duration).UnixMilli())
	}
	if err := insertSanction(ctx, j.tx, sa); err != nil {
		return nil, err
	}
	if step.Action < Restrict {
		return sa, nil
	}
	_, err := j.tx.ExecContext(ctx, `UPDATE sanction_strikes SET spent_seq = seq, in_a_row = 0
		WHERE tenant_id = $1 AND end_user_id = $2`, j.v.TenantID, j.v.EndUserID)
	if err != nil {
		return nil, fmt.Errorf("spend strikes: %w", err)
	}
	return sa, nil
}

// RecordClean ends the user's run of violations in a row: call it when an
// input passes moderation. It touches the database only when the user has
// a run to end, so it is cheap on the request path once Standing has
// cached the user.
func (s *Service) RecordClean(ctx context.Context, tenantID, endUserID string) error {
	k := userKey{tenantID, endUserID}
	now := s.opts.Now()
	gen := s.users.Generation()
	st, err := s.state(ctx, k, now)
	if err != nil {
		return fmt.Errorf("record clean input: %w", err)
	}
	if !st.inARow {
		return nil
	}
	_, err = s.db.ExecContext(ctx, `UPDATE sanction_strikes SET in_a_row = 0, updated_at = $1
		WHERE tenant_id = $2 AND end_user_id = $3 AND in_a_row > 0`, now.UnixMilli(), tenantID, endUserID)
	if err != nil {
		return fmt.Errorf("record clean input: %w", err)
	}
	s.users.UpdateIfCurrent(k, gen, func(st *userState) *userState {
		clean := *st
		clean.inARow = false
		return &clean
	})
	return nil
}

// ViolationRecord is a recorded violation.
type ViolationRecord struct {
	Violation
	ID         string
	Seq        int64 // the user's count of violations, from 1
	RecordedAt time.Time
}

// Violations returns up to limit (default and maximum 1000) of the user's
// recorded violations, newest first.
func (s *Service) Violations(ctx context.Context, tenantID, endUserID string, limit int) ([]ViolationRecord, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, seq, code, direction, source, actor, evidence, at, created_at
		FROM sanction_violations WHERE tenant_id = $1 AND end_user_id = $2 ORDER BY seq DESC LIMIT $3`,
		tenantID, endUserID, limit)
	if err != nil {
		return nil, fmt.Errorf("list violations: %w", err)
	}
	defer rows.Close()
	var out []ViolationRecord
	for rows.Next() {
		r := ViolationRecord{Violation: Violation{TenantID: tenantID, EndUserID: endUserID}}
		var dir, source, evidence string
		var at, created int64
		if err := rows.Scan(&r.ID, &r.Seq, &r.Code, &dir, &source, &r.Actor, &evidence, &at, &created); err != nil {
			return nil, fmt.Errorf("list violations: %w", err)
		}
		if dir == safety.Output.String() {
			r.Direction = safety.Output
		}
		r.Source, r.Time, r.RecordedAt = Source(source), fromMs(at), fromMs(created)
		if err := json.Unmarshal([]byte(evidence), &r.Evidence); err != nil {
			return nil, fmt.Errorf("list violations: decode evidence: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list violations: %w", err)
	}
	return out, nil
}
