package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/store"
)

// Complaint statuses. A complaint is overdue when its deadline has passed
// and it is neither answered nor closed.
const (
	StatusOpen     = "open"
	StatusInReview = "in_review"
	StatusAnswered = "answered"
	StatusClosed   = "closed"
)

// DefaultDeadline is the default time to answer a complaint. Art. 15 of the
// Interim Measures asks for a published feedback deadline without fixing
// one; 15 days is the project's default.
const DefaultDeadline = 15 * 24 * time.Hour

// Limits on what a complainant may send, in bytes.
const (
	maxComplaintText = 16 << 10
	maxShortField    = 256
)

// Complaint is one complaint or report from the public (Art. 15).
type Complaint struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	TenantID string    `json:"tenant_id,omitempty"`
	// EndUser is the end user the complaint was filed for, when the key
	// that filed it belongs to one: only that user's key reads it back.
	EndUser    string    `json:"end_user,omitempty"`
	RequestID  string    `json:"request_id,omitempty"` // the response complained about, if any
	Category   string    `json:"category"`             // e.g. "illegal_content", "personal_data", "other"
	Text       string    `json:"text"`                 // may hold personal data: sealed at rest when a keyring is set
	Contact    string    `json:"contact,omitempty"`    // personal data: sealed at rest when a keyring is set
	Status     string    `json:"status"`
	Deadline   time.Time `json:"deadline"`
	Answer     string    `json:"answer,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	AnsweredBy string    `json:"answered_by,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Overdue reports whether c is past its deadline and not answered or closed.
func (c *Complaint) Overdue(now time.Time) bool {
	return now.After(c.Deadline) && c.Status != StatusAnswered && c.Status != StatusClosed
}

// Enqueuer puts a new complaint into the human review queue.
type Enqueuer interface {
	EnqueueComplaint(ctx context.Context, c Complaint) error
}

// ComplaintOptions configures NewComplaints.
type ComplaintOptions struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Keys seals complaint texts and contact details, which may hold
	// personal data. Nil: they are stored as given, so the database then
	// holds them in plaintext.
	Keys *Keyring
	// Deadline is the time to answer, counted from intake. Default
	// DefaultDeadline (15 days).
	Deadline time.Duration
	// Queue, if set, receives every new complaint after it is stored,
	// without the contact. A queue error is logged; the complaint stays.
	Queue Enqueuer
	// Logger receives queue errors. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Complaints is the complaint intake and its workflow.
type Complaints struct {
	db   *store.DB
	opts ComplaintOptions
}

// NewComplaints validates opts.
func NewComplaints(opts ComplaintOptions) (*Complaints, error) {
	if opts.DB == nil {
		return nil, errors.New("complaints: Options.DB is required")
	}
	if opts.Deadline < 0 {
		return nil, errors.New("complaints: negative Deadline")
	}
	if opts.Deadline == 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Complaints{db: opts.DB, opts: opts}, nil
}

func (c Complaint) validate() error {
	switch {
	case strings.TrimSpace(c.Text) == "":
		return clienterr.Errorf(clienterr.InvalidRequest, "complaint text is required")
	case len(c.Text) > maxComplaintText:
		return clienterr.Errorf(clienterr.InvalidRequest, "complaint text is longer than %d bytes", maxComplaintText)
	case c.Category == "" || len(c.Category) > maxShortField:
		return clienterr.Errorf(clienterr.InvalidRequest, "complaint category is required (at most 256 bytes)")
	case len(c.Contact) > maxShortField || len(c.RequestID) > maxShortField || len(c.TenantID) > maxShortField:
		return clienterr.Errorf(clienterr.InvalidRequest, "complaint contact, request id and tenant id are at most 256 bytes")
	}
	return nil
}

// Create stores a new open complaint with its deadline and hands it to the
// review queue. ID, Time, Status, Deadline and the answer fields are set
// here; what the caller put in them is ignored.
func (s *Complaints) Create(ctx context.Context, c Complaint) (*Complaint, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("create complaint: %w", err)
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	c.ID = "c" + NewID(now)
	c.Time, c.UpdatedAt, c.Status, c.Deadline = now, now, StatusOpen, now.Add(s.opts.Deadline)
	c.Text, c.Category = cleanN(c.Text, maxComplaintText), clean(c.Category)
	c.Answer, c.AnsweredBy, c.AnsweredAt = "", "", time.Time{}
	contact, key := c.Contact, ""
	if s.opts.Keys != nil && contact != "" {
		contact, key = s.opts.Keys.sealString(contact, contactAAD(c.ID)), s.opts.Keys.Current()
	}
	text, textKey := c.Text, ""
	if s.opts.Keys != nil {
		text, textKey = s.opts.Keys.sealString(text, textAAD(c.ID)), s.opts.Keys.Current()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_complaints (id, time_ms, tenant_id, request_id,
		category, text, contact, contact_key, status, deadline_ms, answer, answered_at, answered_by, updated_at,
		end_user, text_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', NULL, '', $11, $12, $13)`,
		c.ID, now.UnixMilli(), clean(c.TenantID), clean(c.RequestID), c.Category, text, contact, key,
		c.Status, c.Deadline.UnixMilli(), now.UnixMilli(), clean(c.EndUser), textKey)
	if err != nil {
		return nil, fmt.Errorf("create complaint: %w", err)
	}
	if s.opts.Queue != nil {
		queued := c
		queued.Contact = ""
		if err := s.opts.Queue.EnqueueComplaint(ctx, queued); err != nil {
			s.opts.Logger.Error("complaint not queued for review", "complaint_id", c.ID, "err", err)
		}
	}
	return &c, nil
}

// ForgetUser erases the text and contact of every complaint filed for
// one end user (the operator's id, as a key of that user files them), at
// the user's request (Interim Measures Art. 11). The complaints stay,
// with their category, status, deadline and answer, so the intake's
// record of them holds. It returns how many were erased.
func (s *Complaints) ForgetUser(ctx context.Context, tenantID, endUser string) (int64, error) {
	if tenantID == "" || endUser == "" {
		return 0, errors.New("forget complaints: tenant and end user are required")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE audit_complaints SET text = '', text_key = '', contact = '', contact_key = '',
		updated_at = $1 WHERE tenant_id = $2 AND end_user = $3 AND (text <> '' OR contact <> '')`,
		s.opts.Now().UnixMilli(), tenantID, endUser)
	if err != nil {
		return 0, fmt.Errorf("forget complaints: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func contactAAD(id string) string { return "firebreak-complaint-contact:" + id }
func textAAD(id string) string    { return "firebreak-complaint-text:" + id }

const complaintColumns = `id, time_ms, tenant_id, request_id, category, text, contact, contact_key,
	status, deadline_ms, answer, answered_at, answered_by, updated_at, end_user, text_key`

// scan reads one complaint row and opens its contact. A contact sealed
// with a key that is no longer configured reads as "".
func (s *Complaints) scan(sc interface{ Scan(...any) error }) (*Complaint, error) {
	var c Complaint
	var t, deadline, updated int64
	var answered sql.NullInt64
	var key, textKey string
	err := sc.Scan(&c.ID, &t, &c.TenantID, &c.RequestID, &c.Category, &c.Text, &c.Contact, &key,
		&c.Status, &deadline, &c.Answer, &answered, &c.AnsweredBy, &updated, &c.EndUser, &textKey)
	if err != nil {
		return nil, err
	}
	c.Time, c.Deadline, c.UpdatedAt = time.UnixMilli(t).UTC(), time.UnixMilli(deadline).UTC(), time.UnixMilli(updated).UTC()
	if answered.Valid {
		c.AnsweredAt = time.UnixMilli(answered.Int64).UTC()
	}
	if key != "" {
		plain, err := s.opts.Keys.openString(c.Contact, contactAAD(c.ID))
		if err != nil && !errors.Is(err, ErrUnknownKey) {
			return nil, fmt.Errorf("complaint %s contact: %w", c.ID, err)
		}
		c.Contact = plain
	}
	if textKey != "" {
		plain, err := s.opts.Keys.openString(c.Text, textAAD(c.ID))
		if err != nil && !errors.Is(err, ErrUnknownKey) {
			return nil, fmt.Errorf("complaint %s text: %w", c.ID, err)
		}
		c.Text = plain
	}
	return &c, nil
}

// Get returns one complaint, or an error wrapping store.ErrNotFound.
func (s *Complaints) Get(ctx context.Context, id string) (*Complaint, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+complaintColumns+` FROM audit_complaints WHERE id = $1`, id)
	c, err := s.scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("complaint " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("get complaint: %w", err)
	}
	return c, nil
}

// ComplaintFilter selects complaints for List. Zero fields match anything.
type ComplaintFilter struct {
	TenantID string
	EndUser  string // the operator's id of the end user they were filed for
	Status   string
	Overdue  bool   // only complaints past their deadline, not answered or closed
	Limit    int    // default 100, at most 1000
	After    string // the ID of the last complaint of the previous page
}

// List returns complaints matching f, oldest first.
func (s *Complaints) List(ctx context.Context, f ComplaintFilter) ([]Complaint, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.TenantID != "" {
		add("tenant_id = ?", f.TenantID)
	}
	if f.EndUser != "" {
		add("end_user = ?", f.EndUser)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Overdue {
		add("deadline_ms < ?", s.opts.Now().UnixMilli())
		conds = append(conds, "status IN ('open', 'in_review')")
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	if f.Limit <= 0 {
		f.Limit = defaultLimit
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, min(f.Limit, maxLimit))
	rows, err := s.db.QueryContext(ctx, `SELECT `+complaintColumns+` FROM audit_complaints`+where+
		` ORDER BY id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list complaints: %w", err)
	}
	defer rows.Close()
	var out []Complaint
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list complaints: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list complaints: %w", err)
	}
	return out, nil
}

// Answer records the answer to a complaint and marks it answered.
func (s *Complaints) Answer(ctx context.Context, id, answer, by string) (*Complaint, error) {
	if strings.TrimSpace(answer) == "" || by == "" {
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "answer complaint: answer and answerer are required")
	}
	if len(answer) > maxComplaintText || len(by) > maxShortField {
		return nil, clienterr.Errorf(clienterr.InvalidRequest, "answer complaint: answer or answerer too long")
	}
	now := s.opts.Now().UnixMilli()
	res, err := s.db.ExecContext(ctx, `UPDATE audit_complaints SET answer = $1, answered_by = $2,
		answered_at = $3, status = $4, updated_at = $3 WHERE id = $5`, cleanN(answer, maxComplaintText), clean(by), now, StatusAnswered, id)
	if err := checkUpdated(res, err); err != nil {
		return nil, fmt.Errorf("answer complaint %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// SetStatus moves a complaint to status (open, in_review, answered or
// closed). Answered needs an answer: use Answer.
func (s *Complaints) SetStatus(ctx context.Context, id, status string) error {
	switch status {
	case StatusOpen, StatusInReview, StatusClosed:
	case StatusAnswered:
		return clienterr.Errorf(clienterr.InvalidRequest, "set complaint status: use Answer to answer a complaint")
	default:
		return clienterr.Errorf(clienterr.InvalidRequest, "set complaint status: unknown status %q", status)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE audit_complaints SET status = $1, updated_at = $2 WHERE id = $3`,
		status, s.opts.Now().UnixMilli(), id)
	if err := checkUpdated(res, err); err != nil {
		return fmt.Errorf("set complaint %s status: %w", id, err)
	}
	return nil
}

func checkUpdated(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.NotFound("complaint")
	}
	return nil
}
