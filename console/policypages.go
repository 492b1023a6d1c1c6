package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/firebreak/firebreak/policy"
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
	Error    string
	Problems []policy.Problem
	Flash    string
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
	v := policyView{Status: c.opts.Policy.Status(), Flash: r.URL.Query().Get("flash")}
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
	case err.Error() == "policy.bad_form" || err.Error() == "policy.reason_required":
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
	var jsonl strings.Builder
	samples := r.PostFormValue("samples")
	for _, line := range strings.Split(samples, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			j, _ := json.Marshal(map[string]string{"direction": "input", "text": line})
			jsonl.Write(j)
			jsonl.WriteByte('\n')
		}
	}
	rep, err := c.opts.Policy.DryRun(r.Context(), b, policy.ReadJSONL(strings.NewReader(jsonl.String())), policy.DryRunOptions{Examples: 3})
	if err != nil {
		c.policyError(w, r, p, files, err)
		return
	}
	v, err := c.policyView(r, files)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.DryRun, v.Samples = rep, samples
	c.render(w, r, p, "policy", "nav.policy", v)
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
