package review

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// Appeal statuses.
const (
	AppealOpen    = "open"
	AppealUpheld  = "upheld"  // the sanction stands
	AppealGranted = "granted" // the sanction is withdrawn
)

const maxAppealText = 8 << 10

// Appeal is an end user's appeal against a sanction.
type Appeal struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"-"`
	EndUser     string    `json:"-"`
	SanctionID  string    `json:"sanction_id"`
	ViolationID string    `json:"-"`
	Text        string    `json:"text"`
	Status      string    `json:"status"`
	Answer      string    `json:"answer,omitempty"`
	Time        time.Time `json:"created_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
}

// ErrNoSanction answers an appeal against a sanction the user does not
// have (or that is lifted): the same answer whether it exists for someone
// else or not at all.
var ErrNoSanction = clienterr.New(clienterr.NotFound, "no sanction in force with this id for this user")

// ErrAppealed refuses a second open appeal against one sanction.
var ErrAppealed = clienterr.New(clienterr.Conflict, "this sanction has an open appeal")

func appealAAD(id string) []byte { return []byte("firebreak-appeal-text:" + id) }

// FileAppeal records an end user's appeal against one of their sanctions
// in force and queues it. tenantID and endUser come from the caller's
// credential, never from the request body.
func (q *Queue) FileAppeal(ctx context.Context, tenantID, endUser, sanctionID, text string) (*Appeal, error) {
	if q.opts.Sanctions == nil {
		return nil, clienterr.Errorf(clienterr.NotFound, "appeals are not taken here")
	}
	switch {
	case endUser == "":
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "an appeal needs an end user: a key bound to one, or the user field")
	case sanctionID == "" || len(sanctionID) > 64:
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "sanction_id is required")
	case strings.TrimSpace(text) == "" || len(text) > maxAppealText || !utf8.ValidString(text):
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "text is required: at most %d bytes of UTF-8", maxAppealText)
	}
	sa, err := q.opts.Sanctions.Sanction(ctx, sanctionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sa.TenantID != tenantID || sa.EndUserID != endUser || !sa.LiftedAt.IsZero())) {
		return nil, ErrNoSanction
	}
	if err != nil {
		return nil, fmt.Errorf("file appeal: %w", err)
	}
	now := q.opts.Now().UTC().Truncate(time.Millisecond)
	a := &Appeal{ID: newID("ap_"), TenantID: tenantID, EndUser: endUser, SanctionID: sanctionID, ViolationID: sa.ViolationID,
		Text: text, Status: AppealOpen, Time: now}
	stored, key := q.seal([]byte(text), appealAAD(a.ID))
	err = q.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM review_appeals WHERE sanction_id = $1 AND status = 'open'`,
			sanctionID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAppealed
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO review_appeals (id, tenant_id, end_user, sanction_id, violation_id,
			text, text_key, status, answer, time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', '', $8)`,
			a.ID, tenantID, endUser, sanctionID, sa.ViolationID, stored, key, ms(now))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrAppealed) {
			return nil, err
		}
		return nil, fmt.Errorf("file appeal: %w", err)
	}
	_, err = q.enqueue(ctx, entry{source: SourceAppeal, ref: a.ID, tenant: tenantID, user: endUser,
		reason: "appeal sanction=" + sanctionID + " action=" + sa.Action.String(), exchange: now})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// UserAppeals returns every appeal of one end user, oldest first, with
// its text (an access request).
func (q *Queue) UserAppeals(ctx context.Context, tenantID, endUser string) ([]Appeal, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+appealColumns+` FROM review_appeals
		WHERE tenant_id = $1 AND end_user = $2 ORDER BY time_ms, id`, tenantID, endUser)
	if err != nil {
		return nil, fmt.Errorf("user appeals: %w", err)
	}
	defer rows.Close()
	out := []Appeal{}
	for rows.Next() {
		a, err := q.scanAppeal(rows)
		if err != nil {
			return nil, fmt.Errorf("user appeals: %w", err)
		}
		out = append(out, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user appeals: %w", err)
	}
	return out, nil
}

// ForgetUser erases the text of every appeal of one end user, at the
// user's request (Interim Measures Art. 11). The appeals stay, with their
// sanction, status and answer. It returns how many were erased.
func (q *Queue) ForgetUser(ctx context.Context, tenantID, endUser string) (int64, error) {
	if tenantID == "" || endUser == "" {
		return 0, errors.New("forget appeals: tenant and end user are required")
	}
	res, err := q.db.ExecContext(ctx, `UPDATE review_appeals SET text = '', text_key = ''
		WHERE tenant_id = $1 AND end_user = $2 AND text <> ''`, tenantID, endUser)
	if err != nil {
		return 0, fmt.Errorf("forget appeals: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ForgetNotes erases what reviewers wrote about one end user's
// exchanges, at the user's request: the note and the corrected answer of
// every decision on an item of the user, whose text may quote or restate
// what the user wrote. The decisions stay, with their reviewer, verdict,
// risk code and time; the audit trail's record of each decision holds no
// text, so the chain verifies as before. An item names its user by the
// internal id, or by the external one for a complaint filed without a
// request id; endUsers takes both. It returns how many decisions lost
// text.
func (q *Queue) ForgetNotes(ctx context.Context, tenantID string, endUsers ...string) (int64, error) {
	var ids []string
	for _, u := range endUsers {
		if u != "" {
			ids = append(ids, u)
		}
	}
	if tenantID == "" || len(ids) == 0 {
		return 0, errors.New("forget review notes: tenant and end user are required")
	}
	var n int64
	for _, u := range ids {
		res, err := q.db.ExecContext(ctx, `UPDATE review_decisions SET note = '', corrected = ''
			WHERE (note <> '' OR corrected <> '') AND item_id IN
			(SELECT id FROM review_items WHERE tenant_id = $1 AND end_user = $2)`, tenantID, u)
		if err != nil {
			return n, fmt.Errorf("forget review notes: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

const appealColumns = `id, tenant_id, end_user, sanction_id, violation_id, text, text_key, status, answer, time_ms, answered_ms`

func (q *Queue) scanAppeal(sc interface{ Scan(...any) error }) (*Appeal, error) {
	var a Appeal
	var key string
	var t int64
	var answered sql.NullInt64
	if err := sc.Scan(&a.ID, &a.TenantID, &a.EndUser, &a.SanctionID, &a.ViolationID, &a.Text, &key, &a.Status,
		&a.Answer, &t, &answered); err != nil {
		return nil, err
	}
	a.Time = fromMs(t)
	if answered.Valid {
		a.AnsweredAt = fromMs(answered.Int64)
	}
	plain, ok := q.open(a.Text, key, appealAAD(a.ID))
	a.Text = string(plain)
	if !ok {
		a.Text = ""
	}
	return &a, nil
}

// Appeal returns one appeal. With endUser set (the API), only that end
// user's appeal of that tenant is found.
func (q *Queue) Appeal(ctx context.Context, tenantID, endUser, id string) (*Appeal, error) {
	a, err := q.scanAppeal(q.db.QueryRowContext(ctx, `SELECT `+appealColumns+` FROM review_appeals WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && endUser != "" && (a.TenantID != tenantID || a.EndUser != endUser)) {
		return nil, store.NotFound("appeal " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("get appeal: %w", err)
	}
	return a, nil
}

// applyAppeal carries out a final decision on an appeal: granted (no
// violation) reverses the strike behind the sanction, which lifts every
// sanction it triggered and recomputes the standing, or lifts a sanction
// imposed by hand; upheld leaves it. Either way the appeal is answered.
func (q *Queue) applyAppeal(ctx context.Context, it *Item, who Reviewer, d Decision, nx next, eff *Effect) error {
	a, err := q.Appeal(ctx, "", "", it.Ref)
	if err != nil {
		return err
	}
	status, reply := AppealUpheld, replyUpheld
	if nx.outcome == NoViolation {
		status, reply = AppealGranted, replyGranted
		reason := "appeal " + a.ID + " granted on review"
		if a.ViolationID != "" {
			rev, err := q.opts.Sanctions.ReverseViolation(ctx, a.ViolationID, who.ID, reason)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			eff.Reversed, eff.Lifted, eff.Standing = a.ViolationID, rev.Lifted, rev.Standing.Action.String()
		}
		if sa, err := q.opts.Sanctions.Sanction(ctx, a.SanctionID); err == nil && sa.LiftedAt.IsZero() {
			if _, err := q.opts.Sanctions.Lift(ctx, a.SanctionID, who.ID, reason); err != nil {
				return err
			}
			eff.Lifted = append(eff.Lifted, a.SanctionID)
		}
		if st, err := q.opts.Sanctions.Standing(ctx, it.TenantID, it.EndUser); err == nil {
			eff.Standing = st.Action.String()
		}
	}
	if d.Reply != "" {
		reply = d.Reply
	}
	_, err = q.db.ExecContext(ctx, `UPDATE review_appeals SET status = $1, answer = $2, answered_ms = $3 WHERE id = $4`,
		status, reply, ms(q.opts.Now()), a.ID)
	if err != nil {
		return fmt.Errorf("answer appeal: %w", err)
	}
	eff.Answered = status
	return nil
}

// seal is how the desk stores a text people wrote or graded: sealed with
// the content keyring under aad, in base64, with the key's id; as it is,
// with no key id, when there is no keyring.
func (q *Queue) seal(plain, aad []byte) (stored, key string) {
	if q.opts.Keys == nil {
		return string(plain), ""
	}
	key, sealed := q.opts.Keys.Seal(plain, aad)
	return base64.StdEncoding.EncodeToString(sealed), key
}

// open reverses seal; ok is false when the text is sealed and no keyring
// opens it.
func (q *Queue) open(stored, key string, aad []byte) (plain []byte, ok bool) {
	if key == "" {
		return []byte(stored), true
	}
	if q.opts.Keys == nil {
		return nil, false
	}
	sealed, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return nil, false
	}
	plain, err = q.opts.Keys.Open(key, sealed, aad)
	return plain, err == nil
}
