package account

import (
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// b32 is lowercase RFC 4648 base32 without padding: URL- and shell-safe,
// case-insensitive to read aloud, and free of the '_' that separates the
// parts of a key.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomString returns n random bytes in b32.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b32.EncodeToString(b)
}

// newID returns a prefixed random ID with 80 bits of entropy, e.g.
// "ten_abcdefghijklmnop".
func newID(prefix string) string { return prefix + randomString(10) }

func toMs(t time.Time) int64 { return t.UnixMilli() }

func fromMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func toNullMs(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMs(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMs(n.Int64)
	return &t
}

// encodeModels stores a model list as a JSON array; nil and empty both
// mean "all models".
func encodeModels(models []string) (string, error) {
	for _, m := range models {
		if m == "" || len(m) > 200 {
			return "", errors.New("model names must be 1 to 200 bytes")
		}
	}
	if len(models) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(models)
	return string(b), err
}

func decodeModels(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("decode models: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
