package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
)

// RectifyFilter selects the confirmed cases an export writes. Zero
// fields match anything.
type RectifyFilter struct {
	From  time.Time `json:"from,omitzero"` // decided at or after
	To    time.Time `json:"to,omitzero"`   // decided before
	Code  string    `json:"code,omitempty"`
	Route string    `json:"route,omitempty"` // the public model the exchange asked for
	// System, when set, opens every SFT conversation as its system message.
	System string `json:"system,omitempty"`
}

// Case is one confirmed violation with the answer the model should have
// given: rectification data.
type Case struct {
	ItemID    string
	RecordID  string
	Code      string
	Route     string
	Decided   time.Time
	Prompt    string // what review read of the request
	Answer    string // what the model answered
	Corrected string // what it should have answered
}

// Cases returns the confirmed violations matching f that a reviewer wrote
// a corrected answer for and whose exchange the audit keyring can still
// open, oldest decision first.
func (q *Queue) Cases(ctx context.Context, f RectifyFilter) ([]Case, error) {
	if q.opts.Trail == nil {
		return nil, errors.New("rectify: no audit trail to read the exchanges from")
	}
	conds := []string{"state = 'done'", "outcome = 'violation'", "record_id <> ''"}
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if !f.From.IsZero() {
		add("decided_ms >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("decided_ms < ?", ms(f.To))
	}
	if f.Code != "" {
		add("outcome_code = ?", f.Code)
	}
	if f.Route != "" {
		add("route = ?", f.Route)
	}
	rows, err := q.db.Read().QueryContext(ctx, `SELECT `+itemColumns+` FROM review_items WHERE `+
		strings.Join(conds, " AND ")+` ORDER BY decided_ms, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("rectify: %w", err)
	}
	var items []*Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("rectify: %w", err)
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rectify: %w", err)
	}
	var out []Case
	for _, it := range items {
		c, ok, err := q.caseOf(ctx, it)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// caseOf builds an item's case: the latest corrected answer among its
// decisions (a senior's over the first reviewer's) and the exchange.
func (q *Queue) caseOf(ctx context.Context, it *Item) (Case, bool, error) {
	ds, err := q.Decisions(ctx, it.ID)
	if err != nil {
		return Case{}, false, err
	}
	c := Case{ItemID: it.ID, RecordID: it.RecordID, Code: it.OutcomeCode, Route: it.Route, Decided: it.DecidedAt}
	for _, d := range ds {
		if d.Corrected != "" {
			c.Corrected = d.Corrected
		}
	}
	if c.Corrected == "" {
		return c, false, nil
	}
	e, err := q.opts.Trail.Content(ctx, it.RecordID)
	if err != nil {
		return c, false, fmt.Errorf("rectify: record %s: %w", it.RecordID, err)
	}
	c.Prompt, c.Answer = e.Content.Prompt, e.Content.Answer
	return c, c.Prompt != "", nil
}

// RectifyFiles are where an export writes; a nil writer is skipped.
type RectifyFiles struct {
	// SFT receives chat fine-tuning data in the OpenAI format: one
	// {"messages": [system?, user, assistant]} per line, the assistant
	// message being the corrected answer.
	SFT io.Writer
	// Pairs receives preference pairs as TRL's standard preference type
	// and LLaMA-Factory's ranking datasets read them: {"prompt",
	// "chosen" (corrected), "rejected" (the model's answer)}, with the
	// audit record id, risk code and route beside them.
	Pairs io.Writer
	// Index receives, for each SFT line, its audit record id, review
	// item, risk code and route (the SFT format has no room for them).
	Index io.Writer
}

// Export is a recorded rectification export.
type Export struct {
	ID     string        `json:"id"`
	Time   time.Time     `json:"time"`
	Actor  string        `json:"actor"`
	Filter RectifyFilter `json:"filter"`
	Items  int           `json:"items"`
	SFT    int           `json:"sft"`
	Pairs  int           `json:"pairs"`
	Digest string        `json:"digest"` // SHA-256 over everything written, in order
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type sftLine struct {
	Messages []message `json:"messages"`
}

type pairLine struct {
	Prompt        string `json:"prompt"`
	Chosen        string `json:"chosen"`
	Rejected      string `json:"rejected"`
	AuditRecordID string `json:"audit_record_id"`
	RiskCode      string `json:"risk_code"`
	Route         string `json:"route"`
}

type indexLine struct {
	Line          int       `json:"line"`
	AuditRecordID string    `json:"audit_record_id"`
	ItemID        string    `json:"item_id"`
	RiskCode      string    `json:"risk_code"`
	Route         string    `json:"route"`
	Decided       time.Time `json:"decided_at"`
}

// Rectify writes the cases matching f as fine-tuning data and records the
// export (in its table and, as actor's action, on the audit trail).
func (q *Queue) Rectify(ctx context.Context, f RectifyFilter, actor string, files RectifyFiles) (*Export, error) {
	if actor == "" {
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "rectify: who exports is required")
	}
	cases, err := q.Cases(ctx, f)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	enc := func(w io.Writer, v any) error {
		if w == nil {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		sum.Write(b)
		_, err = w.Write(b)
		return err
	}
	x := &Export{ID: newID("rx_"), Time: q.opts.Now().UTC().Truncate(time.Millisecond), Actor: actor, Filter: f}
	for _, c := range cases {
		if err := x.write(c, f, files, enc); err != nil {
			return nil, fmt.Errorf("rectify: write: %w", err)
		}
	}
	x.Digest = hex.EncodeToString(sum.Sum(nil))
	return x, q.recordExport(ctx, x)
}

func (x *Export) write(c Case, f RectifyFilter, files RectifyFiles, enc func(io.Writer, any) error) error {
	x.Items++
	var msgs []message
	if f.System != "" {
		msgs = append(msgs, message{"system", f.System})
	}
	msgs = append(msgs, message{"user", c.Prompt}, message{"assistant", c.Corrected})
	if files.SFT != nil {
		x.SFT++
		if err := enc(files.SFT, sftLine{msgs}); err != nil {
			return err
		}
		if err := enc(files.Index, indexLine{Line: x.SFT, AuditRecordID: c.RecordID, ItemID: c.ItemID, RiskCode: c.Code,
			Route: c.Route, Decided: c.Decided}); err != nil {
			return err
		}
	}
	if files.Pairs != nil && c.Answer != "" && c.Answer != c.Corrected {
		x.Pairs++
		return enc(files.Pairs, pairLine{Prompt: c.Prompt, Chosen: c.Corrected, Rejected: c.Answer,
			AuditRecordID: c.RecordID, RiskCode: c.Code, Route: c.Route})
	}
	return nil
}

func (q *Queue) recordExport(ctx context.Context, x *Export) error {
	filters, err := json.Marshal(x.Filter)
	if err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `INSERT INTO review_exports (id, time_ms, actor, filters, items, sft, pairs, digest)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, x.ID, ms(x.Time), x.Actor, string(filters), x.Items, x.SFT, x.Pairs, x.Digest); err != nil {
		return fmt.Errorf("record rectify export: %w", err)
	}
	if q.rec == nil {
		return nil
	}
	a := audit.Action{Time: x.Time, Actor: x.Actor, Via: "review", Name: "review rectify export", Target: x.ID,
		Status: 200, Outcome: audit.OutcomeOK, Details: []string{"filters=" + string(filters), "items=" + strconv.Itoa(x.Items),
			"sft=" + strconv.Itoa(x.SFT), "pairs=" + strconv.Itoa(x.Pairs), "digest=" + x.Digest}}
	if err := q.rec.Append(ctx, a.Record()); err != nil {
		return fmt.Errorf("record rectify export on the audit trail: %w", err)
	}
	return nil
}

// Exports lists the recorded exports, newest first.
func (q *Queue) Exports(ctx context.Context, limit int) ([]Export, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := q.db.Read().QueryContext(ctx, `SELECT id, time_ms, actor, filters, items, sft, pairs, digest
		FROM review_exports ORDER BY time_ms DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list rectify exports: %w", err)
	}
	defer rows.Close()
	var out []Export
	for rows.Next() {
		var x Export
		var t int64
		var filters string
		if err := rows.Scan(&x.ID, &t, &x.Actor, &filters, &x.Items, &x.SFT, &x.Pairs, &x.Digest); err != nil {
			return nil, fmt.Errorf("list rectify exports: %w", err)
		}
		x.Time = fromMs(t)
		if err := json.Unmarshal([]byte(filters), &x.Filter); err != nil {
			return nil, fmt.Errorf("list rectify exports: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// DatasetInfo is the dataset_info.json entry with which LLaMA-Factory
// reads the preference file (name → file, ranking, column mapping) and
// the SFT file (sharegpt-style with OpenAI role and content tags).
func DatasetInfo(sftFile, pairsFile string) ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"firebreak_rectify_sft": map[string]any{
			"file_name": sftFile, "formatting": "sharegpt",
			"columns": map[string]string{"messages": "messages"},
			"tags": map[string]string{"role_tag": "role", "content_tag": "content", "user_tag": "user",
				"assistant_tag": "assistant", "system_tag": "system"},
		},
		"firebreak_rectify_preference": map[string]any{
			"file_name": pairsFile, "ranking": true,
			"columns": map[string]string{"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"},
		},
	}, "", "  ")
}
