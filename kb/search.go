package kb

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/kb/support"
	"github.com/firebreak/firebreak/store"
)

// BM25's parameters, the usual ones (and SQLite FTS5's).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// maxQueryTerms bounds the distinct terms of a query: a long
// conversation would otherwise make a query of thousands of terms.
const maxQueryTerms = 64

// Passage is a chunk retrieved for a query.
type Passage struct {
	ChunkID    int64   `json:"chunk_id"`
	DocumentID int64   `json:"document_id"`
	Base       string  `json:"base"`
	Title      string  `json:"title"`
	Seq        int     `json:"seq"`
	Text       string  `json:"text"`
	Score      float64 `json:"score"` // BM25; higher is better
}

// queryTerms are the distinct terms of a query, at most maxQueryTerms,
// the first ones kept.
func queryTerms(query string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range support.Terms(query) {
		if !seen[t] && len(out) < maxQueryTerms {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Search returns the k passages of the named bases that best match query
// by BM25, best first.
func (s *Service) Search(ctx context.Context, bases []string, query string, k int) ([]Passage, error) {
	terms := queryTerms(query)
	if len(terms) == 0 || len(bases) == 0 || k <= 0 {
		return nil, nil
	}
	k = min(k, 100)
	var ps []Passage
	var err error
	if s.db.Dialect() == store.SQLite {
		ps, err = s.searchFTS5(ctx, bases, terms, k)
	} else {
		ps, err = s.searchPostgres(ctx, bases, terms, k)
	}
	if err != nil {
		return nil, fmt.Errorf("search knowledge bases: %w", err)
	}
	return ps, nil
}

// searchFTS5 ranks with FTS5's own bm25() (negative: lower is better).
func (s *Service) searchFTS5(ctx context.Context, bases, terms []string, k int) ([]Passage, error) {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	args := []any{strings.Join(quoted, " OR "), k}
	in := make([]string, len(bases))
	for i, b := range bases {
		args = append(args, b)
		in[i] = "$" + strconv.Itoa(i+3)
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT c.id, c.document_id, c.base, d.title, c.seq, c.text, -bm25(kb_fts) AS score
		FROM kb_fts JOIN kb_chunks c ON c.id = kb_fts.rowid JOIN kb_documents d ON d.id = c.document_id
		WHERE kb_fts MATCH $1 AND c.base IN (`+strings.Join(in, ", ")+`)
		ORDER BY score DESC, c.id LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	return scanPassages(rows)
}

// searchPostgres computes BM25 in SQL: the GIN index finds the chunks
// holding any query term, each term's frequency in a chunk comes from its
// tsvector's positions (the query's lexemes picked out of it by
// setweight and ts_filter, in C, rather than every lexeme unnested), and its document frequency from kb_terms; N and
// the average length from kb_bases. The formula is FTS5's, so both
// databases rank alike.
func (s *Service) searchPostgres(ctx context.Context, bases, terms []string, k int) ([]Passage, error) {
	var n, total float64
	if err := s.db.Read().QueryRowContext(ctx, `SELECT coalesce(sum(chunks), 0), coalesce(sum(terms), 0) FROM kb_bases WHERE name = ANY($1)`,
		bases).Scan(&n, &total); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	avgdl := math.Max(total/n, 1)
	rows, err := s.db.Read().QueryContext(ctx, `WITH q AS (
			SELECT term, ln(1 + ($3::float8 - sum(df) + 0.5) / (sum(df) + 0.5)) AS idf
			FROM kb_terms WHERE base = ANY($1) AND term = ANY($2) GROUP BY term
		), hits AS (
			SELECT c.id, sum(q.idf * u.tf * ($5::float8 + 1) / (u.tf + $5::float8 * (1 - $6::float8 + $6::float8 * c.length / $4::float8))) AS score
			FROM kb_chunks c
			CROSS JOIN LATERAL (SELECT lexeme, array_length(positions, 1) AS tf
				FROM unnest(ts_filter(setweight(c.tsv, 'A', $2::text[]), '{a}'))) u
			JOIN q ON q.term = u.lexeme
			WHERE c.base = ANY($1) AND c.tsv @@ to_tsquery('simple', array_to_string($2::text[], ' | '))
			GROUP BY c.id
			ORDER BY score DESC, c.id LIMIT $7
		)
		SELECT c.id, c.document_id, c.base, d.title, c.seq, c.text, h.score
		FROM hits h JOIN kb_chunks c ON c.id = h.id JOIN kb_documents d ON d.id = c.document_id
		ORDER BY h.score DESC, c.id`, bases, terms, n, avgdl, bm25K1, bm25B, k)
	if err != nil {
		return nil, err
	}
	return scanPassages(rows)
}

type rowScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func scanPassages(rows rowScanner) ([]Passage, error) {
	defer rows.Close()
	var out []Passage
	for rows.Next() {
		var p Passage
		if err := rows.Scan(&p.ChunkID, &p.DocumentID, &p.Base, &p.Title, &p.Seq, &p.Text, &p.Score); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// BasesFor names the knowledge bases that serve a route for a tenant:
// those bound to the route or to none, and to the tenant or to none.
func (s *Service) BasesFor(ctx context.Context, route, tenant string) ([]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT name FROM kb_bases WHERE route IN ('', $1) AND tenant IN ('', $2) ORDER BY name`, route, tenant)
	if err != nil {
		return nil, fmt.Errorf("knowledge bases of a route: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
