package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// A grading set is a sample that people grade pass or fail on the desk:
// the manual sample of a cleaned training corpus, or the human sample of
// an evaluation. Each item is a queue item of source grading, decided as
// any other: no violation is a pass, a violation (with its risk code) a
// fail, and an escalation goes to a second reviewer. A grade has no
// effect beyond the set's report: grading items name no end user.

// GradingItem is one item of a grading set.
type GradingItem struct {
	ID      string `json:"id"`
	Context string `json:"context,omitempty"` // what the grader is told: the corpus source, the bank and risk code
	Prompt  string `json:"prompt,omitempty"`  // the prompt of an evaluation item
	Text    string `json:"text"`              // the text to grade
}

// Grade is the desk's grade of one item of a set.
type Grade struct {
	ID      string    `json:"id"`
	Verdict string    `json:"verdict"`        // pass, fail, or "" while the item is open
	Code    string    `json:"code,omitempty"` // the risk code of a fail
	By      []string  `json:"by,omitempty"`   // staff ids that decided it
	Decided time.Time `json:"decided_at,omitzero"`
}

// Grade verdicts, as the evaluator's grading files name them.
const (
	GradePass = "pass"
	GradeFail = "fail"
)

// Limits of a grading set.
const (
	maxGradingItems = 20_000
	maxGradingText  = 64 << 10
	maxGradingID    = 200
)

var setName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func gradingRef(set, id string) string { return set + "/" + id }

func gradingAAD(ref string) []byte { return []byte("firebreak-grading-text:" + ref) }

// gradingText is what review_grading.text holds.
type gradingText struct {
	Prompt string `json:"prompt,omitempty"`
	Text   string `json:"text"`
}

// AddGradingSet queues items for grading under set and reports how many it
// added: an item already in the set is left as it is, so adding a set
// again (a command run twice) adds nothing. Texts are sealed with the
// content keyring when there is one.
func (q *Queue) AddGradingSet(ctx context.Context, set string, items []GradingItem) (int, error) {
	if !setName.MatchString(set) {
		return 0, clienterr.Errorf(clienterr.InvalidRequest,
			"grading set name %q: 1 to 64 letters, digits, dots, dashes and underscores", set)
	}
	if len(items) == 0 || len(items) > maxGradingItems {
		return 0, clienterr.Errorf(clienterr.InvalidRequest, "a grading set has 1 to %d items, not %d", maxGradingItems, len(items))
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		switch {
		case it.ID == "" || len(it.ID) > maxGradingID || !utf8.ValidString(it.ID) || seen[it.ID]:
			return 0, clienterr.Errorf(clienterr.InvalidRequest, "item %d: an id of 1 to %d bytes of UTF-8, once in the set", i, maxGradingID)
		case strings.TrimSpace(it.Text) == "" || len(it.Text)+len(it.Prompt)+len(it.Context) > maxGradingText ||
			!utf8.ValidString(it.Text+it.Prompt+it.Context):
			return 0, clienterr.Errorf(clienterr.InvalidRequest, "item %s: a text, and at most %d bytes of UTF-8 in all", it.ID, maxGradingText)
		}
		seen[it.ID] = true
	}
	now := q.opts.Now().UTC().Truncate(time.Millisecond)
	added := 0
	for chunk := range slices.Chunk(items, gradingChunk) {
		n, err := q.addGrading(ctx, set, chunk, now)
		if err != nil {
			return added, fmt.Errorf("add grading set %s: %w", set, err)
		}
		added += n
	}
	return added, nil
}

// gradingChunk is the items added in one transaction: an item's text and
// its queue row commit together, and SQLite's one write connection (which
// the audit trail's commits wait for) is never held for long.
const gradingChunk = 200

func (q *Queue) addGrading(ctx context.Context, set string, items []GradingItem, now time.Time) (int, error) {
	added := 0
	err := q.db.Tx(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, it := range items {
			ref := gradingRef(set, it.ID)
			plain, err := json.Marshal(gradingText{Prompt: it.Prompt, Text: it.Text})
			if err != nil {
				return err
			}
			stored, key := q.seal(plain, gradingAAD(ref))
			res, err := tx.ExecContext(ctx, `INSERT INTO review_grading (set_id, item_id, context, text, text_key, time_ms)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (set_id, item_id) DO NOTHING`,
				set, it.ID, it.Context, stored, key, ms(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				continue // already in the set
			}
			if _, err := q.enqueueOn(ctx, tx, entry{source: SourceGrading, ref: ref, reason: "grading set=" + set, exchange: now}); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	return added, err
}

// GradingSet returns the grade of every item of set, in item id order;
// store.ErrNotFound when the set has no item.
func (q *Queue) GradingSet(ctx context.Context, set string) ([]Grade, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT g.item_id, i.state, i.outcome, i.outcome_code, i.reviewers, i.decided_ms
		FROM review_grading g JOIN review_items i ON i.source = 'grading' AND i.ref = g.set_id || '/' || g.item_id
		WHERE g.set_id = $1 ORDER BY g.item_id`, set)
	if err != nil {
		return nil, fmt.Errorf("grading set %s: %w", set, err)
	}
	defer rows.Close()
	var out []Grade
	for rows.Next() {
		var g Grade
		var state, outcome, reviewers string
		var decided sql.NullInt64
		if err := rows.Scan(&g.ID, &state, &outcome, &g.Code, &reviewers, &decided); err != nil {
			return nil, fmt.Errorf("grading set %s: %w", set, err)
		}
		if state == StateDone {
			switch Verdict(outcome) {
			case NoViolation:
				g.Verdict, g.Code = GradePass, ""
			case Violation:
				g.Verdict = GradeFail
			}
			g.By = splitList(reviewers)
			if decided.Valid {
				g.Decided = fromMs(decided.Int64)
			}
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("grading set %s: %w", set, err)
	}
	if len(out) == 0 {
		return nil, store.NotFound("grading set " + set)
	}
	return out, nil
}

// Grading returns the item a grading queue item is about (its Ref), with
// its text opened; the text is empty when it is sealed and no keyring
// opens it.
func (q *Queue) Grading(ctx context.Context, ref string) (*GradingItem, error) {
	set, id, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, store.NotFound("grading item " + ref)
	}
	var stored, key string
	it := GradingItem{ID: id}
	err := q.db.QueryRowContext(ctx, `SELECT context, text, text_key FROM review_grading WHERE set_id = $1 AND item_id = $2`,
		set, id).Scan(&it.Context, &stored, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("grading item " + ref)
	}
	if err != nil {
		return nil, fmt.Errorf("grading item %s: %w", ref, err)
	}
	plain, ok := q.open(stored, key, gradingAAD(ref))
	if !ok {
		return &it, nil
	}
	var t gradingText
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, fmt.Errorf("grading item %s: %w", ref, err)
	}
	it.Prompt, it.Text = t.Prompt, t.Text
	return &it, nil
}
