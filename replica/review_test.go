package replica_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/review"
)

// post sends body to path with key and returns the status and the body.
func (nd node) post(t *testing.T, key, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, nd.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestReviewDeskInReplica: through a whole replica, an exchange the
// engine sends to review and a sampled allowed one enter the queue; a
// confirmed violation suspends the user by the ladder in force; the user's
// app appeals at /v1/appeals with a key of that user only; the granted
// appeal lifts the suspension and the app reads the answer.
func TestReviewDeskInReplica(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Review.SampleRate, cfg.Review.DualShare = 1, 0
	nd := startNode(t, cfg, up.URL)
	r := nd.r
	ctx := context.Background()

	b, err := policy.NewBundle(map[string][]byte{
		policy.SpecFile: []byte("format: 1\nname: desk\nlexicons:\n  - {file: terms.txt}\n" +
			"strikes:\n  codes: [A1]\n  ladder:\n    - {total: 1, action: suspend, duration: 1d}\n"),
		"terms.txt": []byte("gamma-term\tA1d\treview\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Policy.Publish(ctx, b, policy.Change{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	tenant, err := r.Accounts.Tenants.Create(ctx, account.Tenant{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	_, userKey, err := r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "app of u1", EndUser: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := r.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "app of u2", EndUser: "u2"})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := nd.chat(t, key, "u1", "tell me about gamma-term"); status != http.StatusOK {
		t.Fatalf("review exchange: status %d", status)
	}
	if status, _ := nd.chat(t, key, "u1", "hello"); status != http.StatusOK {
		t.Fatalf("clean exchange: status %d", status)
	}
	items, err := r.Review.List(ctx, review.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var flagged *review.Item
	sources := map[review.Source]int{}
	for i := range items {
		sources[items[i].Source]++
		if items[i].Source == review.SourceReview {
			flagged = &items[i]
		}
	}
	if sources[review.SourceReview] != 1 || sources[review.SourceSample] != 1 || flagged.Codes[0] != "A1d" {
		t.Fatalf("queue: %+v", items)
	}
	who := review.Reviewer{ID: "st_1", Name: "rev"}
	l, err := r.Review.Claim(ctx, flagged.ID, who)
	if err != nil {
		t.Fatal(err)
	}
	it, err := r.Review.Decide(ctx, flagged.ID, l.Token, who, review.Decision{Verdict: review.Violation, Code: "A1d"})
	if err != nil {
		t.Fatal(err)
	}
	if it.Effect.SanctionID == "" || !nd.suspended(t, key, "u1") {
		t.Fatalf("confirmed violation did not suspend u1: %+v", it.Effect)
	}

	appeal := `{"sanction_id":"` + it.Effect.SanctionID + `","text":"it was a quote"}`
	if status, body := nd.post(t, otherKey, "/v1/appeals", appeal); status != http.StatusNotFound {
		t.Fatalf("another user's key appeals: %d %s", status, body)
	}
	if status, body := nd.post(t, userKey, "/v1/appeals", `{"sanction_id":"`+it.Effect.SanctionID+`","text":"x","user":"u2"}`); status != http.StatusForbidden && status != http.StatusBadRequest {
		t.Fatalf("a key of u1 speaks for u2: %d %s", status, body)
	}
	status, body := nd.post(t, userKey, "/v1/appeals", appeal)
	if status != http.StatusCreated {
		t.Fatalf("appeal: %d %s", status, body)
	}
	var filed struct{ ID, Status, Object string }
	if err := json.Unmarshal(body, &filed); err != nil || filed.Status != "open" || filed.Object != "appeal" {
		t.Fatalf("appeal answer: %v %s", err, body)
	}
	items, err = r.Review.List(ctx, review.Filter{Source: review.SourceAppeal})
	if err != nil || len(items) != 1 {
		t.Fatalf("appeal item: %v %+v", err, items)
	}
	who2 := review.Reviewer{ID: "st_2", Name: "rev2"}
	l, err = r.Review.Claim(ctx, items[0].ID, who2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Review.Decide(ctx, items[0].ID, l.Token, who2, review.Decision{Verdict: review.NoViolation}); err != nil {
		t.Fatal(err)
	}
	if nd.suspended(t, key, "u1") {
		t.Fatal("granted appeal did not lift the suspension")
	}
	req, _ := http.NewRequest(http.MethodGet, nd.url+"/v1/appeals/"+filed.ID, nil)
	req.Header.Set("Authorization", "Bearer "+userKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&filed); err != nil || filed.Status != review.AppealGranted {
		t.Fatalf("appeal read back: %v %+v", err, filed)
	}
}
