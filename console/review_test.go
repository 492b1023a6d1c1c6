package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
)

var leaseRe = regexp.MustCompile(`name="lease" value="([0-9a-f]+)"`)

// queueRecord appends a record the engine sent to review and queues it.
func (f *fixture) queueRecord(t *testing.T, user, code string) string {
	t.Helper()
	rec := audit.Record{Time: f.clock.Now(), RequestID: "req-" + user, TenantID: "ten_a", EndUser: user, KeyID: "k",
		Model: "chat", Route: "direct", Status: 200, Outcome: audit.OutcomeOK, PolicyVersion: "v1",
		Output: audit.Decision{Action: safety.Review, Code: code, Hits: []audit.Hit{{Detector: "lexicon", Rule: "r", Code: code, Action: safety.Review}}}}
	rec.ID = audit.NewID(rec.Time)
	ctx := context.Background()
	if err := f.trail.Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := f.review.EnqueueRecord(ctx, rec, review.SourceReview); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// TestReviewDesk works the desk as reviewers do in the console: the
// queue with its timers, claiming the next item, deciding it (the lease
// travels in the form), a second reviewer refused the item a first one
// holds, and a decision on a lease that expired refused with a message.
func TestReviewDesk(t *testing.T) {
	f := newFixture(t, staff.Options{SessionIdle: 24 * time.Hour})
	f.member("rita", staff.RoleReviewer)
	f.member("rob", staff.RoleReviewer)
	f.member("ada", staff.RoleAuditor)
	rita, rob, ada := f.browser(), f.browser(), f.browser()
	for name, b := range map[string]*browser{"rita": rita, "rob": rob, "ada": ada} {
		if st := b.login(name, password); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, st)
		}
	}
	first := f.queueRecord(t, "u1", "A5a")
	f.clock.Add(time.Second)
	f.queueRecord(t, "u2", "A1d")

	st, _, body := ada.do("GET", "/console/review", nil)
	if st != http.StatusOK || !strings.Contains(body, "A5a") || !strings.Contains(body, "review-sla") {
		t.Fatalf("queue page: %d", st)
	}
	if strings.Contains(body, `id="review-next"`) {
		t.Fatal("an auditor is offered to claim items")
	}
	st, h, _ := rita.do("POST", "/console/review/next", url.Values{"csrf": {rita.csrf}})
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "/console/review/items/") {
		t.Fatalf("claim next: %d %s", st, h.Get("Location"))
	}
	itemPath, _, _ := strings.Cut(h.Get("Location"), "?")
	st, _, body = rita.do("GET", h.Get("Location"), nil)
	m := leaseRe.FindStringSubmatch(body)
	if st != http.StatusOK || m == nil || !strings.Contains(body, `data-shortcut="v"`) {
		t.Fatalf("claimed item page: %d, lease found %v", st, m != nil)
	}
	items, _ := f.review.List(context.Background(), review.Filter{})
	if items[0].RecordID != first || !strings.HasSuffix(itemPath, items[0].ID) {
		t.Fatalf("claimed %s, want the first due item %s", itemPath, items[0].ID)
	}
	// Rob sees the item held and cannot take it.
	if st, h, _ := rob.do("POST", itemPath+"/claim", url.Values{"csrf": {rob.csrf}}); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "flash=review.claimed") {
		t.Fatalf("second claimer: %d %s", st, h.Get("Location"))
	}
	st, h, _ = rita.do("POST", itemPath+"/decide", url.Values{"csrf": {rita.csrf}, "lease": {m[1]},
		"verdict": {"violation"}, "code": {"A5a"}, "note": {"diet pills"}, "corrected": {"Ask a doctor."}, "next": {"1"}})
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "flash=review.decided") {
		t.Fatalf("decide: %d %s", st, h.Get("Location"))
	}
	it, err := f.review.Get(context.Background(), items[0].ID)
	if err != nil || it.State != review.StateDone || it.OutcomeCode != "A5a" {
		t.Fatalf("item after the console decision: %v %+v", err, it)
	}
	// "and next" claimed the second item; its lease expires unused.
	next, _, body := rita.do("GET", h.Get("Location"), nil)
	m = leaseRe.FindStringSubmatch(body)
	if next != http.StatusOK || m == nil {
		t.Fatalf("next item page: %d", next)
	}
	nextPath, _, _ := strings.Cut(h.Get("Location"), "?")
	f.clock.Add(11 * time.Minute)
	st, h, _ = rita.do("POST", nextPath+"/decide", url.Values{"csrf": {rita.csrf}, "lease": {m[1]}, "verdict": {"no_violation"}})
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "flash=review.lease_lost") {
		t.Fatalf("decision on an expired lease: %d %s", st, h.Get("Location"))
	}
	_, _, body = rita.do("GET", nextPath+"?flash=review.lease_lost", nil)
	if !strings.Contains(body, "claim it again") && !strings.Contains(body, "重新领取") {
		t.Fatal("the lost lease is not explained")
	}
	// Every decision is on the audit trail as the member's action.
	es, err := f.trail.Search(context.Background(), audit.Query{Route: audit.RouteStaff, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range es {
		if a, ok := e.Action(); ok && a.Name == "review decide" && a.Actor == "rita" && a.Target == items[0].ID {
			found = true
		}
	}
	if !found {
		t.Fatal("the decision is not on the audit trail as rita's")
	}
	// A senior reviewer downloads rectification data; the download is a
	// recorded export. (This fixture's trail keeps no content, so no case
	// has an exchange to write.)
	f.member("sam", staff.RoleSenior)
	sam := f.browser()
	if st := sam.login("sam", password); st != http.StatusSeeOther {
		t.Fatalf("login sam: %d", st)
	}
	st, h, _ = sam.do("GET", "/console/review/rectify?format=sft&code=A5a", nil)
	if st != http.StatusOK || h.Get("X-Firebreak-Export") == "" || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("rectify download: %d %v", st, h)
	}
	xs, err := f.review.Exports(context.Background(), 10)
	if err != nil || len(xs) != 1 || xs[0].Actor != "sam" || xs[0].Filter.Code != "A5a" {
		t.Fatalf("recorded exports: %v %+v", err, xs)
	}
	if st, _, _ := rita.do("GET", "/console/review/rectify?format=sft", nil); st != http.StatusForbidden {
		t.Fatalf("a reviewer downloads rectification data: %d", st)
	}
}

var draftFileRe = regexp.MustCompile(`(?s)name="file" value="([^"]*)"><textarea name="text"[^>]*>(.*?)</textarea>`)

// TestReviewProposalToPublish: a reviewer proposes a phrase as a term on
// an item; the policy editor opens the draft with the desk's proposals,
// publishes it from the console, and the proposal is marked published
// with the version; the new term is in force.
func TestReviewProposalToPublish(t *testing.T) {
	f := newFixture(t, staff.Options{SessionIdle: 24 * time.Hour})
	f.member("rita", staff.RoleReviewer)
	f.member("pat", staff.RolePolicy)
	rita, pat := f.browser(), f.browser()
	for name, b := range map[string]*browser{"rita": rita, "pat": pat} {
		if st := b.login(name, password); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, st)
		}
	}
	f.queueRecord(t, "u1", "A5a")
	items, _ := f.review.List(context.Background(), review.Filter{})
	itemPath := "/console/review/items/" + items[0].ID
	rita.do("GET", itemPath, nil)
	st, h, _ := rita.do("POST", itemPath+"/propose", url.Values{"csrf": {rita.csrf}, "kind": {"term"},
		"text": {"miracle slimming tea"}, "code": {"A5a"}, "action": {"refuse"}})
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "flash=review.proposed") {
		t.Fatalf("propose: %d %s", st, h.Get("Location"))
	}
	if _, _, body := rita.do("GET", itemPath, nil); !strings.Contains(body, "miracle slimming tea") {
		t.Fatal("the item does not show its proposal")
	}
	st, _, body := pat.do("GET", "/console/policy?draft=review", nil)
	if st != http.StatusOK || !strings.Contains(body, "review-terms.txt") || !strings.Contains(body, `name="proposal"`) {
		t.Fatalf("draft page: %d", st)
	}
	form := url.Values{"csrf": {pat.csrf}, "reason": {"review finding"}}
	for _, m := range draftFileRe.FindAllStringSubmatch(body, -1) {
		form.Add("file", html.UnescapeString(m[1]))
		form.Add("text", html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`name="proposal" value="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		form.Add("proposal", m[1])
	}
	if st, h, _ := pat.do("POST", "/console/policy/publish", form); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "policy.published") {
		t.Fatalf("publish the draft: %d %s", st, h.Get("Location"))
	}
	ps, err := f.review.Proposals(context.Background(), "")
	if err != nil || len(ps) != 1 || ps[0].Status != "published" || ps[0].Version == "" {
		t.Fatalf("proposal after publish: %v %+v", err, ps)
	}
}
