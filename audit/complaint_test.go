package audit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// queue records what Complaints hands to the review queue.
type queue struct {
	mu  sync.Mutex
	got []Complaint
	err error
}

func (q *queue) EnqueueComplaint(_ context.Context, c Complaint) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, c)
	return q.err
}

func newComplaints(t *testing.T, opts ComplaintOptions) *Complaints {
	t.Helper()
	s, err := NewComplaints(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestComplaintLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		q := &queue{}
		s := newComplaints(t, ComplaintOptions{DB: db, Keys: testKeyring(t, "a"), Queue: q, Now: clk.Now})
		c, err := s.Create(ctx, Complaint{TenantID: "t1", RequestID: "req-1", Category: "illegal_content",
			Text: "the answer was harmful", Contact: "+86 138 0000 0000", Status: StatusClosed})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != StatusOpen || !c.Deadline.Equal(clk.Now().Add(DefaultDeadline)) {
			t.Fatalf("new complaint status %q deadline %v, want open, now+15d", c.Status, c.Deadline)
		}
		var stored, storedText string
		_ = db.QueryRowContext(ctx, `SELECT contact, text FROM audit_complaints WHERE id = $1`, c.ID).Scan(&stored, &storedText)
		if strings.Contains(stored, "138") || stored == "" {
			t.Fatalf("contact stored as %q, want it sealed", stored)
		}
		if strings.Contains(storedText, "harmful") || storedText == "" {
			t.Fatalf("text stored as %q, want it sealed", storedText)
		}
		if len(q.got) != 1 || q.got[0].ID != c.ID || q.got[0].Contact != "" {
			t.Fatalf("queue got %+v, want the complaint without contact", q.got)
		}
		clk.Add(time.Second)
		later, _ := s.Create(ctx, Complaint{Category: "other", Text: "second"})
		got, err := s.Get(ctx, c.ID)
		if err != nil || got.Contact != "+86 138 0000 0000" || got.Text != c.Text {
			t.Fatalf("get: %+v, %v", got, err)
		}

		steps := []struct {
			name        string
			do          func() error
			advance     time.Duration
			wantOverdue []string
			wantStatus  string // of c
		}{
			{name: "fresh", wantOverdue: nil, wantStatus: StatusOpen},
			{name: "in review", do: func() error { return s.SetStatus(ctx, c.ID, StatusInReview) }, wantStatus: StatusInReview},
			{name: "past deadline", advance: DefaultDeadline + time.Hour, wantOverdue: []string{c.ID, later.ID}, wantStatus: StatusInReview},
			{name: "answered", do: func() error {
				_, err := s.Answer(ctx, c.ID, "removed and the model corrected", "reviewer-7")
				return err
			}, wantOverdue: []string{later.ID}, wantStatus: StatusAnswered},
			{name: "other closed", do: func() error { return s.SetStatus(ctx, later.ID, StatusClosed) }, wantStatus: StatusAnswered},
		}
		for _, st := range steps {
			if st.do != nil {
				if err := st.do(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
			}
			clk.Add(st.advance)
			over, err := s.List(ctx, ComplaintFilter{Overdue: true})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range over {
				ids = append(ids, o.ID)
				if !o.Overdue(clk.Now()) {
					t.Fatalf("%s: listed %s as overdue but Overdue says no", st.name, o.ID)
				}
			}
			if strings.Join(ids, ",") != strings.Join(st.wantOverdue, ",") {
				t.Fatalf("%s: overdue %v, want %v", st.name, ids, st.wantOverdue)
			}
			if got, _ := s.Get(ctx, c.ID); got.Status != st.wantStatus {
				t.Fatalf("%s: status %q, want %q", st.name, got.Status, st.wantStatus)
			}
		}
		done, _ := s.Get(ctx, c.ID)
		if done.Answer == "" || done.AnsweredBy != "reviewer-7" || done.AnsweredAt.IsZero() {
			t.Fatalf("answer not recorded: %+v", done)
		}
		if list, _ := s.List(ctx, ComplaintFilter{Status: StatusClosed}); len(list) != 1 || list[0].ID != later.ID {
			t.Fatalf("list closed: %+v", list)
		}
		if list, _ := s.List(ctx, ComplaintFilter{TenantID: "t1"}); len(list) != 1 {
			t.Fatalf("list by tenant: %d, want 1", len(list))
		}
		if page, _ := s.List(ctx, ComplaintFilter{Limit: 1, After: c.ID}); len(page) != 1 || page[0].ID != later.ID {
			t.Fatalf("second page: %+v", page)
		}
	})
}

func TestComplaintErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := &queue{err: errors.New("queue down")}
		s := newComplaints(t, ComplaintOptions{DB: db, Queue: q, Deadline: 48 * time.Hour})
		c, err := s.Create(ctx, Complaint{Category: "personal_data", Text: "delete my data", Contact: "me@example.com"})
		if err != nil {
			t.Fatalf("a queue failure must not lose the complaint: %v", err)
		}
		if got := c.Deadline.Sub(c.Time); got != 48*time.Hour {
			t.Fatalf("deadline %v after intake, want the configured 48h", got)
		}
		var stored string
		_ = db.QueryRowContext(ctx, `SELECT contact FROM audit_complaints WHERE id = $1`, c.ID).Scan(&stored)
		if stored != "me@example.com" {
			t.Fatalf("without a keyring contact stored as %q, want as given", stored)
		}
		cases := []struct {
			name string
			err  error
		}{
			{"no text", func() error { _, err := s.Create(ctx, Complaint{Category: "x"}); return err }()},
			{"no category", func() error { _, err := s.Create(ctx, Complaint{Text: "x"}); return err }()},
			{"text too long", func() error {
				_, err := s.Create(ctx, Complaint{Category: "x", Text: strings.Repeat("x", maxComplaintText+1)})
				return err
			}()},
			{"answered via status", s.SetStatus(ctx, c.ID, StatusAnswered)},
			{"unknown status", s.SetStatus(ctx, c.ID, "lost")},
			{"empty answer", func() error { _, err := s.Answer(ctx, c.ID, " ", "me"); return err }()},
		}
		for _, tc := range cases {
			if tc.err == nil {
				t.Errorf("%s: no error", tc.name)
			}
		}
		for _, err := range []error{
			func() error { _, err := s.Get(ctx, "nope"); return err }(),
			s.SetStatus(ctx, "nope", StatusClosed),
			func() error { _, err := s.Answer(ctx, "nope", "a", "b"); return err }(),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("missing complaint: %v, want store.ErrNotFound", err)
			}
		}
	})
}
