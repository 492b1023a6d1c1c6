package kb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb/support"
	"github.com/firebreak/firebreak/store"
)

// Action is what a grounded route does with an answer the support check
// flags.
type Action string

const (
	// Annotate marks each unsupported sentence in the answer.
	Annotate Action = "annotate"
	// Caution appends a caution to the answer.
	Caution Action = "caution"
	// Refuse replaces the answer with a refusal (risk code A5a, or A5b
	// when nothing was found to ground it on).
	Refuse Action = "refuse"
)

// Grounding is the grounding of one route.
type Grounding struct {
	Route  string `json:"route"`
	Action Action `json:"action"`
	// TopK is how many passages go into the prompt. Default 4, at most 20.
	TopK int `json:"top_k"`
	// MinSupport is the support score under which a sentence is
	// unsupported. Default 0.5.
	MinSupport float64   `json:"min_support"`
	UpdatedBy  string    `json:"updated_by,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func (g *Grounding) normalise() error {
	if g.Route == "" || len(g.Route) > 256 {
		return clienterr.Errorf(clienterr.InvalidRequest, "a grounding names its route")
	}
	switch g.Action {
	case "":
		g.Action = Annotate
	case Annotate, Caution, Refuse:
	default:
		return clienterr.Errorf(clienterr.InvalidRequest, "action must be annotate, caution or refuse")
	}
	if g.TopK == 0 {
		g.TopK = 4
	}
	if g.TopK < 1 || g.TopK > 20 {
		return clienterr.Errorf(clienterr.InvalidRequest, "top_k must be 1 to 20")
	}
	if g.MinSupport == 0 {
		g.MinSupport = support.DefaultMinSupport
	}
	if g.MinSupport < 0 || g.MinSupport > 1 {
		return clienterr.Errorf(clienterr.InvalidRequest, "min_support must be between 0 and 1")
	}
	return nil
}

// SetGrounding makes a route grounded, or changes its settings; every
// replica follows.
func (s *Service) SetGrounding(ctx context.Context, g Grounding) (Grounding, error) {
	if err := g.normalise(); err != nil {
		return Grounding{}, err
	}
	g.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_grounding (route, action, top_k, min_support, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (route) DO UPDATE SET action = EXCLUDED.action, top_k = EXCLUDED.top_k,
			min_support = EXCLUDED.min_support, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
			g.Route, string(g.Action), g.TopK, g.MinSupport, g.UpdatedBy, g.UpdatedAt.UnixMilli()); err != nil {
			return err
		}
		return s.bus.PublishTx(ctx, tx, Topic, g.Route)
	})
	if err != nil {
		return Grounding{}, fmt.Errorf("set grounding: %w", err)
	}
	return g, s.reload(ctx)
}

// RemoveGrounding makes a route ungrounded.
func (s *Service) RemoveGrounding(ctx context.Context, route string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM kb_grounding WHERE route = $1`, route)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound(fmt.Sprintf("grounding of route %q", route))
		}
		return s.bus.PublishTx(ctx, tx, Topic, route)
	})
	if err != nil {
		return fmt.Errorf("remove grounding: %w", err)
	}
	return s.reload(ctx)
}

// Groundings lists the grounded routes.
func (s *Service) Groundings(ctx context.Context) ([]Grounding, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT route, action, top_k, min_support, updated_by, updated_at FROM kb_grounding ORDER BY route`)
	if err != nil {
		return nil, fmt.Errorf("list groundings: %w", err)
	}
	defer rows.Close()
	var out []Grounding
	for rows.Next() {
		var g Grounding
		var at int64
		if err := rows.Scan(&g.Route, &g.Action, &g.TopK, &g.MinSupport, &g.UpdatedBy, &at); err != nil {
			return nil, err
		}
		g.UpdatedAt = time.UnixMilli(at).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// GroundingOf returns a route's grounding from memory; ok is false for a
// route that is not grounded.
func (s *Service) GroundingOf(route string) (Grounding, bool) {
	m := s.grounding.Load()
	if m == nil {
		return Grounding{}, false
	}
	g, ok := (*m)[route]
	return g, ok
}

func (s *Service) reload(ctx context.Context) error {
	gs, err := s.Groundings(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]Grounding, len(gs))
	for _, g := range gs {
		m[g.Route] = g
	}
	s.grounding.Store(&m)
	return nil
}
