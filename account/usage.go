package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrBadSubject is returned (wrapped) for a usage subject that is not
// "key:<id>" or "user:<id>".
var ErrBadSubject = errors.New(`usage subject must be "key:<id>" or "user:<id>"`)

func validSubject(s string) bool {
	id, ok := strings.CutPrefix(s, "key:")
	if !ok {
		id, ok = strings.CutPrefix(s, "user:")
	}
	return ok && id != "" && len(id) <= 64
}

// AddUsage adds tokens to the subject's lifetime total in one atomic
// statement, so concurrent flushes from many replicas sum exactly.
func (s *Service) AddUsage(ctx context.Context, subject string, tokens int64) error {
	if !validSubject(subject) {
		return fmt.Errorf("add usage: %w", ErrBadSubject)
	}
	if tokens == 0 {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO token_usage (subject, tokens, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens,
		updated_at = excluded.updated_at`, subject, tokens, toMs(s.opts.Now()))
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	return nil
}

// Usage returns the subject's lifetime token total (0 if it has none).
func (s *Service) Usage(ctx context.Context, subject string) (int64, error) {
	if !validSubject(subject) {
		return 0, fmt.Errorf("usage: %w", ErrBadSubject)
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT tokens FROM token_usage WHERE subject = $1`, subject).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	return n, nil
}
