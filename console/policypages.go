package console

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
)

func (c *Console) policyRoutes() {
	if c.opts.Policy == nil {
		return
	}
	c.add("GET /console/policy", staff.ViewPolicy, c.policyPage)
	c.add("GET /console/policy/diff", staff.ViewPolicy, c.policyDiff)
	c.add("POST /console/policy/dryrun", staff.ManagePolicy, c.policyDryRun)
	c.add("POST /console/policy/publish", staff.ManagePolicy, c.policyPublish)
	c.add("POST /console/policy/rollback", staff.ManagePolicy, c.policyRollback)
}

type policyFile struct{ Name, Text string }

type policyView struct {
	Status   policy.Status
	History  []policy.Event
	Coverage policy.Coverage
	Files    []policyFile
	Diff     *policy.Diff
	DryRun   *policy.Report
	Samples  string
	Recorded recordedForm
	Error    string
	Problems []policy.Problem
	Flash    string
	// Proposals are the review desk's proposals a draft carries; publishing
	// the form marks them published.
	Proposals []string
}

func filesOf(b *policy.Bundle) []policyFile {
	m := b.Files()
	out := make([]policyFile, 0, len(m))
	for name, text := range m {
		out = append(out, policyFile{Name: name, Text: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// view gathers what the policy page always shows; files are the version
// in force unless the form sent edited ones.
func (c *Console) policyView(r *http.Request, files []policyFile) (policyView, error) {
	v := policyView{Status: c.opts.Policy.Status(), Flash: r.URL.Query().Get("flash"), Proposals: r.PostForm["proposal"]}
	var err error
	if v.History, err = c.opts.Policy.History(r.Context(), 50); err != nil {
		return v, err
	}
	if v.Coverage, err = c.opts.Policy.Coverage(r.Context(), policy.Floors{}); err != nil {
		return v, err
	}
	v.Files = files
	if v.Files == nil {
		b, err := c.opts.Policy.Bundle(r.Context(), "")
		if err != nil {
			return v, err
		}
		v.Files = filesOf(b)
	}
	return v, nil
}

func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if r.URL.Query().Get("draft") == "review" && c.opts.Review != nil {
		c.reviewDraft(w, r, p)
		return
	}
	v, err := c.policyView(r, nil)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "policy", "nav.policy", v)
}

func (c *Console) policyDiff(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v, err := c.policyView(r, nil)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	from, err := c.compiled(r, r.URL.Query().Get("from"))
	if err == nil {
		var to *policy.Compiled
		if to, err = c.compiled(r, r.URL.Query().Get("to")); err == nil {
			d := policy.DiffOf(from, to)
			v.Diff = &d
		}
	}
	if err != nil {
		v.Error = "policy.no_version"
		w.WriteHeader(http.StatusNotFound)
	}
	c.render(w, r, p, "policy", "nav.policy", v)
}

func (c *Console) compiled(r *http.Request, version string) (*policy.Compiled, error) {
	b, err := c.opts.Policy.Bundle(r.Context(), version)
	if err != nil {
		return nil, err
	}
	return policy.CompileBundle(b)
}

// formBundle reads the edited files of the policy form.
func formBundle(r *http.Request) ([]policyFile, *policy.Bundle, error) {
	if err := r.ParseForm(); err != nil {
		return nil, nil, err
	}
	names, texts := r.PostForm["file"], r.PostForm["text"]
	if len(names) != len(texts) || len(names) == 0 {
		return nil, nil, errors.New("policy.bad_form")
	}
	files := map[string]string{}
	var list []policyFile
	for i, n := range names {
		text := strings.ReplaceAll(texts[i], "\r\n", "\n")
		files[n] = text
		list = append(list, policyFile{Name: n, Text: text})
	}
	b, err := policy.BundleFromText(files)
	return list, b, err
}

// policyError shows a bundle's problems on the policy page, with the
// edited files kept.
func (c *Console) policyError(w http.ResponseWriter, r *http.Request, p *staff.Principal, files []policyFile, err error) {
	v, verr := c.policyView(r, files)
	if verr != nil {
		c.fail(w, r, p, verr)
		return
	}
	var inv *policy.InvalidError
	switch {
	case errors.As(err, &inv):
		v.Error, v.Problems = "policy.invalid", inv.Problems
	case slices.Contains([]string{"policy.bad_form", "policy.reason_required", "policy.no_trail", "policy.bad_recorded"}, err.Error()):
		v.Error = err.Error()
	default:
		v.Error = "policy.invalid"
		v.Problems = []policy.Problem{{Msg: err.Error()}}
	}
	w.WriteHeader(http.StatusBadRequest)
	c.render(w, r, p, "policy", "nav.policy", v)
}

func (c *Console) policyDryRun(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	files, b, err := formBundle(r)
	if err != nil {
		c.policyError(w, r, p, files, err)
		return
	}
	var traffic sampleTraffic
	samples := r.PostFormValue("samples")
	for _, line := range strings.Split(samples, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			traffic = append(traffic, policy.Sample{Direction: safety.Input, Text: line})
		}
	}
	rec := recordedForm{On: r.PostFormValue("recorded") != "", From: r.PostFormValue("rec_from"),
		To: r.PostFormValue("rec_to"), Tenant: r.PostFormValue("rec_tenant"), Limit: r.PostFormValue("rec_limit")}
	if rec.On {
		var n int
		if traffic, n, err = c.addRecorded(r, p, traffic, rec); err != nil {
			c.policyError(w, r, p, files, err)
			return
		}
		note(w, "recorded", strconv.Itoa(n))
	}
	rep, err := c.opts.Policy.DryRun(r.Context(), b, &traffic, policy.DryRunOptions{Examples: 3})
	if err != nil {
		c.policyError(w, r, p, files, err)
		return
	}
	v, err := c.policyView(r, files)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.DryRun, v.Samples, v.Recorded = rep, samples, rec
	c.render(w, r, p, "policy", "nav.policy", v)
}

// recordedForm is the dry run's choice of recorded traffic.
type recordedForm struct {
	On                      bool
	From, To, Tenant, Limit string
}

// sampleTraffic is a dry run's samples in order.
type sampleTraffic []policy.Sample

func (t *sampleTraffic) Next() (policy.Sample, error) {
	if len(*t) == 0 {
		return policy.Sample{}, io.EOF
	}
	s := (*t)[0]
	*t = (*t)[1:]
	return s, nil
}

// addRecorded appends the retained prompts and answers of the newest
// audit records the form selects (within the member's tenants). Their
// texts appear in the report only for a member who may read decrypted
// content; the replay itself is recorded with the number of records.
func (c *Console) addRecorded(r *http.Request, p *staff.Principal, t sampleTraffic, f recordedForm) (sampleTraffic, int, error) {
	if c.opts.Trail == nil {
		return t, 0, errors.New("policy.no_trail")
	}
	q := audit.Query{TenantID: f.Tenant, Requests: true, Limit: 100}
	if f.Limit != "" {
		n, err := strconv.Atoi(f.Limit)
		if err != nil || n < 1 || n > 1000 {
			return t, 0, errors.New("policy.bad_recorded")
		}
		q.Limit = n
	}
	for _, d := range []struct {
		v   string
		dst *time.Time
	}{{f.From, &q.From}, {f.To, &q.To}} {
		if d.v == "" {
			continue
		}
		at, err := time.Parse("2006-01-02", d.v)
		if err != nil {
			return t, 0, errors.New("policy.bad_recorded")
		}
		*d.dst = at
	}
	if p.Member.Limited() && !p.Member.InTenant(q.TenantID) {
		return t, 0, errors.New("policy.bad_recorded")
	}
	es, err := c.opts.Trail.Retained(r.Context(), q)
	if err != nil {
		return t, 0, errors.New("policy.no_trail")
	}
	hidden := !p.Can(staff.ViewContent)
	for _, e := range es {
		for _, s := range []policy.Sample{{Direction: safety.Input, Text: e.Content.Prompt}, {Direction: safety.Output, Text: e.Content.Answer}} {
			if s.Text != "" {
				s.Route, s.Tenant, s.Ref, s.Hidden = e.Model, e.TenantID, e.ID, hidden
				t = append(t, s)
			}
		}
	}
	return t, len(es), nil
}

func (c *Console) policyPublish(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	files, b, err := formBundle(r)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if err == nil && reason == "" {
		err = errors.New("policy.reason_required")
	}
	if err != nil {
		c.policyError(w, r, p, files, err)
		return
	}
	note(w, "reason", reason)
	res, err := c.opts.Policy.Publish(r.Context(), b, policy.Change{Author: p.Actor(), Reason: reason})
	if err != nil {
		c.policyError(w, r, p, files, err)
		return
	}
	note(w, "version", res.Version)
	if ids := r.PostForm["proposal"]; len(ids) > 0 && c.opts.Review != nil {
		note(w, "proposals", strings.Join(ids, ","))
		if err := c.opts.Review.Published(r.Context(), ids, res.Version, c.opts.Now()); err != nil {
			c.fail(w, r, p, err)
			return
		}
	}
	http.Redirect(w, r, "/console/policy?flash=policy.published", http.StatusSeeOther)
}

func (c *Console) policyRollback(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		c.policyError(w, r, p, nil, errors.New("policy.reason_required"))
		return
	}
	note(w, "reason", reason)
	res, err := c.opts.Policy.Rollback(r.Context(), r.PostFormValue("version"), policy.Change{Author: p.Actor(), Reason: reason})
	if err != nil {
		c.policyError(w, r, p, nil, err)
		return
	}
	note(w, "version", res.Version)
	http.Redirect(w, r, "/console/policy?flash=policy.rolled_back", http.StatusSeeOther)
}
