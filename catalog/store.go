package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/store"
)

const (
	kindUpstream = "upstream"
	kindModel    = "model"
	kindRouting  = "routing"
)

// Entry is a catalog entry with where it was defined.
type Entry[T any] struct {
	Value  T      `json:"value"`
	Source Source `json:"source"`
}

func (c *Catalog) load(ctx context.Context) (entries, error) {
	var out entries
	rows, err := c.db.Read().QueryContext(ctx, `SELECT kind, body FROM catalog_entries ORDER BY kind, name`)
	if err != nil {
		return out, fmt.Errorf("load catalog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, body string
		if err := rows.Scan(&kind, &body); err != nil {
			return out, fmt.Errorf("load catalog: %w", err)
		}
		if err := out.add(kind, []byte(body)); err != nil {
			return out, fmt.Errorf("load catalog: %w", err)
		}
	}
	return out, rows.Err()
}

func (e *entries) add(kind string, body []byte) error {
	switch kind {
	case kindUpstream:
		var u config.Upstream
		if err := json.Unmarshal(body, &u); err != nil {
			return err
		}
		e.upstreams = append(e.upstreams, u)
	case kindModel:
		var m config.Model
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		e.models = append(e.models, m)
	case kindRouting:
		var r config.Routing
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		e.routing = &r
	}
	return nil
}

// change applies edit to the stored entries, builds a router from the
// result, and only if that works stores the change and swaps the router.
func (c *Catalog) change(ctx context.Context, kind, name string, value any, edit func(*entries)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stored, err := c.load(ctx)
	if err != nil {
		return err
	}
	edit(&stored)
	r, isDemo, err := c.build(stored)
	if err != nil {
		return &InvalidError{Err: err}
	}
	err = c.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := save(ctx, tx, kind, name, value); err != nil {
			return err
		}
		return c.opts.Bus.PublishTx(ctx, tx, topic, kind+":"+name)
	})
	if err != nil {
		_ = r.Close()
		return err
	}
	c.swap(r, isDemo)
	return nil
}

// InvalidError reports a change that would not build a working router.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return "invalid catalog change: " + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// ClientCode makes a rejected change a 400 whose message is the error's own.
func (*InvalidError) ClientCode() clienterr.Code { return clienterr.InvalidRequest }

// save stores value under (kind, name) in tx, or deletes the row when
// value is nil.
func save(ctx context.Context, tx *sql.Tx, kind, name string, value any) error {
	if value == nil {
		res, err := tx.ExecContext(ctx, `DELETE FROM catalog_entries WHERE kind = $1 AND name = $2`, kind, name)
		if err != nil {
			return fmt.Errorf("delete %s %q: %w", kind, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound(kind + " " + strconv.Quote(name))
		}
		return nil
	}
	body, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO catalog_entries (kind, name, body, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
		kind, name, string(body), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store %s %q: %w", kind, name, err)
	}
	return nil
}

// PutUpstream adds or replaces an upstream. Secrets are not stored in the
// database: its API key is given as api_key_env and header values as
// headers_env (names of environment variables of the server); an api_key,
// literal header values and credentials in base_url are refused.
func (c *Catalog) PutUpstream(ctx context.Context, u config.Upstream) error {
	switch {
	case u.APIKey != "":
		return &InvalidError{Err: errors.New("api_key is not stored: set api_key_env to the name of an environment variable that holds it")}
	case len(u.Headers) > 0:
		return &InvalidError{Err: errors.New("header values are not stored: set headers_env, mapping each header to the name of an environment variable that holds its value")}
	case hasUserinfo(u.BaseURL):
		return &InvalidError{Err: errors.New("credentials in base_url are not stored: give the key in api_key_env or a header in headers_env")}
	}
	if c.isStatic(kindUpstream, u.Name) {
		return nameErr("upstream", u.Name)
	}
	return c.change(ctx, kindUpstream, u.Name, u, func(e *entries) {
		e.upstreams = replace(e.upstreams, u, func(x config.Upstream) bool { return x.Name == u.Name })
	})
}

// DeleteUpstream removes a stored upstream.
func (c *Catalog) DeleteUpstream(ctx context.Context, name string) error {
	if c.isStatic(kindUpstream, name) {
		return nameErr("upstream", name)
	}
	return c.change(ctx, kindUpstream, name, nil, func(e *entries) {
		e.upstreams = slices.DeleteFunc(e.upstreams, func(x config.Upstream) bool { return x.Name == name })
	})
}

// PutModel adds or replaces a public model.
func (c *Catalog) PutModel(ctx context.Context, m config.Model) error {
	if c.isStatic(kindModel, m.Name) {
		return nameErr("model", m.Name)
	}
	return c.change(ctx, kindModel, m.Name, m, func(e *entries) {
		e.models = replace(e.models, m, func(x config.Model) bool { return x.Name == m.Name })
	})
}

// DeleteModel removes a stored public model.
func (c *Catalog) DeleteModel(ctx context.Context, name string) error {
	if c.isStatic(kindModel, name) {
		return nameErr("model", name)
	}
	return c.change(ctx, kindModel, name, nil, func(e *entries) {
		e.models = slices.DeleteFunc(e.models, func(x config.Model) bool { return x.Name == name })
	})
}

// PutRouting replaces the routing rules; stored rules take the place of the
// config file's.
func (c *Catalog) PutRouting(ctx context.Context, r config.Routing) error {
	return c.change(ctx, kindRouting, kindRouting, r, func(e *entries) { e.routing = &r })
}

func (c *Catalog) isStatic(kind, name string) bool {
	switch kind {
	case kindUpstream:
		return slices.ContainsFunc(c.static.Upstreams, func(u config.Upstream) bool { return u.Name == name })
	case kindModel:
		return slices.ContainsFunc(c.static.Models, func(m config.Model) bool { return m.Name == name })
	}
	return false
}

func replace[T any](list []T, v T, same func(T) bool) []T {
	if i := slices.IndexFunc(list, same); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}

// Upstreams lists every upstream with its source; API keys are redacted.
func (c *Catalog) Upstreams(ctx context.Context) ([]Entry[config.Upstream], error) {
	stored, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry[config.Upstream]
	for _, u := range c.static.Upstreams {
		out = append(out, Entry[config.Upstream]{Value: redact(u), Source: SourceConfig})
	}
	for _, u := range stored.upstreams {
		out = append(out, Entry[config.Upstream]{Value: redact(u), Source: SourceAdmin})
	}
	if c.Demo() {
		d := fromUpstream(demoUpstream())
		out = append(out, Entry[config.Upstream]{Value: d, Source: SourceDemo})
	}
	return out, nil
}

func redact(u config.Upstream) config.Upstream { return u.Redacted() }

func hasUserinfo(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.User != nil
}

// Models lists every public model with its source.
func (c *Catalog) Models(ctx context.Context) ([]Entry[config.Model], error) {
	stored, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry[config.Model]
	for _, m := range c.static.Models {
		out = append(out, Entry[config.Model]{Value: m, Source: SourceConfig})
	}
	for _, m := range stored.models {
		out = append(out, Entry[config.Model]{Value: m, Source: SourceAdmin})
	}
	if c.Demo() {
		out = append(out, Entry[config.Model]{Value: fromModel(demoModel()), Source: SourceDemo})
	}
	return out, nil
}

// Routing returns the routing rules in force and their source.
func (c *Catalog) Routing(ctx context.Context) (Entry[config.Routing], error) {
	var body string
	err := c.db.Read().QueryRowContext(ctx, `SELECT body FROM catalog_entries WHERE kind = $1 AND name = $1`, kindRouting).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Entry[config.Routing]{Value: c.static.Routing, Source: SourceConfig}, nil
	case err != nil:
		return Entry[config.Routing]{}, fmt.Errorf("load routing: %w", err)
	}
	var r config.Routing
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return Entry[config.Routing]{}, fmt.Errorf("load routing: %w", err)
	}
	return Entry[config.Routing]{Value: r, Source: SourceAdmin}, nil
}
