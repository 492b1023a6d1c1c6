package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/safety"
)

// Verdict is a reviewer's decision. On an appeal, violation upholds the
// sanction and no_violation grants the appeal.
type Verdict string

const (
	Violation   Verdict = "violation"    // confirmed, with a risk code
	NoViolation Verdict = "no_violation" // a false positive
	Escalate    Verdict = "escalate"     // a second reviewer decides
)

// Limits on what a reviewer writes, in bytes.
const (
	maxNote      = 4 << 10
	maxCorrected = 32 << 10
)

// Decision is what a reviewer decides on an item.
type Decision struct {
	Verdict Verdict
	Code    string // the risk code of a violation; required for one
	Note    string // why; kept with the decision
	// Corrected is the answer the model should have given; confirmed
	// cases with one become rectification data.
	Corrected string
	// Reply answers the person behind a complaint or an appeal when the
	// decision is final. Default: a standard reply by verdict.
	Reply string
}

func (d *Decision) validate(stage int) error {
	switch d.Verdict {
	case Violation:
		if safety.ValidCode(d.Code) != nil {
			return clienterr.Errorf(clienterr.InvalidRequest, "a violation needs a risk code of GB/T 45654 (got %q)", d.Code)
		}
	case NoViolation:
		d.Code = ""
	case Escalate:
		if stage == StageSenior {
			return clienterr.Errorf(clienterr.InvalidRequest, "a senior reviewer decides: escalate is not possible here")
		}
		d.Code = ""
	default:
		return clienterr.Errorf(clienterr.InvalidRequest, "verdict %q: want violation, no_violation or escalate", d.Verdict)
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"note", d.Note, maxNote}, {"corrected answer", d.Corrected, maxCorrected}, {"reply", d.Reply, maxCorrected}} {
		if len(f.v) > f.max || !utf8.ValidString(f.v) {
			return clienterr.Errorf(clienterr.InvalidRequest, "%s: at most %d bytes of UTF-8", f.name, f.max)
		}
	}
	return nil
}

// Recorded is a decision as kept.
type Recorded struct {
	ID        string    `json:"id"`
	ItemID    string    `json:"item_id"`
	Stage     int       `json:"stage"`
	Reviewer  string    `json:"reviewer"`
	Verdict   Verdict   `json:"verdict"`
	Code      string    `json:"code,omitempty"`
	Note      string    `json:"note,omitempty"`
	Corrected string    `json:"corrected,omitempty"`
	Time      time.Time `json:"time"`
}

// Effect is what a final decision did, kept with the item.
type Effect struct {
	ViolationID string   `json:"violation_id,omitempty"` // the strike added
	SanctionID  string   `json:"sanction_id,omitempty"`  // the step it imposed
	Reversed    string   `json:"reversed,omitempty"`     // the strike removed (appeal granted)
	Lifted      []string `json:"lifted,omitempty"`       // sanctions lifted
	Standing    string   `json:"standing,omitempty"`     // the user's standing after
	Answered    string   `json:"answered,omitempty"`     // complaint or appeal answered: its status
	Error       string   `json:"error,omitempty"`        // an effect that failed (logged)
}

// next is where a decision takes its item.
type next struct {
	stage   int     // the stage the item moves to; 0 when final
	outcome Verdict // the final verdict
	code    string
}

// route decides where an item goes after d at its stage, given the
// decisions taken before.
func (q *Queue) route(stage int, d Decision, before []Recorded) next {
	switch stage {
	case StageFirst:
		if d.Verdict == Escalate || (q.opts.DualShare > 0 && q.opts.Float() < q.opts.DualShare) {
			return next{stage: StageSecond}
		}
	case StageSecond:
		if d.Verdict == Escalate {
			return next{stage: StageSenior}
		}
		var first *Recorded
		for i := range before {
			if before[i].Stage == StageFirst {
				first = &before[i]
			}
		}
		if first != nil && first.Verdict != Escalate && (first.Verdict != d.Verdict || first.Code != d.Code) {
			return next{stage: StageSenior} // two reviewers disagree
		}
	}
	return next{outcome: d.Verdict, code: d.Code}
}

// Decide records who's decision on the item they hold (token from Claim).
// A decision on a lease that expired or went to another reviewer is
// refused with ErrLeaseLost. The decision either moves the item to a
// second or senior reviewer or decides it for good, with its effects.
func (q *Queue) Decide(ctx context.Context, itemID, token string, who Reviewer, d Decision) (*Item, error) {
	if token == "" || who.ID == "" {
		return nil, ErrLeaseLost
	}
	now := q.opts.Now().UTC()
	var it *Item
	var nx next
	rec := Recorded{ID: newID("rd_"), ItemID: itemID, Reviewer: who.ID, Verdict: d.Verdict, Code: d.Code,
		Note: d.Note, Corrected: d.Corrected, Time: now.Truncate(time.Millisecond)}
	err := q.db.Tx(ctx, func(tx *sql.Tx) error {
		// Taking the lease back is the check: only the holder of a live
		// lease matches, and only once.
		var err error
		it, err = scanItem(tx.QueryRowContext(ctx, `UPDATE review_items SET lease_owner = '', lease_token = '', lease_until = 0
			WHERE id = $1 AND lease_token = $2 AND lease_owner = $3 AND lease_until > $4 AND state = 'open'
			RETURNING `+itemColumns, itemID, token, who.ID, ms(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		if err := d.validate(it.Stage); err != nil {
			return err
		}
		rec.Code, rec.Stage = d.Code, it.Stage
		before, err := decisions(ctx, tx, itemID)
		if err != nil {
			return err
		}
		nx = q.route(it.Stage, d, before)
		if _, err := tx.ExecContext(ctx, `INSERT INTO review_decisions (id, item_id, stage, reviewer, verdict, code,
			note, corrected, time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			rec.ID, itemID, rec.Stage, who.ID, string(d.Verdict), d.Code, d.Note, d.Corrected, ms(rec.Time)); err != nil {
			return err
		}
		reviewers := codeList(append(it.Reviewers, who.ID))
		if nx.stage != 0 {
			_, err = tx.ExecContext(ctx, `UPDATE review_items SET stage = $1, reviewers = $2 WHERE id = $3`,
				nx.stage, reviewers, itemID)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE review_items SET state = 'done', reviewers = $1, outcome = $2,
			outcome_code = $3, decided_ms = $4 WHERE id = $5`, reviewers, string(nx.outcome), nx.code, ms(now), itemID)
		return err
	})
	if err != nil {
		var ce *clienterr.Error
		if errors.Is(err, ErrLeaseLost) || errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("decide review item %s: %w", itemID, err)
	}
	var eff Effect
	if nx.stage == 0 {
		eff = q.apply(ctx, it, who, d, nx)
		if err := q.saveEffect(ctx, itemID, eff); err != nil {
			return nil, err
		}
	}
	q.record(ctx, it, who, rec, nx, eff)
	return q.Get(ctx, itemID)
}

func (q *Queue) saveEffect(ctx context.Context, itemID string, eff Effect) error {
	b, err := json.Marshal(eff)
	if err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE review_items SET effect = $1 WHERE id = $2`, string(b), itemID); err != nil {
		return fmt.Errorf("save review effect: %w", err)
	}
	return nil
}

// record puts the decision on the audit trail as a staff action.
func (q *Queue) record(ctx context.Context, it *Item, who Reviewer, rec Recorded, nx next, eff Effect) {
	if q.rec == nil {
		return
	}
	details := []string{"item=" + it.ID, "source=" + string(it.Source), "stage=" + strconv.Itoa(rec.Stage),
		"verdict=" + string(rec.Verdict)}
	if rec.Code != "" {
		details = append(details, "code="+rec.Code)
	}
	if it.RecordID != "" {
		details = append(details, "record="+it.RecordID)
	}
	if nx.stage != 0 {
		details = append(details, "next_stage="+strconv.Itoa(nx.stage))
	} else {
		details = append(details, "outcome="+string(nx.outcome))
	}
	for k, v := range map[string]string{"violation": eff.ViolationID, "sanction": eff.SanctionID,
		"reversed": eff.Reversed, "lifted": strings.Join(eff.Lifted, ","), "answered": eff.Answered, "effect_error": eff.Error} {
		if v != "" {
			details = append(details, k+"="+v)
		}
	}
	a := audit.Action{Time: rec.Time, Actor: who.Name, Via: "review", Name: "review decide", Target: it.ID,
		TenantID: it.TenantID, Status: 200, Outcome: audit.OutcomeOK, Details: details}
	if err := q.rec.Append(ctx, a.Record()); err != nil {
		q.opts.Logger.Error("review decision not on the audit trail", "item", it.ID, "err", err)
	}
}

// Decisions returns every decision taken on an item, in order.
func (q *Queue) Decisions(ctx context.Context, itemID string) ([]Recorded, error) {
	return decisions(ctx, q.db.Read(), itemID)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func decisions(ctx context.Context, db querier, itemID string) ([]Recorded, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, item_id, stage, reviewer, verdict, code, note, corrected, time_ms
		FROM review_decisions WHERE item_id = $1 ORDER BY stage, time_ms, id`, itemID)
	if err != nil {
		return nil, fmt.Errorf("review decisions: %w", err)
	}
	defer rows.Close()
	var out []Recorded
	for rows.Next() {
		var r Recorded
		var t int64
		if err := rows.Scan(&r.ID, &r.ItemID, &r.Stage, &r.Reviewer, &r.Verdict, &r.Code, &r.Note, &r.Corrected, &t); err != nil {
			return nil, fmt.Errorf("review decisions: %w", err)
		}
		r.Time = fromMs(t)
		out = append(out, r)
	}
	return out, rows.Err()
}
