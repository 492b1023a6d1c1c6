package admin

import (
	"net/http"
	"strconv"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/review"
)

// query reads an audit query from URL parameters: from, to (RFC 3339),
// tenant (id or name), user (the operator's user id), decision, code,
// outcome, request_id, limit, after, and kind: requests (the default),
// staff (staff actions) or all. A member limited to tenants searches only
// its tenants.
func (a *API) query(r *http.Request) (audit.Query, error) {
	v := r.URL.Query()
	q := audit.Query{Decision: v.Get("decision"), Code: v.Get("code"), Outcome: v.Get("outcome"),
		RequestID: v.Get("request_id"), After: v.Get("after")}
	q.Limit, _ = strconv.Atoi(v.Get("limit"))
	switch v.Get("kind") {
	case "", "requests":
		q.Requests = true
	case "staff":
		q.Route = audit.RouteStaff
	case "all":
	default:
		return q, clienterr.Errorf(clienterr.InvalidRequest, "kind %q: want requests, staff or all", v.Get("kind"))
	}
	var err error
	if q.From, err = parseTime(v.Get("from")); err != nil {
		return q, err
	}
	if q.To, err = parseTime(v.Get("to")); err != nil {
		return q, err
	}
	if v.Get("user") != "" && v.Get("tenant") == "" {
		return q, clienterr.Errorf(clienterr.InvalidRequest, "'user' needs 'tenant': user ids are the operator's, per tenant")
	}
	if ref := v.Get("tenant"); ref != "" {
		t, err := a.tenantByRef(r, ref)
		if err != nil {
			return q, err
		}
		q.TenantID = t.ID
		if ext := v.Get("user"); ext != "" {
			u, err := a.accounts.Users.Find(r.Context(), t.ID, ext)
			if err != nil {
				return q, err
			}
			q.EndUser = u.ID
		}
	}
	if p := PrincipalFrom(r.Context()); p != nil && p.Member.Limited() {
		switch {
		case q.TenantID == "" && len(p.Member.Tenants) == 1:
			q.TenantID = p.Member.Tenants[0]
		case q.TenantID == "" || !p.Member.InTenant(q.TenantID):
			return q, clienterr.Errorf(clienterr.Forbidden, "your role is limited to tenants: name one of yours with 'tenant'")
		}
	}
	return q, nil
}

func (a *API) searchAudit(w http.ResponseWriter, r *http.Request) {
	q, err := a.query(r)
	if err != nil {
		fail(w, err)
		return
	}
	es, err := a.trail.Search(r.Context(), q)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[audit.Entry]{Data: nonNil(es)})
}

func (a *API) exportAudit(w http.ResponseWriter, r *http.Request) {
	q, err := a.query(r)
	if err != nil {
		fail(w, err)
		return
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "jsonl":
		format = "jsonl"
		w.Header().Set("Content-Type", "application/x-ndjson")
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	default:
		fail(w, clienterr.Errorf(clienterr.InvalidRequest, "format must be jsonl or csv"))
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="firebreak-audit.`+format+`"`)
	if err := a.trail.Export(r.Context(), w, q, format); err != nil {
		a.log.Error("audit export", "err", err) // headers are out: the body is cut short
	}
}

// UserData answers an access request: the user's records with their
// retained content, the complaints filed for them with text and contact,
// and their appeals with text.
type UserData struct {
	Data       []audit.Entry     `json:"data"`
	Complaints []audit.Complaint `json:"complaints"`
	Appeals    []review.Appeal   `json:"appeals"`
}

// userRecords is a data-subject access request (Interim Measures Art. 11):
// what is kept of what the user wrote, decrypted.
func (a *API) userRecords(w http.ResponseWriter, r *http.Request) {
	tenantID, user, err := a.endUser(r)
	if err != nil {
		fail(w, err)
		return
	}
	ctx := r.Context()
	out := UserData{Complaints: []audit.Complaint{}, Appeals: []review.Appeal{}}
	es, err := a.trail.ExportUser(ctx, tenantID, user.ID)
	out.Data = nonNil(es)
	if err == nil && a.complaints != nil {
		var cs []audit.Complaint
		cs, err = a.complaints.List(ctx, audit.ComplaintFilter{TenantID: tenantID, EndUser: user.ExternalID, Limit: 1000})
		out.Complaints = append(out.Complaints, cs...)
	}
	if err == nil && a.review != nil {
		out.Appeals, err = a.review.UserAppeals(ctx, tenantID, user.ID)
	}
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, out)
}

// Erasure is the answer to a deletion request: how many records' content,
// complaints' texts and contacts and appeals' texts were erased, and
// whether a verified identity was forgotten.
type Erasure struct {
	Erased     int64 `json:"erased"` // records whose content was erased
	Complaints int64 `json:"complaints"`
	Appeals    int64 `json:"appeals"`
	// ReviewNotes counts review decisions whose note and corrected
	// answer were erased.
	ReviewNotes int64 `json:"review_notes"`
	Identity    bool  `json:"identity"`
}

// forgetUser answers a deletion request (Interim Measures Art. 11): it
// erases what the user wrote and what identifies them wherever it is
// kept — the records' retained content, the texts and contacts of the
// complaints filed for them, the texts of their appeals, the notes and
// corrected answers reviewers wrote on their exchanges, their identity
// verification. The records themselves stay (the law asks for six months
// of logs) and the chain still verifies; so do the complaints and appeals,
// without their text.
func (a *API) forgetUser(w http.ResponseWriter, r *http.Request) {
	tenantID, user, err := a.endUser(r)
	if err != nil {
		fail(w, err)
		return
	}
	ctx := r.Context()
	var out Erasure
	if out.Erased, err = a.trail.ForgetUser(ctx, tenantID, user.ID, actor(r)); err == nil && a.complaints != nil {
		out.Complaints, err = a.complaints.ForgetUser(ctx, tenantID, user.ExternalID)
	}
	if err == nil && a.review != nil {
		out.Appeals, err = a.review.ForgetUser(ctx, tenantID, user.ID)
	}
	if err == nil && a.review != nil {
		out.ReviewNotes, err = a.review.ForgetNotes(ctx, tenantID, user.ID, user.ExternalID)
	}
	if err == nil && a.identity != nil {
		err, out.Identity = a.identity.Forget(ctx, user.ID), true
	}
	if err != nil {
		fail(w, err)
		return
	}
	a.log.Info("content erased on request", "tenant", tenantID, "end_user", user.ID, "records", out.Erased,
		"complaints", out.Complaints, "appeals", out.Appeals, "review_notes", out.ReviewNotes, "identity", out.Identity, "actor", actor(r))
	note(r, "erased", strconv.FormatInt(out.Erased+out.Complaints+out.Appeals+out.ReviewNotes, 10))
	reply(w, http.StatusOK, out)
}

func (a *API) listComplaints(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	f := audit.ComplaintFilter{Status: v.Get("status"), Overdue: v.Get("overdue") == "true", After: v.Get("after")}
	f.Limit, _ = strconv.Atoi(v.Get("limit"))
	if ref := v.Get("tenant"); ref != "" {
		t, err := a.tenantByRef(r, ref)
		if err != nil {
			fail(w, err)
			return
		}
		f.TenantID = t.ID
	}
	cs, err := a.complaints.List(r.Context(), f)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[audit.Complaint]{Data: nonNil(cs)})
}

func (a *API) getComplaint(w http.ResponseWriter, r *http.Request) {
	c, err := a.complaints.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, c)
}

// ComplaintUpdate answers a complaint or changes its status.
type ComplaintUpdate struct {
	Answer string `json:"answer"`
	Status string `json:"status"`
}

func (a *API) updateComplaint(w http.ResponseWriter, r *http.Request) {
	var in ComplaintUpdate
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	id := r.PathValue("id")
	var err error
	switch {
	case in.Answer != "":
		_, err = a.complaints.Answer(r.Context(), id, in.Answer, actor(r))
	case in.Status != "":
		err = a.complaints.SetStatus(r.Context(), id, in.Status)
	default:
		err = clienterr.Errorf(clienterr.InvalidRequest, "give an answer or a status")
	}
	if err != nil {
		fail(w, err)
		return
	}
	a.getComplaint(w, r)
}
