package console

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

// Knowledge bases and grounded routes: the bases with their documents, a
// search that shows what a grounded route would retrieve, and the
// grounding settings of routes. Each form goes through kb.Service, as the
// admin API does, so the same checks hold; the handler checks the
// permission and the CSRF token and records each change on the audit
// trail.

func (c *Console) kbRoutes() {
	if c.opts.KB == nil {
		return
	}
	c.add("GET /console/kb", staff.ViewKB, c.kbPage)
	c.add("POST /console/kb", staff.ManageKB, c.kbCreate)
	c.add("GET /console/kb/{name}", staff.ViewKB, c.kbBasePage)
	c.add("POST /console/kb/{name}/delete", staff.ManageKB, c.kbRemove)
	c.add("POST /console/kb/{name}/documents", staff.ManageKB, c.kbUpload).maxBody = kb.MaxDocumentBytes + 1<<20
	c.add("POST /console/kb/{name}/documents/{id}/delete", staff.ManageKB, c.kbRemoveDocument)
	c.add("POST /console/grounding", staff.ManageKB, c.groundingSet)
	c.add("POST /console/grounding/delete", staff.ManageKB, c.groundingRemove)
}

type kbView struct {
	Bases      []kb.Base
	Groundings []kb.Grounding
	Flash      string
	Error      string     // a message key
	Detail     string     // the domain's reason, as it gave it
	Form       url.Values // a refused base form, shown again
	// Edit fills the grounding form: a route's settings (?edit=route),
	// or a refused grounding form.
	Edit struct{ Route, Action, TopK, MinSupport string }
}

type kbBaseView struct {
	Base      kb.Base
	Documents []kb.Document
	Query     string
	K         int
	Searched  bool
	Passages  []kb.Passage
	Flash     string
	Error     string
	Detail    string
}

// kbProblem is input the console refuses itself, with its message key.
type kbProblem string

func (e kbProblem) Error() string { return string(e) }

// kbError names a refused change: the message key and, for a reason only
// the domain gives, its text. ok is false for an unexpected error.
func kbError(err error) (key, detail string, ok bool) {
	var pr kbProblem
	switch {
	case errors.As(err, &pr):
		return string(pr), "", true
	case errors.Is(err, kb.ErrBaseExists):
		return "kb.exists", "", true
	case errors.Is(err, kb.ErrDuplicate):
		return "kb.duplicate", "", true
	}
	ce := clienterr.As(err)
	if ce.Code == clienterr.Internal {
		return "", "", false
	}
	return "kb.invalid", ce.Message, true
}

func (c *Console) kbView(r *http.Request) (kbView, error) {
	v := kbView{Flash: r.URL.Query().Get("flash")}
	var err error
	if v.Bases, err = c.opts.KB.Bases(r.Context()); err != nil {
		return v, err
	}
	if v.Groundings, err = c.opts.KB.Groundings(r.Context()); err != nil {
		return v, err
	}
	for _, g := range v.Groundings {
		if g.Route == r.URL.Query().Get("edit") {
			v.Edit.Route, v.Edit.Action = g.Route, string(g.Action)
			v.Edit.TopK, v.Edit.MinSupport = strconv.Itoa(g.TopK), strconv.FormatFloat(g.MinSupport, 'g', -1, 64)
		}
	}
	return v, nil
}

func (c *Console) kbPage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v, err := c.kbView(r)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.render(w, r, p, "kb", "nav.kb", v)
}

// kbDone answers a change on the knowledge page: back to it with a flash,
// or the page again with the reason it was refused.
func (c *Console) kbDone(w http.ResponseWriter, r *http.Request, p *staff.Principal, err error, flash string) {
	if err == nil {
		http.Redirect(w, r, "/console/kb?flash="+flash, http.StatusSeeOther)
		return
	}
	key, detail, ok := kbError(err)
	if !ok {
		c.fail(w, r, p, err)
		return
	}
	v, verr := c.kbView(r)
	if verr != nil {
		c.fail(w, r, p, verr)
		return
	}
	v.Error, v.Detail = key, detail
	if strings.HasPrefix(r.URL.Path, "/console/grounding") {
		f := r.PostFormValue
		v.Edit.Route, v.Edit.Action, v.Edit.TopK, v.Edit.MinSupport = f("route"), f("action"), f("top_k"), f("min_support")
	} else {
		v.Form = r.PostForm
	}
	w.WriteHeader(http.StatusBadRequest)
	c.render(w, r, p, "kb", "nav.kb", v)
}

func (c *Console) kbCreate(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	b := kb.Base{Name: strings.TrimSpace(r.PostFormValue("name")), Route: strings.TrimSpace(r.PostFormValue("route")),
		Tenant: strings.TrimSpace(r.PostFormValue("tenant")), Description: strings.TrimSpace(r.PostFormValue("description")),
		CreatedBy: p.Actor()}
	note(w, "kb", b.Name)
	var err error
	if b.Name == "" {
		err = kbProblem("kb.need_name")
	} else {
		_, err = c.opts.KB.CreateBase(r.Context(), b)
	}
	c.kbDone(w, r, p, err, "kb.created")
}

func (c *Console) kbRemove(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	note(w, "kb", r.PathValue("name"))
	err := c.opts.KB.RemoveBase(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	c.kbDone(w, r, p, err, "kb.removed")
}

// groundingSet grounds a route or changes its settings.
func (c *Console) groundingSet(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	g := kb.Grounding{Route: strings.TrimSpace(r.PostFormValue("route")), Action: kb.Action(r.PostFormValue("action")), UpdatedBy: p.Actor()}
	note(w, "route", g.Route)
	note(w, "action", string(g.Action))
	var err error
	switch g.Action {
	case kb.Annotate, kb.Caution, kb.Refuse:
	default:
		err = kbProblem("kb.bad_action")
	}
	if g.Route == "" {
		err = kbProblem("kb.need_route")
	}
	if s := strings.TrimSpace(r.PostFormValue("top_k")); err == nil && s != "" {
		if g.TopK, err = strconv.Atoi(s); err != nil || g.TopK < 1 || g.TopK > 20 {
			err = kbProblem("kb.bad_top_k")
		}
	}
	if s := strings.TrimSpace(r.PostFormValue("min_support")); err == nil && s != "" {
		if g.MinSupport, err = strconv.ParseFloat(s, 64); err != nil || !(g.MinSupport > 0 && g.MinSupport <= 1) {
			err = kbProblem("kb.bad_min_support")
		}
	}
	if err == nil {
		note(w, "top_k", strconv.Itoa(g.TopK))
		note(w, "min_support", strconv.FormatFloat(g.MinSupport, 'g', -1, 64))
		_, err = c.opts.KB.SetGrounding(r.Context(), g)
	}
	c.kbDone(w, r, p, err, "kb.grounding_saved")
}

func (c *Console) groundingRemove(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	route := strings.TrimSpace(r.PostFormValue("route"))
	note(w, "route", route)
	var err error
	if route == "" {
		err = kbProblem("kb.need_route")
	} else {
		err = c.opts.KB.RemoveGrounding(r.Context(), route)
	}
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	c.kbDone(w, r, p, err, "kb.grounding_removed")
}

// kbBase reads the base {name}; a missing one answers 404.
func (c *Console) kbBase(w http.ResponseWriter, r *http.Request, p *staff.Principal) (kbBaseView, bool) {
	b, err := c.opts.KB.Base(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return kbBaseView{}, false
	}
	if err != nil {
		c.fail(w, r, p, err)
		return kbBaseView{}, false
	}
	v := kbBaseView{Base: b, K: 5}
	if v.Documents, err = c.opts.KB.Documents(r.Context(), b.Name); err != nil {
		c.fail(w, r, p, err)
		return v, false
	}
	return v, true
}

// kbBasePage shows a base's documents and, for ?q=…&k=…, the passages a
// grounded route would retrieve for that query, with their BM25 scores.
func (c *Console) kbBasePage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	v, ok := c.kbBase(w, r, p)
	if !ok {
		return
	}
	q := r.URL.Query()
	v.Flash, v.Query = q.Get("flash"), strings.TrimSpace(q.Get("q"))
	status := http.StatusOK
	if s := q.Get("k"); s != "" {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 || k > 100 {
			v.Error, status = "kb.bad_k", http.StatusBadRequest
		} else {
			v.K = k
		}
	}
	if q.Has("q") && v.Error == "" {
		if v.Query == "" {
			v.Error, status = "kb.need_query", http.StatusBadRequest
		} else {
			ps, err := c.opts.KB.Search(r.Context(), []string{v.Base.Name}, v.Query, v.K)
			if key, detail, ok := kbError(err); err != nil && ok {
				v.Error, v.Detail, status = key, detail, http.StatusBadRequest
			} else if err != nil {
				c.fail(w, r, p, err)
				return
			}
			v.Passages, v.Searched = ps, err == nil
		}
	}
	w.WriteHeader(status)
	c.render(w, r, p, "kbbase", "nav.kb", v)
}

// kbUpload adds the uploaded file (multipart field "file") to the base.
func (c *Console) kbUpload(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	name := r.PathValue("name")
	note(w, "kb", name)
	var err error
	var d kb.Document
	f, fh, ferr := r.FormFile("file")
	if ferr != nil {
		err = kbProblem("kb.need_file")
	} else {
		defer f.Close()
		note(w, "document", fh.Filename)
		var data []byte
		if data, err = io.ReadAll(f); err == nil {
			d, err = c.opts.KB.AddDocument(r.Context(), name, kb.NewDocument{Title: fh.Filename, Format: r.PostFormValue("format"), Data: data, Author: p.Actor()})
		}
	}
	if err == nil {
		note(w, "document_id", strconv.FormatInt(d.ID, 10))
	}
	c.kbBaseDone(w, r, p, err, "kb.uploaded")
}

func (c *Console) kbRemoveDocument(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	note(w, "kb", r.PathValue("name"))
	note(w, "document_id", r.PathValue("id"))
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	c.kbBaseDone(w, r, p, c.opts.KB.RemoveDocument(r.Context(), r.PathValue("name"), id), "kb.document_removed")
}

// kbBaseDone answers a change on a base's page: back to it with a flash,
// or the page again with the reason it was refused.
func (c *Console) kbBaseDone(w http.ResponseWriter, r *http.Request, p *staff.Principal, err error, flash string) {
	if err == nil {
		http.Redirect(w, r, "/console/kb/"+url.PathEscape(r.PathValue("name"))+"?flash="+flash, http.StatusSeeOther)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	key, detail, ok := kbError(err)
	if !ok {
		c.fail(w, r, p, err)
		return
	}
	v, ok := c.kbBase(w, r, p)
	if !ok {
		return
	}
	v.Error, v.Detail = key, detail
	w.WriteHeader(http.StatusBadRequest)
	c.render(w, r, p, "kbbase", "nav.kb", v)
}
