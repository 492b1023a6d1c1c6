package account

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// ErrNameTaken is returned (wrapped) when a tenant name is already in use.
var ErrNameTaken error = clienterr.New(clienterr.Conflict, "name already taken")

// Tenant is an organisation that uses the service through its API keys.
type Tenant struct {
	ID   string
	Name string // unique; 1–64 bytes of [A-Za-z0-9._-]
	// DefaultModel is the tenant's bound model: requests without a model, or
	// with model "default", go there. "" leaves the choice to the router.
	DefaultModel string
	Models       []string // allowed public model names; empty = all
	Limits       Limits   // the default limits for each of the tenant's end users
	Disabled     bool     // every key of a disabled tenant fails authentication
	CreatedAt    time.Time
}

// Tenants reads and writes tenants.
type Tenants struct{ s *Service }

const tenantColumns = `id, name, default_model, models, rpm, concurrent, tpm, token_quota, disabled, created_at`

func (t *Tenant) validate() error {
	if len(t.Name) == 0 || len(t.Name) > 64 {
		return invalidf("tenant name must be 1 to 64 bytes")
	}
	for _, c := range []byte(t.Name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return invalidf("tenant name %q: only letters, digits, '.', '_' and '-'", t.Name)
		}
	}
	if len(t.DefaultModel) > 200 {
		return invalidf("default model name longer than 200 bytes")
	}
	return t.Limits.validate()
}

// Create stores a new tenant from t's Name, DefaultModel, Models, Limits and
// Disabled, and returns it with its ID and CreatedAt set.
func (ts *Tenants) Create(ctx context.Context, t Tenant) (*Tenant, error) {
	return createTenant(ctx, ts.s.db, t, ts.s.opts.Now())
}

func createTenant(ctx context.Context, q querier, t Tenant, now time.Time) (*Tenant, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	models, err := encodeModels(t.Models)
	if err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	t.ID = newID("ten_")
	t.CreatedAt = fromMs(toMs(now))
	_, err = q.ExecContext(ctx, `INSERT INTO tenants (`+tenantColumns+`, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		t.ID, t.Name, t.DefaultModel, models, t.Limits.RPM, t.Limits.Concurrent, t.Limits.TPM,
		t.Limits.TokenQuota, t.Disabled, toMs(t.CreatedAt))
	if store.IsUniqueViolation(err) {
		return nil, fmt.Errorf("create tenant %q: %w", t.Name, ErrNameTaken)
	}
	if err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	return &t, nil
}

// Get returns the tenant with the given ID, or an error wrapping
// store.ErrNotFound.
func (ts *Tenants) Get(ctx context.Context, id string) (*Tenant, error) {
	row := ts.s.db.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id)
	t, err := scanTenant(row)
	if err != nil {
		return nil, notFound(err, "get tenant", "tenant")
	}
	return t, nil
}

// GetByName returns the tenant with the given name, or an error wrapping
// store.ErrNotFound.
func (ts *Tenants) GetByName(ctx context.Context, name string) (*Tenant, error) {
	row := ts.s.db.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE name = $1`, name)
	t, err := scanTenant(row)
	if err != nil {
		return nil, notFound(err, "get tenant by name", "tenant")
	}
	return t, nil
}

// List returns all tenants ordered by name.
func (ts *Tenants) List(ctx context.Context) ([]Tenant, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// Update replaces the tenant's Name, DefaultModel, Models, Limits and
// Disabled with t's, and returns the stored tenant.
func (ts *Tenants) Update(ctx context.Context, t Tenant) (*Tenant, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("update tenant: %w", err)
	}
	models, err := encodeModels(t.Models)
	if err != nil {
		return nil, fmt.Errorf("update tenant: %w", err)
	}
	err = ts.s.write(ctx, Change{Kind: ChangeTenant, ID: t.ID}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET name = $2, default_model = $3, models = $4,
			rpm = $5, concurrent = $6, tpm = $7, token_quota = $8, disabled = $9, updated_at = $10 WHERE id = $1`,
			t.ID, t.Name, t.DefaultModel, models, t.Limits.RPM, t.Limits.Concurrent, t.Limits.TPM,
			t.Limits.TokenQuota, t.Disabled, toMs(ts.s.opts.Now()))
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("update tenant %q: %w", t.Name, ErrNameTaken)
		}
		return affectedOne(res, err, "update tenant", "tenant")
	})
	if err != nil {
		return nil, err
	}
	return ts.Get(ctx, t.ID)
}

// Disable marks the tenant disabled: its keys stop authenticating at once
// on this replica, and within CacheTTL (or on notification) elsewhere.
func (ts *Tenants) Disable(ctx context.Context, id string) error {
	return ts.s.write(ctx, Change{Kind: ChangeTenant, ID: id}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET disabled = $2, updated_at = $3 WHERE id = $1`,
			id, true, toMs(ts.s.opts.Now()))
		return affectedOne(res, err, "disable tenant", "tenant")
	})
}

// Delete removes the tenant with its keys, end users and their usage.
func (ts *Tenants) Delete(ctx context.Context, id string) error {
	err := ts.s.write(ctx, Change{Kind: ChangeTenant, ID: id}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM token_usage WHERE subject IN (
			SELECT 'key:' || id FROM api_keys WHERE tenant_id = $1
			UNION ALL SELECT 'user:' || id FROM end_users WHERE tenant_id = $1)`, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1`, id)
		return affectedOne(res, err, "delete", "tenant")
	})
	if err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// tenantRow holds the scan targets for tenantColumns.
type tenantRow struct {
	t       Tenant
	models  string
	created int64
}

func (r *tenantRow) dest() []any {
	return []any{&r.t.ID, &r.t.Name, &r.t.DefaultModel, &r.models, &r.t.Limits.RPM, &r.t.Limits.Concurrent,
		&r.t.Limits.TPM, &r.t.Limits.TokenQuota, &r.t.Disabled, &r.created}
}

func (r *tenantRow) tenant() (*Tenant, error) {
	t := r.t
	var err error
	if t.Models, err = decodeModels(r.models); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMs(r.created)
	return &t, nil
}

func scanTenant(r scanner) (*Tenant, error) {
	var tr tenantRow
	if err := r.Scan(tr.dest()...); err != nil {
		return nil, err
	}
	return tr.tenant()
}

// affectedOne turns "no row matched" into the not-found error of thing,
// and wraps any other error of op.
func affectedOne(res sql.Result, err error, op, thing string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 0 {
		return store.NotFound(thing)
	}
	return nil
}
