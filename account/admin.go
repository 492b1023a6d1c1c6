package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBadAdminToken is returned when a presented admin token does not match.
var ErrBadAdminToken = errors.New("invalid admin token")

const (
	adminTokenPrefix  = "fba_"
	adminTokenSetting = "admin_token_sha256"
	defaultTenant     = "default"
)

// BootstrapResult carries the secrets made by the first Bootstrap. They are
// stored only as hashes: print them once.
type BootstrapResult struct {
	AdminToken string // "" unless Created
	FirstKey   string // an API key of the "default" tenant; "" unless Created
	Created    bool
}

// Bootstrap prepares an empty store: it creates the admin token, the
// "default" tenant (unless one exists) and a first API key for it. On a
// store that already has an admin token it does nothing and returns
// Created=false. Concurrent calls on one database create once.
func (s *Service) Bootstrap(ctx context.Context) (BootstrapResult, error) {
	var res BootstrapResult
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res = BootstrapResult{}
		now := s.opts.Now()
		token := adminTokenPrefix + randomString(24)
		r, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, adminTokenSetting, hashHex(token), toMs(now))
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return err // already bootstrapped
		}
		t, err := scanTenant(tx.QueryRowContext(ctx,
			`SELECT `+tenantColumns+` FROM tenants WHERE name = $1`, defaultTenant))
		if errors.Is(err, sql.ErrNoRows) {
			t, err = createTenant(ctx, tx, Tenant{Name: defaultTenant}, now)
		}
		if err != nil {
			return err
		}
		_, key, err := createKey(ctx, tx, Key{TenantID: t.ID, Name: "bootstrap"}, now)
		if err != nil {
			return err
		}
		res = BootstrapResult{AdminToken: token, FirstKey: key, Created: true}
		return s.opts.Bus.PublishTx(ctx, tx, Topic, Change{Kind: ChangeAdmin}.payload())
	})
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("bootstrap: %w", err)
	}
	if res.Created {
		s.Invalidate(Change{Kind: ChangeAdmin})
	}
	return res, nil
}

// CheckAdminToken returns nil if presented is the current admin token and
// ErrBadAdminToken if not. The stored hash is cached for CacheTTL.
func (s *Service) CheckAdminToken(ctx context.Context, presented string) error {
	want, ok := s.admin.get(s.opts.Now())
	if !ok {
		var err error
		if want, err = s.loadAdminHash(ctx); err != nil {
			return err
		}
	}
	got := sha256.Sum256([]byte(presented))
	if want == nil || subtle.ConstantTimeCompare(got[:], want) != 1 {
		return ErrBadAdminToken
	}
	return nil
}

func (s *Service) loadAdminHash(ctx context.Context) ([]byte, error) {
	gen := s.admin.generation()
	var stored string
	err := s.db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, adminTokenSetting).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && stored == disabledToken) {
		return nil, nil // no token: nothing matches
	}
	if err != nil {
		return nil, fmt.Errorf("check admin token: %w", err)
	}
	want, err := hex.DecodeString(stored)
	if err != nil || len(want) != sha256.Size {
		return nil, errors.New("check admin token: stored hash is corrupt")
	}
	s.admin.put(want, gen, s.opts.Now().Add(s.opts.CacheTTL))
	return want, nil
}

// RotateAdminToken replaces the admin token and returns the new one. The
// old one stops working at once here and within CacheTTL elsewhere.
func (s *Service) RotateAdminToken(ctx context.Context) (string, error) {
	token := adminTokenPrefix + randomString(24)
	err := s.write(ctx, Change{Kind: ChangeAdmin}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			adminTokenSetting, hashHex(token), toMs(s.opts.Now()))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rotate admin token: %w", err)
	}
	return token, nil
}

// disabledToken is the stored value of a disabled admin token: it keeps
// the setting's row, so a restart does not bootstrap a new one.
const disabledToken = "disabled"

// DisableAdminToken turns the shared first-start admin token off for good
// (RotateAdminToken makes a new one). It stops working at once here and
// within CacheTTL elsewhere.
func (s *Service) DisableAdminToken(ctx context.Context) error {
	err := s.write(ctx, Change{Kind: ChangeAdmin}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE settings SET value = $1, updated_at = $2 WHERE name = $3`,
			disabledToken, toMs(s.opts.Now()), adminTokenSetting)
		return err
	})
	if err != nil {
		return fmt.Errorf("disable admin token: %w", err)
	}
	return nil
}

// AdminTokenEnabled reports whether the shared admin token works.
func (s *Service) AdminTokenEnabled(ctx context.Context) (bool, error) {
	want, err := s.loadAdminHash(ctx)
	return want != nil, err
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// adminCache holds the admin token's hash for a while.
type adminCache struct {
	mu      sync.Mutex
	hash    []byte
	expires time.Time
	gen     uint64
}

func (c *adminCache) get(now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hash == nil || !now.Before(c.expires) {
		return nil, false
	}
	return c.hash, true
}

func (c *adminCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *adminCache) put(hash []byte, gen uint64, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.hash, c.expires = hash, expires
	}
}

func (c *adminCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.hash = nil
}
