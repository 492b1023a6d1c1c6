package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
)

const terrorism = "lexicons/a1d-terrorism.txt"

// bundleForm is the policy form for the default bundle with extra lines
// appended to the terrorism lexicon.
func bundleForm(t *testing.T, csrf, extra string) url.Values {
	t.Helper()
	files := policy.Default().Files()
	if _, ok := files[terrorism]; !ok {
		t.Fatalf("the default bundle has no %s", terrorism)
	}
	files[terrorism] += extra
	form := url.Values{"csrf": {csrf}}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		form.Add("file", n)
		form.Add("text", files[n])
	}
	return form
}

// TestPolicyLineDiff publishes two versions and compares them on the
// policy page: the added line appears, numbered, as an insertion.
func TestPolicyLineDiff(t *testing.T) {
	f := newFixture(t, staff.Options{})
	ctx := context.Background()
	var versions []string
	for _, extra := range []string{"", "zorblax recipe\tA1d\trefuse\n"} {
		files := policy.Default().Files()
		files[terrorism] += extra
		b, err := policy.BundleFromText(files)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.policy.Publish(ctx, b, policy.Change{Author: "test", Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, res.Version)
	}
	f.member("ada", staff.RoleAuditor)
	b := f.browser()
	if st := b.login("ada", password); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	line := strings.Count(policy.Default().Files()[terrorism], "\n") + 1
	st, _, body := b.do("GET", "/console/policy/diff?"+url.Values{"from": {versions[0]}, "to": {versions[1]}}.Encode(), nil)
	if st != http.StatusOK {
		t.Fatalf("diff: %d", st)
	}
	want := `<tr class="insert"><td class="num"></td><td class="num">` + strconv.Itoa(line) + `</td><td><code>+ zorblax recipe	A1d	refuse</code>`
	if !strings.Contains(body, "<caption><code>"+terrorism+"</code>") || !strings.Contains(body, want) {
		t.Fatalf("the diff page lacks the inserted line %q:\n%s", want, section(body, `id="diff"`))
	}
	if strings.Contains(section(body, `id="diff"`), `class="delete"`) {
		t.Fatal("the diff shows a deleted line where only one was added")
	}
}

// TestPolicyDryRunRecorded replays recorded traffic from the policy page:
// a policy editor sees which record would now be refused but not its
// text (the role may not read content); an admin sees the text; the replay
// is on the audit trail with the number of records.
func TestPolicyDryRunRecorded(t *testing.T) {
	f := newFixture(t, staff.Options{})
	ctx := context.Background()
	rec := audit.Record{ID: "", TenantID: "ten_1", Model: "general", Route: "direct", Status: 200, Outcome: audit.OutcomeOK,
		Input:   audit.Decision{Action: safety.Mask, Code: "A4f"},
		Content: audit.Content{Prompt: "call 13812345678 about the zorblax recipe", Answer: "no"}}
	if err := f.trail.Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	es, err := f.trail.Retained(ctx, audit.Query{Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("retained: %v %d", err, len(es))
	}
	id := es[0].ID
	f.member("pat", staff.RolePolicy)
	f.member("root", staff.RoleAdmin)
	for _, c := range []struct {
		name     string
		seesText bool
	}{{"pat", false}, {"root", true}} {
		b := f.browser()
		if st := b.login(c.name, password); st != http.StatusSeeOther {
			t.Fatalf("%s login: %d", c.name, st)
		}
		b.do("GET", "/console/policy", nil)
		form := bundleForm(t, b.csrf, "zorblax recipe\tA1d\trefuse\n")
		form.Set("recorded", "1")
		form.Set("rec_limit", "10")
		st, _, body := b.do("POST", "/console/policy/dryrun", form)
		if st != http.StatusOK {
			t.Fatalf("%s dry run: %d\n%s", c.name, st, body)
		}
		report := section(body, `id="dryrun"`)
		if !strings.Contains(report, "newly_refused") || !strings.Contains(report, id) {
			t.Fatalf("%s: the report does not name record %s as newly refused:\n%s", c.name, id, report)
		}
		// The deciding term is the policy's own; the prompt's text is content.
		if got := strings.Contains(report, "call 13812345678"); got != c.seesText {
			t.Fatalf("%s: recorded text shown %v, want %v:\n%s", c.name, got, c.seesText, report)
		}
		// A bad range is refused with a message, not a crash.
		form.Set("rec_limit", "5000")
		if st, _, _ := b.do("POST", "/console/policy/dryrun", form); st != http.StatusBadRequest {
			t.Fatalf("%s: limit 5000: %d", c.name, st)
		}
	}
	// A viewer may not dry-run at all.
	f.member("vic", staff.RoleViewer)
	b := f.browser()
	b.login("vic", password)
	if st, _, _ := b.do("POST", "/console/policy/dryrun", bundleForm(t, b.csrf, "")); st != http.StatusForbidden {
		t.Fatalf("viewer dry run: %d", st)
	}
	// Each replay is a staff action naming how many records it read.
	actions, err := f.trail.Search(ctx, audit.Query{Route: audit.RouteStaff, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	replays := map[string]bool{}
	for _, e := range actions {
		if a, _ := e.Action(); a.Name == "console POST /console/policy/dryrun" && a.Outcome == audit.OutcomeOK && strings.Contains(strings.Join(a.Details, " "), "recorded=1") {
			replays[a.Actor] = true
		}
	}
	if !replays["pat"] || !replays["root"] {
		t.Fatalf("replays on the trail: %v", replays)
	}
}

// TestAdminDryRunRecordedHidesText: through the admin API too, a policy
// editor's token replays recorded traffic and learns which records change
// but not what they say; an admin's token gets the text.
func TestAdminDryRunRecordedHidesText(t *testing.T) {
	f := newFixture(t, staff.Options{})
	ctx := context.Background()
	if err := f.trail.Append(ctx, audit.Record{TenantID: "ten_1", Model: "general", Route: "direct", Status: 200,
		Outcome: audit.OutcomeOK, Input: audit.Decision{Action: safety.Mask, Code: "A4f"},
		Content: audit.Content{Prompt: "call 13812345678 about the zorblax recipe"}}); err != nil {
		t.Fatal(err)
	}
	files := policy.Default().Files()
	files[terrorism] += "zorblax recipe\tA1d\trefuse\n"
	body, err := json.Marshal(map[string]any{"files": files, "recorded": map[string]any{"limit": 10}})
	if err != nil {
		t.Fatal(err)
	}
	f.member("pat", staff.RolePolicy)
	f.member("root", staff.RoleAdmin)
	for _, c := range []struct {
		name     string
		seesText bool
	}{{"pat", false}, {"root", true}} {
		req, _ := http.NewRequest("POST", f.url+"/admin/v1/policy/dryrun", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.token(c.name))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var rep policy.Report
		err = json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || rep.Changed != 1 || len(rep.Changes) != 1 || len(rep.Changes[0].Examples) != 1 {
			t.Fatalf("%s: %d %v %+v", c.name, resp.StatusCode, err, rep)
		}
		ex := rep.Changes[0].Examples[0]
		if ex.Ref == "" || ex.Hidden == c.seesText || strings.Contains(ex.Text, "13812345678") != c.seesText {
			t.Fatalf("%s: example %+v, want text shown %v", c.name, ex, c.seesText)
		}
	}
}

// section returns the HTML element that opens with attr, up to the next
// </section>.
func section(body, attr string) string {
	i := strings.Index(body, attr)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</section>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}
