package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
)

// complaintInput is the body of POST /v1/complaints: an operator's app
// files what its user reports, about one response (by its request id) or
// about the service in general. The complaint is the end user's the
// request speaks for, as on a chat completion (the key's own user, an
// identity token, the user header or "user"), so that access and
// deletion requests find it; none names a complaint of nobody.
type complaintInput struct {
	RequestID string `json:"request_id"`
	Category  string `json:"category"`
	Text      string `json:"text"`
	Contact   string `json:"contact"`
	User      string `json:"user"`
}

// complaintView is what the complainant's app may see of a complaint.
type complaintView struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	Status     string    `json:"status"`
	Category   string    `json:"category"`
	RequestID  string    `json:"request_id,omitempty"`
	Created    time.Time `json:"created_at"`
	Deadline   time.Time `json:"deadline"`
	Answer     string    `json:"answer,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
}

func viewOf(c *audit.Complaint) complaintView {
	return complaintView{ID: c.ID, Object: "complaint", Status: c.Status, Category: c.Category, RequestID: c.RequestID,
		Created: c.Time, Deadline: c.Deadline, Answer: c.Answer, AnsweredAt: c.AnsweredAt}
}

// complaintCategories are the kinds of complaint the intake accepts.
var complaintCategories = map[string]bool{
	"illegal_content": true, "harmful_content": true, "personal_data": true, "discrimination": true,
	"inaccurate": true, "intellectual_property": true, "minors": true, "other": true,
}

func (g *Gateway) fileComplaint(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var in complaintInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		openai.WriteError(w, clienterr.Wrap(clienterr.InvalidJSON, err, "invalid complaint: "+err.Error()))
		return
	}
	in.Text = strings.TrimSpace(in.Text)
	switch {
	case !complaintCategories[in.Category]:
		openai.WriteError(w, &clienterr.Error{Code: clienterr.InvalidRequest, Param: "category",
			Message: "category must be one of illegal_content, harmful_content, personal_data, discrimination, inaccurate, intellectual_property, minors, other"})
		return
	case in.Text == "" || len(in.Text) > 8000:
		openai.WriteError(w, &clienterr.Error{Code: clienterr.InvalidRequest, Param: "text", Message: "text must be 1 to 8000 bytes"})
		return
	case len(in.Contact) > 256:
		openai.WriteError(w, clienterr.Errorf(clienterr.InvalidRequest, "contact too long"))
		return
	case in.RequestID != "" && !isRequestID(in.RequestID):
		// Only an id the gateway minted: free text here would be kept
		// as it came, beside the sealed text and contact.
		openai.WriteError(w, &clienterr.Error{Code: clienterr.InvalidRequest, Param: "request_id",
			Message: "request_id must be the X-Request-Id of the answer complained about (req_ and 24 hex digits)"})
		return
	}
	endUser, err := g.complainant(r, c, in.User)
	if err != nil {
		openai.WriteError(w, err)
		return
	}
	filed, err := g.complaints.Create(r.Context(), audit.Complaint{TenantID: c.principal.Tenant.ID, EndUser: endUser,
		RequestID: in.RequestID, Category: in.Category, Text: in.Text, Contact: in.Contact})
	if err != nil {
		openai.WriteError(w, clienterr.Wrap(clienterr.Unavailable, err, "the complaint could not be stored; try again"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, viewOf(filed))
}

// complainant is the operator's id of the end user a complaint is filed
// for: as a chat completion names its user, without recording a user
// that only a complaint names.
func (g *Gateway) complainant(r *http.Request, c *call, bodyUser string) (string, error) {
	u, err := g.tokenUser(r.Context(), c, r, bodyUser)
	switch {
	case err != nil:
		return "", err
	case u != nil:
		return u.ExternalID, nil
	}
	return g.endUserID(c.principal, bodyUser, r)
}

func (g *Gateway) getComplaint(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	got, err := g.complaints.Get(r.Context(), r.PathValue("id"))
	own := c.principal.Key.EndUser // a key of one end user reads only that user's complaints
	if err != nil || got.TenantID != c.principal.Tenant.ID || own != "" && got.EndUser != own {
		openai.WriteError(w, clienterr.Errorf(clienterr.NotFound, "no such complaint"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, viewOf(got))
}
