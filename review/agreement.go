package review

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/eval/stats"
)

// Agreement is how often two reviewers agreed on one risk code.
type Agreement struct {
	Code      string
	Pairs     int     // items both reviewers decided, where either or the machine named the code
	Observed  float64 // share of pairs where both said the same about the code
	Kappa     float64 // Cohen's kappa; NaN when undefined (one label only)
	Confusion [2][2]int
}

// Agreements computes Cohen's kappa per risk code over the items that a
// first and a second reviewer both decided (escalations excluded: an
// escalation is not a verdict). For code X each reviewer's label is
// "violation of X" or not.
func (q *Queue) Agreements(ctx context.Context) ([]Agreement, error) {
	rows, err := q.db.Read().QueryContext(ctx, `SELECT a.verdict, a.code, b.verdict, b.code, i.codes
		FROM review_decisions a JOIN review_decisions b ON b.item_id = a.item_id AND b.stage = 2
		JOIN review_items i ON i.id = a.item_id
		WHERE a.stage = 1 AND a.verdict <> 'escalate' AND b.verdict <> 'escalate'`)
	if err != nil {
		return nil, fmt.Errorf("review agreement: %w", err)
	}
	defer rows.Close()
	type pair struct{ v1, c1, v2, c2, codes string }
	var pairs []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.v1, &p.c1, &p.v2, &p.c2, &p.codes); err != nil {
			return nil, fmt.Errorf("review agreement: %w", err)
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("review agreement: %w", err)
	}
	m := map[string]*[2][2]int{}
	label := func(v, c, code string) int {
		if v == string(Violation) && c == code {
			return 1
		}
		return 0
	}
	for _, p := range pairs {
		codes := strings.Fields(p.codes)
		codes = append(codes, p.c1, p.c2)
		slices.Sort(codes)
		for _, code := range slices.Compact(codes) {
			if code == "" {
				continue
			}
			if m[code] == nil {
				m[code] = &[2][2]int{}
			}
			m[code][label(p.v1, p.c1, code)][label(p.v2, p.c2, code)]++
		}
	}
	out := make([]Agreement, 0, len(m))
	for code, cm := range m {
		k, po := stats.Kappa([][]int{cm[0][:], cm[1][:]})
		out = append(out, Agreement{Code: code, Pairs: cm[0][0] + cm[0][1] + cm[1][0] + cm[1][1], Observed: po, Kappa: k, Confusion: *cm})
	}
	slices.SortFunc(out, func(a, b Agreement) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}
