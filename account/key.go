package account

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/firebreak/firebreak/internal/ttlcache"
	"github.com/firebreak/firebreak/store"
)

// An API key reads fbk_<id>_<secret>: the 8-character id (40 bits, the
// primary key, shown in listings) and a 39-character secret (192 bits),
// both in lowercase base32.
const (
	keyPrefix    = "fbk_"
	keyIDLen     = 8
	keySecretLen = 39 // 24 random bytes
	keyLen       = len(keyPrefix) + keyIDLen + 1 + keySecretLen
)

// Key is an API key, without its secret.
type Key struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string   // "fbk_<id>_": the visible start of the key
	Models     []string // allowed models, within the tenant's; empty = all the tenant's
	Limits     Limits
	ExpiresAt  *time.Time // nil = never
	RevokedAt  *time.Time // nil = active
	CreatedAt  time.Time
	LastUsedAt *time.Time // nil = never; written in batches, up to TouchInterval late
	// EndUser, when set, is the operator's id of the one end user this key
	// belongs to: every request made with it is that user's. "" is a
	// service key, which names end users per request. Fixed at creation.
	EndUser string
}

// Keys manages API keys and authenticates them.
type Keys struct {
	s        *Service
	authStmt *sql.Stmt // authQuery, prepared on the read pool
	cache    *ttlcache.Cache[[sha256.Size]byte, *authEntry]
	flight   singleflight.Group
	touched  *toucher
}

func newKeys(s *Service) *Keys {
	return &Keys{
		s:       s,
		cache:   ttlcache.New[[sha256.Size]byte, *authEntry](s.opts.CacheTTL, s.opts.KeyCacheSize),
		touched: newToucher("api_keys", "last_used_at", s.opts.TouchInterval.Milliseconds()),
	}
}

const keyColumns = `id, tenant_id, name, models, rpm, concurrent, tpm, token_quota,
	expires_at, revoked_at, created_at, last_used_at, end_user`

func (k *Key) validate() error {
	if len(k.Name) > 128 {
		return invalidf("key name longer than 128 bytes")
	}
	if len(k.EndUser) > MaxExternalIDLen || !utf8.ValidString(k.EndUser) {
		return invalidf("key end user must be at most %d bytes of UTF-8", MaxExternalIDLen)
	}
	return k.Limits.validate()
}

// Create stores a new key for k.TenantID from k's Name, Models, Limits and
// ExpiresAt. It returns the stored key and the plaintext, which exists
// nowhere else: show it once.
func (ks *Keys) Create(ctx context.Context, k Key) (*Key, string, error) {
	return createKey(ctx, ks.s.db, k, ks.s.opts.Now())
}

func createKey(ctx context.Context, q querier, k Key, now time.Time) (*Key, string, error) {
	if err := k.validate(); err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	models, err := encodeModels(k.Models)
	if err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = fromMs(toMs(now)), nil, nil
	// A 40-bit id collides rarely; try a few before giving up.
	for range 3 {
		k.ID = randomString(5)
		k.Prefix = keyPrefix + k.ID + "_"
		plain := k.Prefix + randomString(24)
		sum := sha256.Sum256([]byte(plain))
		_, err = q.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, name, secret_hash, models,
			rpm, concurrent, tpm, token_quota, expires_at, created_at, end_user)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			k.ID, k.TenantID, k.Name, hex.EncodeToString(sum[:]), models, k.Limits.RPM,
			k.Limits.Concurrent, k.Limits.TPM, k.Limits.TokenQuota, toNullMs(k.ExpiresAt), toMs(k.CreatedAt), k.EndUser)
		if err == nil {
			return &k, plain, nil
		}
		if !store.IsUniqueViolation(err) {
			break
		}
	}
	return nil, "", fmt.Errorf("create key: %w", err)
}

// Get returns the key with the given ID, or an error wrapping
// store.ErrNotFound.
func (ks *Keys) Get(ctx context.Context, id string) (*Key, error) {
	row := ks.s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id)
	k, err := scanKey(row)
	if err != nil {
		return nil, notFound(err, "get key", "key")
	}
	return k, nil
}

// List returns the tenant's keys, revoked ones included, oldest first.
func (ks *Keys) List(ctx context.Context, tenantID string) ([]Key, error) {
	rows, err := ks.s.db.QueryContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		out = append(out, *k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

// Update replaces the key's Name, Models, Limits and ExpiresAt with k's.
func (ks *Keys) Update(ctx context.Context, k Key) (*Key, error) {
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("update key: %w", err)
	}
	models, err := encodeModels(k.Models)
	if err != nil {
		return nil, fmt.Errorf("update key: %w", err)
	}
	err = ks.s.write(ctx, Change{Kind: ChangeKey, ID: k.ID}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET name = $2, models = $3, rpm = $4,
			concurrent = $5, tpm = $6, token_quota = $7, expires_at = $8 WHERE id = $1`,
			k.ID, k.Name, models, k.Limits.RPM, k.Limits.Concurrent, k.Limits.TPM, k.Limits.TokenQuota,
			toNullMs(k.ExpiresAt))
		return affectedOne(res, err, "update key", "key")
	})
	if err != nil {
		return nil, err
	}
	return ks.Get(ctx, k.ID)
}

// Revoke ends the key for good. Revoking a revoked key keeps the first time.
func (ks *Keys) Revoke(ctx context.Context, id string) error {
	return ks.s.write(ctx, Change{Kind: ChangeKey, ID: id}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, toMs(ks.s.opts.Now()))
		return affectedOne(res, err, "revoke key", "key")
	})
}

// keyRow holds the scan targets for keyColumns.
type keyRow struct {
	k                      Key
	models                 string
	created                int64
	expires, revoked, used sql.NullInt64
}

func (r *keyRow) dest() []any {
	return []any{&r.k.ID, &r.k.TenantID, &r.k.Name, &r.models, &r.k.Limits.RPM, &r.k.Limits.Concurrent,
		&r.k.Limits.TPM, &r.k.Limits.TokenQuota, &r.expires, &r.revoked, &r.created, &r.used, &r.k.EndUser}
}

func (r *keyRow) key() (*Key, error) {
	k := r.k
	var err error
	if k.Models, err = decodeModels(r.models); err != nil {
		return nil, err
	}
	k.Prefix = keyPrefix + k.ID + "_"
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = fromNullMs(r.expires), fromNullMs(r.revoked), fromNullMs(r.used)
	k.CreatedAt = fromMs(r.created)
	return &k, nil
}

func scanKey(r scanner) (*Key, error) {
	var kr keyRow
	if err := r.Scan(kr.dest()...); err != nil {
		return nil, err
	}
	return kr.key()
}

func (ks *Keys) dropKey(id string) {
	ks.cache.DeleteFunc(func(_ [sha256.Size]byte, e *authEntry) bool { return e.p.Key.ID == id })
}

func (ks *Keys) dropTenant(id string) {
	ks.cache.DeleteFunc(func(_ [sha256.Size]byte, e *authEntry) bool { return e.p.Tenant.ID == id })
}
