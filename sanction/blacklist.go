package sanction

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/safety/pii"
	"github.com/firebreak/firebreak/store"
)

// Kind names what a blacklist entry matches.
type Kind string

const (
	KindUser     Kind = "user"      // an end-user id
	KindPhone    Kind = "phone"     // a keyed hash of a phone number
	KindIDNumber Kind = "id_number" // a keyed hash of an identity number
	KindIP       Kind = "ip"        // an IPv4 or IPv6 address or prefix
	KindDevice   Kind = "device"    // a device id
)

// MaxValueLen bounds an entry's value, in bytes.
const MaxValueLen = 256

// Entry is one blacklist entry.
type Entry struct {
	ID       string
	TenantID string // "" applies to every tenant
	Kind     Kind
	// Value is the end-user or device id, the canonical IP prefix
	// ("192.0.2.0/24", "2001:db8::/32", "192.0.2.7/32"; an IPv6 address
	// given alone is stored as its /64), or the hex
	// HMAC-SHA-256 of a phone or identity number.
	Value     string
	Reason    string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never

	prefix netip.Prefix // for KindIP
}

func (e *Entry) liveAt(t time.Time) bool { return e.ExpiresAt.IsZero() || t.Before(e.ExpiresAt) }

// Subject is who and where a request comes from, as far as the gateway
// knows. Empty fields are not checked.
type Subject struct {
	TenantID  string
	EndUserID string
	IP        netip.Addr
	DeviceID  string
	PhoneHash string // from HashPhone
	IDHash    string // from HashIDNumber
}

// blacklist is the in-memory index and the locks around it.
type blacklist struct {
	// loadMu serialises reloads and single-entry refreshes, so a refresh
	// never lands in an index that a reload is about to replace.
	loadMu sync.Mutex
	mu     sync.RWMutex
	ix     *index
}

func newBlacklist() *blacklist { return &blacklist{ix: newIndex()} }

// Blocked reports the blacklist entry that matches sub, if any: the
// subject's tenant's entries first, then those for every tenant. It reads
// memory only. The Entry is shared: do not modify it.
func (s *Service) Blocked(_ context.Context, sub Subject) (*Entry, bool) {
	now := s.opts.Now()
	s.bl.mu.RLock()
	defer s.bl.mu.RUnlock()
	if sub.TenantID != "" {
		if e := s.bl.ix.lookup(sub.TenantID, &sub, now); e != nil {
			return e, true
		}
	}
	if e := s.bl.ix.lookup("", &sub, now); e != nil {
		return e, true
	}
	return nil, false
}

// HashPhone returns the keyed hash of a phone number, as identity stores
// a verified one and as passed in Subject.PhoneHash (package idhash): a
// mainland mobile number however written hashes as its 11 digits, any
// other as its digits.
func (s *Service) HashPhone(phone string) (string, error) {
	h, err := s.hash.Phone(phone)
	if err != nil {
		return "", &clienterr.Error{Code: clienterr.InvalidRequest, Param: "value", Err: err,
			Message: "phone: want a mainland mobile number or 5 to 20 digits"}
	}
	return h, nil
}

// HashIDNumber returns the keyed hash of an identity number, as identity
// stores a verified one and as passed in Subject.IDHash. Spaces are
// ignored and letters compared in upper case (the check character X); a
// first-generation 15-digit resident ID number hashes as the 18-character
// number that replaced it, the only form identity verifies.
func (s *Service) HashIDNumber(id string) (string, error) {
	if id18, ok := pii.UpgradeID15(strings.ReplaceAll(strings.TrimSpace(id), " ", "")); ok {
		id = id18
	}
	h, err := s.hash.IDNumber(id)
	if err != nil {
		return "", &clienterr.Error{Code: clienterr.InvalidRequest, Param: "value", Err: err,
			Message: "identity number: want 5 to 32 letters and digits"}
	}
	return h, nil
}

func isHash(v string) bool {
	if len(v) != 64 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil && strings.ToLower(v) == v
}

// normalise checks e and puts its value in canonical form. A plain phone
// or identity number is replaced by its keyed hash here, before it goes
// anywhere else.
func (s *Service) normalise(ctx context.Context, e *Entry, now time.Time) error {
	if e.Reason == "" || e.CreatedBy == "" {
		return clienterr.Errorf(clienterr.InvalidRequest, "reason and creator are required")
	}
	if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now) {
		return clienterr.Errorf(clienterr.InvalidRequest, "expiry is in the past")
	}
	var err error
	switch e.Kind {
	case KindUser, KindDevice:
		e.Value = strings.TrimSpace(e.Value) // as requests name them: the user trimmed, headers read trimmed
		if e.Value == "" || len(e.Value) > MaxValueLen || !utf8.ValidString(e.Value) {
			err = clienterr.Errorf(clienterr.InvalidRequest, "%s must be 1 to %d bytes of UTF-8", e.Kind, MaxValueLen)
		} else if e.Kind == KindUser && s.opts.Users != nil {
			e.Value, err = s.opts.Users.EndUserID(ctx, e.TenantID, e.Value)
		}
	case KindPhone:
		if !isHash(e.Value) {
			e.Value, err = s.HashPhone(e.Value)
		}
	case KindIDNumber:
		if !isHash(e.Value) {
			e.Value, err = s.HashIDNumber(e.Value)
		}
	case KindIP:
		e.prefix, err = parsePrefix(e.Value)
		e.Value = e.prefix.String()
		if err != nil {
			err = clienterr.Wrap(clienterr.InvalidRequest, err, err.Error())
		}
	default:
		err = clienterr.Errorf(clienterr.InvalidRequest, "kind %q: want user, phone, id_number, ip or device", e.Kind)
	}
	return err
}

// parsePrefix accepts an address or a prefix; an IPv4-mapped IPv6 address
// is taken as IPv4, and host bits are cleared. An IPv6 address without a
// prefix length stands for its /64: one host holds the whole /64 and
// moves within it (temporary addresses change by themselves), as the
// throttles by address count it; "/128" names one address.
func parsePrefix(v string) (netip.Prefix, error) {
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("ip: %w", err)
		}
		a = a.Unmap().WithZone("")
		if a.Is6() {
			return netip.PrefixFrom(a, 64).Masked(), nil
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ip: %w", err)
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

const entryColumns = `id, tenant_id, kind, value, reason, created_by, created_at, expires_at`

// AddEntry puts e on the blacklist, or updates the reason, creator and expiry
// of the entry with the same tenant, kind and value. For KindPhone and
// KindIDNumber, Value may be the plain number (hashed here, never stored)
// or its hash. It returns the stored entry, which is enforced on this
// replica at once and on the others as soon as the notice arrives.
func (s *Service) AddEntry(ctx context.Context, e Entry) (*Entry, error) {
	now := s.opts.Now()
	if err := s.normalise(ctx, &e, now); err != nil {
		return nil, fmt.Errorf("add blacklist entry: %w", err)
	}
	var id string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO blacklist (`+entryColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (tenant_id, kind, value) DO UPDATE SET reason = excluded.reason,
				created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at
			RETURNING id`,
			newID("blk_"), e.TenantID, string(e.Kind), e.Value, e.Reason, e.CreatedBy, now.UnixMilli(), nullMs(e.ExpiresAt),
		).Scan(&id)
		if err != nil {
			return err
		}
		return s.opts.Bus.PublishTx(ctx, tx, TopicBlacklist, id)
	})
	if err != nil {
		return nil, fmt.Errorf("add blacklist entry: %w", err)
	}
	out, err := s.refresh(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("add blacklist entry: %w", err)
	}
	return out, nil
}

// RemoveEntry deletes a blacklist entry, or returns an error wrapping
// store.ErrNotFound.
func (s *Service) RemoveEntry(ctx context.Context, id string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blacklist WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(store.NotFound("blacklist entry "+id), err)
		}
		return s.opts.Bus.PublishTx(ctx, tx, TopicBlacklist, id)
	})
	if err != nil {
		return fmt.Errorf("remove blacklist entry %s: %w", id, err)
	}
	if _, err := s.refresh(ctx, id); err != nil {
		s.opts.Logger.Error("refresh blacklist", "id", id, "err", err)
	}
	return nil
}

// onBlacklist applies a change another replica made.
func (s *Service) onBlacklist(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.refresh(ctx, id); err != nil {
		s.opts.Logger.Error("refresh blacklist", "id", id, "err", err)
	}
}

// refresh reads one entry and puts it in the index, or takes it out when
// it is gone. It returns the entry, or nil when it is gone.
func (s *Service) refresh(ctx context.Context, id string) (*Entry, error) {
	s.bl.loadMu.Lock()
	defer s.bl.loadMu.Unlock()
	e, err := scanEntry(s.db.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM blacklist WHERE id = $1`, id))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	s.bl.mu.Lock()
	defer s.bl.mu.Unlock()
	if e == nil {
		s.bl.ix.remove(id)
		return nil, nil
	}
	s.bl.ix.put(e)
	return e, nil
}

// reload rebuilds the index from the database, leaving out expired
// entries.
func (s *Service) reload(ctx context.Context) error {
	s.bl.loadMu.Lock()
	defer s.bl.loadMu.Unlock()
	rows, err := s.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM blacklist
		WHERE expires_at IS NULL OR expires_at > $1`, s.opts.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("load blacklist: %w", err)
	}
	defer rows.Close()
	ix := newIndex()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("load blacklist: %w", err)
		}
		ix.put(e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load blacklist: %w", err)
	}
	s.bl.mu.Lock()
	s.bl.ix = ix
	s.bl.mu.Unlock()
	return nil
}

func scanEntry(r scanner) (*Entry, error) {
	var (
		e       Entry
		kind    string
		created int64
		expires sql.NullInt64
	)
	if err := r.Scan(&e.ID, &e.TenantID, &kind, &e.Value, &e.Reason, &e.CreatedBy, &created, &expires); err != nil {
		return nil, err
	}
	e.Kind, e.CreatedAt = Kind(kind), fromMs(created)
	if expires.Valid {
		e.ExpiresAt = fromMs(expires.Int64)
	}
	if e.Kind == KindIP {
		p, err := parsePrefix(e.Value)
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", e.ID, err)
		}
		e.prefix = p
	}
	return &e, nil
}

// Filter selects blacklist entries for Entries.
type Filter struct {
	TenantID  string // with AnyTenant false: only this tenant's ("" : entries for every tenant)
	AnyTenant bool   // all entries, whatever the tenant
	Kind      Kind   // "": every kind
	After     string // the last ID of the previous page
	Limit     int    // default and maximum 1000
}

// Entries returns blacklist entries ordered by ID, expired ones included.
func (s *Service) Entries(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM blacklist
		WHERE ($1 OR tenant_id = $2) AND ($3 = '' OR kind = $3) AND id > $4 ORDER BY id LIMIT $5`,
		f.AnyTenant, f.TenantID, string(f.Kind), f.After, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list blacklist: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list blacklist: %w", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list blacklist: %w", err)
	}
	return out, nil
}
