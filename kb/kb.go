package kb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb/support"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// Topic is the change-bus topic of grounding settings: every replica
// reloads them when a route's settings change.
const Topic = "kb.grounding"

// Options configure a Service. DB is required.
type Options struct {
	DB *store.DB
	// Bus carries changes of grounding settings to every replica.
	// Default notify.Discard.
	Bus notify.Bus
	// Chunk shapes the chunks of documents. Defaults: ChunkOptions'.
	Chunk ChunkOptions
	// Logger receives reload failures. Default: discard.
	Logger *slog.Logger
	// Now is the clock of created_at. Default time.Now.
	Now func() time.Time
}

// Service holds the knowledge bases and the grounding settings of routes.
type Service struct {
	db        *store.DB
	bus       notify.Bus
	chunk     ChunkOptions
	log       *slog.Logger
	now       func() time.Time
	grounding atomic.Pointer[map[string]Grounding]
	cancel    func()
}

// New opens the service and loads the grounding settings.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("kb: DB is required")
	}
	if opts.Bus == nil {
		opts.Bus = notify.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{db: opts.DB, bus: opts.Bus, chunk: opts.Chunk.withDefaults(), log: opts.Logger, now: opts.Now}
	s.cancel = s.bus.Subscribe(Topic, func(string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.reload(ctx); err != nil {
			s.log.Error("reload grounding settings", "err", err)
		}
	})
	if err := s.reload(ctx); err != nil {
		s.cancel()
		return nil, err
	}
	return s, nil
}

// Close stops following changes.
func (s *Service) Close() { s.cancel() }

// Base is a knowledge base.
type Base struct {
	Name string `json:"name"`
	// Route is the public model the base serves; "" serves every
	// grounded route.
	Route string `json:"route,omitempty"`
	// Tenant is the tenant (by name) the base serves; "" serves all.
	Tenant      string    `json:"tenant,omitempty"`
	Description string    `json:"description,omitempty"`
	Documents   int       `json:"documents"`
	Chunks      int64     `json:"chunks"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ErrBaseExists is returned by CreateBase for a name in use.
var ErrBaseExists = clienterr.New(clienterr.Conflict, "a knowledge base of that name exists")

// CreateBase creates an empty knowledge base.
func (s *Service) CreateBase(ctx context.Context, b Base) (Base, error) {
	if !validName.MatchString(b.Name) {
		return Base{}, clienterr.Errorf(clienterr.InvalidRequest, "name must be 1-64 letters, digits, '.', '_' or '-'")
	}
	if len(b.Route) > 256 || len(b.Tenant) > 256 || len(b.Description) > 1000 {
		return Base{}, clienterr.Errorf(clienterr.InvalidRequest, "route, tenant or description too long")
	}
	b.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	b.Documents, b.Chunks = 0, 0
	res, err := s.db.ExecContext(ctx, `INSERT INTO kb_bases (name, route, tenant, description, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING`,
		b.Name, b.Route, b.Tenant, b.Description, b.CreatedBy, b.CreatedAt.UnixMilli())
	if err != nil {
		return Base{}, fmt.Errorf("create knowledge base: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Base{}, ErrBaseExists
	}
	return b, nil
}

const baseColumns = `b.name, b.route, b.tenant, b.description, b.chunks, b.created_by, b.created_at,
	(SELECT count(*) FROM kb_documents d WHERE d.base = b.name)`

func scanBase(sc interface{ Scan(...any) error }) (Base, error) {
	var b Base
	var at int64
	err := sc.Scan(&b.Name, &b.Route, &b.Tenant, &b.Description, &b.Chunks, &b.CreatedBy, &at, &b.Documents)
	b.CreatedAt = time.UnixMilli(at).UTC()
	return b, err
}

// Bases lists the knowledge bases by name.
func (s *Service) Bases(ctx context.Context) ([]Base, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+baseColumns+` FROM kb_bases b ORDER BY b.name`)
	if err != nil {
		return nil, fmt.Errorf("list knowledge bases: %w", err)
	}
	defer rows.Close()
	var out []Base
	for rows.Next() {
		b, err := scanBase(rows)
		if err != nil {
			return nil, fmt.Errorf("list knowledge bases: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Base returns one knowledge base.
func (s *Service) Base(ctx context.Context, name string) (Base, error) {
	b, err := scanBase(s.db.Read().QueryRowContext(ctx, `SELECT `+baseColumns+` FROM kb_bases b WHERE b.name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Base{}, store.NotFound(fmt.Sprintf("knowledge base %q", name))
	}
	if err != nil {
		return Base{}, fmt.Errorf("knowledge base: %w", err)
	}
	return b, nil
}

// RemoveBase removes a knowledge base and all its documents.
func (s *Service) RemoveBase(ctx context.Context, name string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM kb_bases WHERE name = $1`, name).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return store.NotFound(fmt.Sprintf("knowledge base %q", name))
		} else if err != nil {
			return err
		}
		if s.db.Dialect() == store.SQLite {
			if _, err := tx.ExecContext(ctx, `DELETE FROM kb_fts WHERE rowid IN (SELECT id FROM kb_chunks WHERE base = $1)`, name); err != nil {
				return fmt.Errorf("remove knowledge base: %w", err)
			}
		} else if _, err := tx.ExecContext(ctx, `DELETE FROM kb_terms WHERE base = $1`, name); err != nil {
			return fmt.Errorf("remove knowledge base: %w", err)
		}
		for _, q := range []string{`DELETE FROM kb_chunks WHERE base = $1`, `DELETE FROM kb_documents WHERE base = $1`, `DELETE FROM kb_bases WHERE name = $1`} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return fmt.Errorf("remove knowledge base: %w", err)
			}
		}
		return nil
	})
}

// Document is a document of a knowledge base, as indexed.
type Document struct {
	ID        int64     `json:"id"`
	Base      string    `json:"base"`
	Title     string    `json:"title"`
	Format    string    `json:"format"`
	SHA256    string    `json:"sha256"`
	Bytes     int64     `json:"bytes"`
	Chunks    int       `json:"chunks"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// NewDocument is a document to add: its bytes as uploaded.
type NewDocument struct {
	Title  string // shown in citations; usually the file name
	Format string // FormatText … ; "" takes it from Title's extension
	Data   []byte
	Author string
}

// ErrDuplicate is returned by AddDocument for a file the base holds.
var ErrDuplicate = clienterr.New(clienterr.Conflict, "the knowledge base already holds this document")

// AddDocument extracts, chunks and indexes a document.
func (s *Service) AddDocument(ctx context.Context, base string, nd NewDocument) (Document, error) {
	nd.Title = strings.TrimSpace(nd.Title)
	if nd.Title == "" || len(nd.Title) > 512 {
		return Document{}, clienterr.Errorf(clienterr.InvalidRequest, "a document needs a title of at most 512 bytes")
	}
	if nd.Format == "" {
		nd.Format = FormatOf(nd.Title)
	}
	text, err := Extract(nd.Format, nd.Data)
	if err != nil {
		return Document{}, err
	}
	sum := sha256.Sum256(nd.Data)
	d := Document{Base: base, Title: nd.Title, Format: nd.Format, SHA256: hex.EncodeToString(sum[:]),
		Bytes: int64(len(nd.Data)), CreatedBy: nd.Author, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	chunks := Chunk(text, s.chunk)
	d.Chunks = len(chunks)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM kb_bases WHERE name = $1`, base).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return store.NotFound(fmt.Sprintf("knowledge base %q", base))
		} else if err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO kb_documents (base, title, format, sha256, bytes, chunks, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (base, sha256) DO NOTHING RETURNING id`,
			base, d.Title, d.Format, d.SHA256, d.Bytes, d.Chunks, d.CreatedBy, d.CreatedAt.UnixMilli()).Scan(&d.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDuplicate
		}
		if err != nil {
			return err
		}
		return s.index(ctx, tx, d, chunks)
	})
	if err != nil {
		return Document{}, fmt.Errorf("add document: %w", err)
	}
	return d, nil
}

// index writes a document's chunks and their index entries, and the
// base's totals.
func (s *Service) index(ctx context.Context, tx *sql.Tx, d Document, chunks []string) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO kb_chunks (document_id, base, seq, text, terms, length) VALUES ($1, $2, $3, $4, $5, $6)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	var total int64
	for i, c := range chunks {
		terms := support.Terms(c)
		total += int64(len(terms))
		if _, err := ins.ExecContext(ctx, d.ID, d.Base, i, c, strings.Join(terms, " "), len(terms)); err != nil {
			return err
		}
	}
	if s.db.Dialect() == store.SQLite {
		_, err = tx.ExecContext(ctx, `INSERT INTO kb_fts (rowid, terms) SELECT id, terms FROM kb_chunks WHERE document_id = $1`, d.ID)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO kb_terms (base, term, df)
			SELECT $2, u.lexeme, count(*) FROM kb_chunks c, unnest(c.tsv) u WHERE c.document_id = $1 GROUP BY u.lexeme
			ON CONFLICT (base, term) DO UPDATE SET df = kb_terms.df + EXCLUDED.df`, d.ID, d.Base)
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE kb_bases SET chunks = chunks + $2, terms = terms + $3 WHERE name = $1`, d.Base, len(chunks), total)
	return err
}

// Documents lists a base's documents, oldest first.
func (s *Service) Documents(ctx context.Context, base string) ([]Document, error) {
	if _, err := s.Base(ctx, base); err != nil {
		return nil, err
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, base, title, format, sha256, bytes, chunks, created_by, created_at
		FROM kb_documents WHERE base = $1 ORDER BY id`, base)
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		var d Document
		var at int64
		if err := rows.Scan(&d.ID, &d.Base, &d.Title, &d.Format, &d.SHA256, &d.Bytes, &d.Chunks, &d.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("list documents: %w", err)
		}
		d.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// RemoveDocument removes a document and its chunks from the index.
func (s *Service) RemoveDocument(ctx context.Context, base string, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var chunks int64
		if err := tx.QueryRowContext(ctx, `SELECT chunks FROM kb_documents WHERE base = $1 AND id = $2`, base, id).Scan(&chunks); errors.Is(err, sql.ErrNoRows) {
			return store.NotFound(fmt.Sprintf("document %d of knowledge base %q", id, base))
		} else if err != nil {
			return err
		}
		var total int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(length), 0) FROM kb_chunks WHERE document_id = $1`, id).Scan(&total); err != nil {
			return err
		}
		var err error
		if s.db.Dialect() == store.SQLite {
			_, err = tx.ExecContext(ctx, `DELETE FROM kb_fts WHERE rowid IN (SELECT id FROM kb_chunks WHERE document_id = $1)`, id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE kb_terms k SET df = k.df - x.n
				FROM (SELECT u.lexeme AS term, count(*) AS n FROM kb_chunks c, unnest(c.tsv) u WHERE c.document_id = $1 GROUP BY u.lexeme) x
				WHERE k.base = $2 AND k.term = x.term`, id, base)
			if err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM kb_terms WHERE base = $1 AND df <= 0`, base)
			}
		}
		if err != nil {
			return fmt.Errorf("remove document: %w", err)
		}
		for _, q := range []string{`DELETE FROM kb_chunks WHERE document_id = $1`, `DELETE FROM kb_documents WHERE id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("remove document: %w", err)
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE kb_bases SET chunks = chunks - $2, terms = terms - $3 WHERE name = $1`, base, chunks, total)
		return err
	})
}
