package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrInvalidKey is wrapped by every authentication failure, so a caller can
// tell a bad key (401) from a database failure (503) with errors.Is. The
// specific errors below are for logs and tests; a client must not learn
// which one it hit.
var ErrInvalidKey = errors.New("invalid api key")

var (
	ErrKeyMalformed   = fmt.Errorf("%w: malformed", ErrInvalidKey)
	ErrKeyUnknown     = fmt.Errorf("%w: unknown key", ErrInvalidKey)
	ErrKeyRevoked     = fmt.Errorf("%w: revoked", ErrInvalidKey)
	ErrKeyExpired     = fmt.Errorf("%w: expired", ErrInvalidKey)
	ErrTenantDisabled = fmt.Errorf("%w: tenant disabled", ErrInvalidKey)
)

// Principal is who a request acts for: the key and its tenant. A Principal
// returned by Authenticate is shared between requests: do not modify it.
type Principal struct {
	Key    Key
	Tenant Tenant
}

// authEntry is one cached authentication result. Revoked keys and keys of
// disabled tenants are cached with their error, so a client retrying with a
// dead key does not reach the database every time; unknown keys are not, so
// random guesses cannot evict real entries.
type authEntry struct {
	p       *Principal
	err     error
	expires int64        // the key's ExpiresAt in unix nanoseconds; 0 = never
	touched atomic.Int64 // unix ms of the last LastUsedAt mark
}

// Authenticate returns the principal for a presented API key. Failures wrap
// ErrInvalidKey; any other error is the database's. A cache hit takes one
// SHA-256 of the key and a map lookup, and allocates nothing.
func (s *Service) Authenticate(ctx context.Context, presented string) (*Principal, error) {
	return s.Keys.Authenticate(ctx, presented)
}

// Authenticate is Service.Authenticate.
func (ks *Keys) Authenticate(ctx context.Context, presented string) (*Principal, error) {
	if !wellFormedKey(presented) {
		return nil, ErrKeyMalformed
	}
	// Hash through a fixed-size array: converting the string to a slice
	// would put a copy on the heap.
	var buf [keyLen]byte
	copy(buf[:], presented)
	sum := sha256.Sum256(buf[:])
	now := ks.s.opts.Now()
	e, ok := ks.cache.Get(sum, now)
	if !ok {
		var err error
		if e, err = ks.load(ctx, presented, sum); err != nil {
			return nil, err
		}
	}
	return ks.use(e, now)
}

func (ks *Keys) use(e *authEntry, now time.Time) (*Principal, error) {
	if e.err != nil {
		return nil, e.err
	}
	if e.expires != 0 && now.UnixNano() >= e.expires {
		return nil, ErrKeyExpired
	}
	ks.touched.maybe(&e.touched, e.p.Key.ID, now.UnixMilli())
	return e.p, nil
}

// load reads the key from the database once however many requests are
// waiting for it, and caches the result. The read is detached from the
// caller's cancellation because other callers share it.
func (ks *Keys) load(ctx context.Context, presented string, sum [sha256.Size]byte) (*authEntry, error) {
	v, err, _ := ks.flight.Do(string(sum[:]), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		gen := ks.cache.Generation()
		e, err := ks.read(ctx, presented[len(keyPrefix):len(keyPrefix)+keyIDLen], sum)
		if err != nil {
			return nil, err
		}
		ks.cache.PutIfCurrent(sum, e, gen, ks.s.opts.Now())
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*authEntry), nil
}

const authQuery = `SELECT k.secret_hash, k.id, k.tenant_id, k.name, k.models, k.rpm, k.concurrent, k.tpm,
	k.token_quota, k.expires_at, k.revoked_at, k.created_at, k.last_used_at, k.end_user,
	t.id, t.name, t.default_model, t.models, t.rpm, t.concurrent, t.tpm, t.token_quota, t.disabled, t.created_at
	FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = $1`

func (ks *Keys) read(ctx context.Context, id string, sum [sha256.Size]byte) (*authEntry, error) {
	var (
		stored string
		kr     keyRow
		tr     tenantRow
	)
	dest := append(append([]any{&stored}, kr.dest()...), tr.dest()...)
	err := ks.authStmt.QueryRowContext(ctx, id).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrKeyUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	want := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(want, sum[:])
	if subtle.ConstantTimeCompare(want, []byte(stored)) != 1 {
		return nil, ErrKeyUnknown
	}
	k, err := kr.key()
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	t, err := tr.tenant()
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	p := Principal{Key: *k, Tenant: *t}
	e := &authEntry{p: &p}
	if p.Key.LastUsedAt != nil {
		e.touched.Store(p.Key.LastUsedAt.UnixMilli())
	}
	if p.Key.ExpiresAt != nil {
		e.expires = max(p.Key.ExpiresAt.UnixNano(), 1)
	}
	switch {
	case p.Key.RevokedAt != nil:
		e.err = ErrKeyRevoked
	case p.Tenant.Disabled:
		e.err = ErrTenantDisabled
	}
	return e, nil
}

// wellFormedKey checks the shape fbk_<8 base32>_<39 base32>.
func wellFormedKey(s string) bool {
	if len(s) != keyLen || s[:len(keyPrefix)] != keyPrefix || s[len(keyPrefix)+keyIDLen] != '_' {
		return false
	}
	for i := len(keyPrefix); i < keyLen; i++ {
		if i == len(keyPrefix)+keyIDLen {
			continue
		}
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
