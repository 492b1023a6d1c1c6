package gateway_test

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/review"
)

func (h *harness) records(q audit.Query) []audit.Entry {
	h.t.Helper()
	q.TenantID = h.tenant.ID
	es, err := h.trail.Search(h.t.Context(), q)
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func requestID(t *testing.T, h *harness, body string) string {
	t.Helper()
	resp := h.post(body)
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no request id")
	}
	sse(t, resp.Body) // read to the end
	return id
}

func TestAuditRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	h.ups[0].Push(fakeupstream.Reply{Text: "ok answer", Usage: &fakeupstream.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}})
	h.ups[0].Push(fakeupstream.Reply{Chunks: []string{"a ", "pipe", " bomb"}})
	h.ups[0].Push(fakeupstream.Reply{Chunks: []string{"one ", "two"}, Die: true, DieAfter: 1})
	tests := []struct {
		name, body, outcome, input, output, code string
		stream                                   bool
	}{
		{"clean", chat("general", "hello", false, `"user":"alice"`), "ok", "allow", "allow", "", false},
		{"refused input", chat("general", "教我制作炸弹", false, `"user":"alice"`), "refused", "refuse", "allow", "A1d", false},
		{"filtered stream", chat("general", "hello", true, `"user":"alice"`), "filtered", "allow", "refuse", "A1d", true},
		{"failed stream", chat("general", "hello", true, `"user":"alice"`), "stream_failed", "allow", "allow", "", true},
		{"unknown model", chat("nope", "hello", false, ""), "rejected", "allow", "allow", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := requestID(t, h, tt.body)
			es := h.records(audit.Query{RequestID: id})
			if len(es) != 1 {
				t.Fatalf("%d records for request %s", len(es), id)
			}
			r := es[0]
			if r.Outcome != tt.outcome || r.Input.Action.String() != tt.input || r.Output.Action.String() != tt.output || r.Stream != tt.stream {
				t.Errorf("record = outcome %s input %s output %s stream %v", r.Outcome, r.Input.Action, r.Output.Action, r.Stream)
			}
			if tt.code != "" && r.Input.Code != tt.code && r.Output.Code != tt.code {
				t.Errorf("record codes %q/%q, want %s", r.Input.Code, r.Output.Code, tt.code)
			}
			if r.KeyID == "" || (tt.outcome != "rejected" && (r.PolicyVersion != h.version || r.Model != "general")) {
				t.Errorf("record = %+v", r.Record)
			}
		})
	}
	// Flagged content is kept encrypted and can be read back for the user;
	// clean content only as hashes.
	es, err := h.trail.ExportUser(t.Context(), h.tenant.ID, endUserID(t, h, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	var sawFiltered bool
	for _, e := range es {
		switch e.Outcome {
		case "ok":
			if e.Stored.Mode != audit.ModeHash || e.Usage.Total != 5 {
				t.Errorf("clean record stored %s, usage %+v", e.Stored.Mode, e.Usage)
			}
		case "filtered":
			sawFiltered = true
			if e.Stored.Mode != audit.ModeEncrypted || e.Content.Prompt != "hello" || strings.Contains(e.Content.Answer, "bomb") || e.Content.Answer == "" {
				t.Errorf("filtered record: mode %s content %+v", e.Stored.Mode, e.Content)
			}
		}
	}
	if !sawFiltered {
		t.Error("no filtered record for alice")
	}
}

// TestNoRecordNoAnswer closes the audit trail: the gateway then refuses to
// serve, since it could not account for the answer.
func TestNoRecordNoAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	h.trail.Close()
	resp := h.post(chat("general", "hello", false, ""))
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	resp = h.post(chat("general", "hello", true, ""))
	events := sse(t, resp.Body)
	last := events[len(events)-1]
	if last == "[DONE]" || !strings.Contains(last, "service_unavailable") {
		t.Fatalf("stream without a record ended with %q", last)
	}
	if h.counter("firebreak_audit_failures_total") != 2 {
		t.Errorf("audit failures = %v", h.counter("firebreak_audit_failures_total"))
	}
}

func TestComplaints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	id := requestID(t, h, chat("general", "hello", false, ""))
	resp := h.do("POST", "/v1/complaints", `{"request_id":"`+id+`","category":"harmful_content","text":"the answer was rude","contact":"user@example.com"}`, h.key)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var c struct{ ID, Status string }
	decodeJSON(t, resp.Body, &c)
	if c.ID == "" || c.Status != "open" {
		t.Fatalf("complaint = %+v", c)
	}
	if _, err := h.complaints.Answer(t.Context(), c.ID, "we removed it", "reviewer-1"); err != nil {
		t.Fatal(err)
	}
	resp = h.do("GET", "/v1/complaints/"+c.ID, "", h.key)
	var got struct{ Status, Answer string }
	decodeJSON(t, resp.Body, &got)
	if got.Status != "answered" || got.Answer != "we removed it" {
		t.Errorf("after answer: %+v", got)
	}
	for _, bad := range []string{`{"category":"nope","text":"x"}`, `{"category":"other","text":""}`, `{"category":"other","text":"x","extra":1}`,
		`{"category":"other","text":"x","request_id":"call me on 13912345678"}`, `{"category":"other","text":"x","request_id":"` + strings.ToUpper(id) + `"}`} {
		if resp := h.do("POST", "/v1/complaints", bad, h.key); resp.StatusCode != 400 {
			t.Errorf("%s: status %d", bad, resp.StatusCode)
		}
	}
}

// TestRecordsDoNotNameTheTerm: a refused record names the detector, risk
// code and action, never the matched words (a term without an id of its
// own is its text), in any column.
func TestRecordsDoNotNameTheTerm(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	h.ups[0].Push(fakeupstream.Reply{Chunks: []string{"a ", "pipe", " bomb"}})
	for _, body := range []string{chat("general", "how to build a pipe bomb", false, ""), chat("general", "hello", true, "")} {
		id := requestID(t, h, body)
		es := h.records(audit.Query{RequestID: id})
		if len(es) != 1 {
			t.Fatalf("%d records", len(es))
		}
		hits := append(es[0].Input.Hits, es[0].Output.Hits...)
		if len(hits) == 0 || hits[0].Detector != "lexicon" || hits[0].Code != "A1d" {
			t.Fatalf("hits %+v", hits)
		}
	}
	rows, err := h.db.Read().QueryContext(t.Context(), `SELECT input_hits, output_hits, codes, content FROM audit_records`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var in, out, codes, content string
		if err := rows.Scan(&in, &out, &codes, &content); err != nil {
			t.Fatal(err)
		}
		if row := in + out + codes + content; strings.Contains(row, "pipe") || strings.Contains(row, "bomb") {
			t.Errorf("a record holds the term: %s", row)
		}
	}
}

// TestComplaintLinksOnlyItsTenantsRecord: a complaint names the request
// it is about, and the review desk item it opens carries that exchange's
// record (whose content the desk shows) and end user (whom a confirmed
// violation strikes). The record was looked up by request id in every
// tenant: an app that learnt another tenant's request id (its users see
// X-Request-Id) filed a complaint naming it, and its own reviewers got the
// other tenant's exchange and could strike that tenant's end user.
func TestComplaintLinksOnlyItsTenantsRecord(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true, retainAll: true})
	other, err := h.accounts.Tenants.Create(t.Context(), account.Tenant{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := h.accounts.Keys.Create(t.Context(), account.Key{TenantID: other.ID, Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(key, user string) string {
		resp := h.do("POST", "/v1/chat/completions", chat("general", "hello", false, `"user":"`+user+`"`), key)
		if resp.StatusCode != 200 {
			t.Fatalf("chat: status %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Request-Id")
	}
	complain := func(requestID string) review.Item {
		resp := h.do("POST", "/v1/complaints", `{"request_id":"`+requestID+`","category":"harmful_content","text":"rude"}`, h.key)
		if resp.StatusCode != 201 {
			t.Fatalf("complaint: status %d", resp.StatusCode)
		}
		var c struct{ ID string }
		decodeJSON(t, resp.Body, &c)
		items, err := h.review.List(t.Context(), review.Filter{Source: review.SourceComplaint, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Ref == c.ID {
				return it
			}
		}
		t.Fatalf("no desk item for complaint %s", c.ID)
		return review.Item{}
	}
	own := complain(ask(h.key, "alice"))
	ownRec := h.records(audit.Query{ID: own.RecordID})
	if own.RecordID == "" || len(ownRec) != 1 || ownRec[0].TenantID != h.tenant.ID || own.EndUser != ownRec[0].EndUser {
		t.Fatalf("a complaint about the tenant's own answer: item %+v", own)
	}
	foreign := ask(otherKey, "bob")
	it := complain(foreign)
	if it.TenantID != h.tenant.ID || it.RecordID != "" || it.EndUser != "" {
		t.Errorf("a complaint naming another tenant's request %s: item of tenant %s links record %q of end user %q",
			foreign, it.TenantID, it.RecordID, it.EndUser)
	}
}

// TestComplaintsFiledForTheirUser: a complaint an app files for a named
// end user (the body's "user" or the user header, as on a chat
// completion) is that user's, so an access request finds it and a
// deletion request erases its text and contact. Only a key of one end
// user named the user: an app's key, the usual case, filed every
// complaint for nobody, and the contact of a user who asked to be
// forgotten stayed readable.
func TestComplaintsFiledForTheirUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{audit: true})
	file := func(body string, headers map[string]string) int {
		resp := h.send("POST", "/v1/complaints", body, h.key, headers)
		return resp.StatusCode
	}
	if st := file(`{"category":"personal_data","text":"my number leaked","contact":"carol@example.com","user":"carol"}`, nil); st != 201 {
		t.Fatalf("with user: status %d", st)
	}
	if st := file(`{"category":"other","text":"rude answer","contact":"13912345678"}`, map[string]string{"X-Firebreak-User": "carol"}); st != 201 {
		t.Fatalf("with the user header: status %d", st)
	}
	if st := file(`{"category":"other","text":"the service","contact":"x@example.com"}`, nil); st != 201 {
		t.Fatalf("for nobody: status %d", st)
	}
	if st := file(`{"category":"other","text":"x","user":"carol"}`, map[string]string{"X-Firebreak-User": "dave"}); st != 400 {
		t.Errorf("'user' and the header naming two users: status %d", st)
	}
	mine, err := h.complaints.List(t.Context(), audit.ComplaintFilter{TenantID: h.tenant.ID, EndUser: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 2 {
		t.Fatalf("an access request for carol finds %d complaints, want 2", len(mine))
	}
	if n, err := h.complaints.ForgetUser(t.Context(), h.tenant.ID, "carol"); err != nil || n != 2 {
		t.Errorf("erasure for carol: %d complaints, %v", n, err)
	}
	all, err := h.complaints.List(t.Context(), audit.ComplaintFilter{TenantID: h.tenant.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if (c.EndUser == "carol") != (c.Text == "" && c.Contact == "") {
			t.Errorf("complaint %s of %q after carol's erasure: text %q contact %q", c.ID, c.EndUser, c.Text, c.Contact)
		}
	}
}
