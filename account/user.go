package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/internal/ttlcache"
	"github.com/firebreak/firebreak/store"
)

// MaxExternalIDLen bounds EndUser.ExternalID, in bytes.
const MaxExternalIDLen = 256

// ErrBadExternalID is returned (wrapped) for an empty, over-long or
// non-UTF-8 external user id.
var ErrBadExternalID error = clienterr.New(clienterr.InvalidRequest, "external user id must be 1 to 256 bytes of UTF-8")

// EndUser is a person using a tenant's application, known to Firebreak by
// the operator's own id for them. End users are created on first sight.
type EndUser struct {
	ID         string
	TenantID   string
	ExternalID string // the operator's user id: the OpenAI "user" field or a header
	Status     string // "active"; room for real-name and sanction states
	CreatedAt  time.Time
	LastSeenAt time.Time // written in batches, up to TouchInterval late
}

// Users resolves and lists end users.
type Users struct {
	s       *Service
	selStmt *sql.Stmt // selectUser, prepared on the read pool
	cache   *ttlcache.Cache[userKey, *userEntry]
	flight  singleflight.Group
	touched *toucher
}

type userKey struct{ tenantID, externalID string }

type userEntry struct {
	u       *EndUser
	touched atomic.Int64 // unix ms of the last LastSeenAt mark
}

func newUsers(s *Service) *Users {
	return &Users{
		s:       s,
		cache:   ttlcache.New[userKey, *userEntry](s.opts.CacheTTL, s.opts.UserCacheSize),
		touched: newToucher("end_users", "last_seen_at", s.opts.TouchInterval.Milliseconds()),
	}
}

const (
	userColumns = `id, tenant_id, external_id, status, created_at, last_seen_at`
	selectUser  = `SELECT ` + userColumns + ` FROM end_users WHERE tenant_id = $1 AND external_id = $2`
)

// Resolve returns the tenant's end user with the given external id,
// creating it on first sight. It is served from the cache when it can be;
// the returned EndUser is shared: do not modify it.
func (us *Users) Resolve(ctx context.Context, tenantID, externalID string) (*EndUser, error) {
	if externalID == "" || len(externalID) > MaxExternalIDLen || !utf8.ValidString(externalID) {
		return nil, fmt.Errorf("resolve end user: %w", ErrBadExternalID)
	}
	now := us.s.opts.Now()
	k := userKey{tenantID, externalID}
	e, ok := us.cache.Get(k, now)
	if !ok {
		v, err, _ := us.flight.Do(tenantID+"\x00"+externalID, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			gen := us.cache.Generation()
			u, err := us.upsert(ctx, tenantID, externalID, now)
			if err != nil {
				return nil, err
			}
			e := &userEntry{u: u}
			e.touched.Store(toMs(u.LastSeenAt))
			us.cache.PutIfCurrent(k, e, gen, now)
			return e, nil
		})
		if err != nil {
			return nil, fmt.Errorf("resolve end user: %w", err)
		}
		e = v.(*userEntry)
	}
	us.touched.maybe(&e.touched, e.u.ID, now.UnixMilli())
	return e.u, nil
}

// upsert reads the user, and inserts it if it is new. ON CONFLICT DO
// NOTHING makes concurrent first sights on other replicas create one row.
func (us *Users) upsert(ctx context.Context, tenantID, externalID string, now time.Time) (*EndUser, error) {
	u, err := scanUser(us.selStmt.QueryRowContext(ctx, tenantID, externalID))
	if !errors.Is(err, sql.ErrNoRows) {
		return u, err
	}
	_, err = us.s.db.ExecContext(ctx, `INSERT INTO end_users (id, tenant_id, external_id, status, created_at, last_seen_at)
		VALUES ($1, $2, $3, 'active', $4, $4) ON CONFLICT (tenant_id, external_id) DO NOTHING`,
		newID("usr_"), tenantID, externalID, toMs(now))
	if err != nil {
		return nil, err
	}
	// Read through the writer, which has seen the insert (ours or theirs).
	return scanUser(us.s.db.QueryRowContext(ctx, selectUser, tenantID, externalID))
}

// Find returns the tenant's end user with the operator's id externalID,
// without creating one, or an error wrapping store.ErrNotFound.
func (us *Users) Find(ctx context.Context, tenantID, externalID string) (*EndUser, error) {
	u, err := scanUser(us.s.db.Read().QueryRowContext(ctx, selectUser, tenantID, externalID))
	if err != nil {
		return nil, notFound(err, "find end user", "end user "+strconv.Quote(externalID))
	}
	return u, nil
}

// Get returns the end user with the given ID, or an error wrapping
// store.ErrNotFound.
func (us *Users) Get(ctx context.Context, id string) (*EndUser, error) {
	u, err := scanUser(us.s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM end_users WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "get end user", "end user")
	}
	return u, nil
}

// EndUserID turns a reference to an end user into the end user's id, as a
// blacklist entry or a sanction names one: ref itself when it is the id of
// an end user (of tenantID, when given); else, within tenantID, the id of
// the user the operator calls ref, recorded if new. Without a tenant an
// operator's id names no one: ErrBadExternalID.
func (us *Users) EndUserID(ctx context.Context, tenantID, ref string) (string, error) {
	if u, err := us.Get(ctx, ref); err == nil && (tenantID == "" || u.TenantID == tenantID) {
		return u.ID, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if tenantID == "" {
		return "", fmt.Errorf("end user %q: no such end-user id, and the operator's own user ids are per tenant: name the tenant: %w", ref, ErrBadExternalID)
	}
	u, err := us.Resolve(ctx, tenantID, ref)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// List returns up to limit of the tenant's end users (default and maximum
// 1000) with IDs greater than after, ordered by ID: pass the last ID of one
// page as after to get the next.
func (us *Users) List(ctx context.Context, tenantID, after string, limit int) ([]EndUser, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := us.s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM end_users
		WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, tenantID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list end users: %w", err)
	}
	defer rows.Close()
	var out []EndUser
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list end users: %w", err)
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list end users: %w", err)
	}
	return out, nil
}

func scanUser(r scanner) (*EndUser, error) {
	var (
		u             EndUser
		created, seen int64
	)
	if err := r.Scan(&u.ID, &u.TenantID, &u.ExternalID, &u.Status, &created, &seen); err != nil {
		return nil, err
	}
	u.CreatedAt, u.LastSeenAt = fromMs(created), fromMs(seen)
	return &u, nil
}

func (us *Users) dropUser(id string) {
	us.cache.DeleteFunc(func(_ userKey, e *userEntry) bool { return e.u.ID == id })
}

func (us *Users) dropTenant(id string) {
	us.cache.DeleteFunc(func(k userKey, _ *userEntry) bool { return k.tenantID == id })
}
