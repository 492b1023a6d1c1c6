package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/sanction"
)

// Sanction is the wire form of a sanction.
type Sanction struct {
	ID         string               `json:"id"`
	TenantID   string               `json:"tenant_id"`
	EndUserID  string               `json:"end_user_id"`
	Action     sanction.Action      `json:"action"`
	Reason     string               `json:"reason"`
	Actor      string               `json:"actor"`
	Restrict   sanction.Restriction `json:"restrict"`
	CreatedAt  time.Time            `json:"created_at"`
	ExpiresAt  *time.Time           `json:"expires_at"`
	LiftedAt   *time.Time           `json:"lifted_at"`
	LiftedBy   string               `json:"lifted_by,omitempty"`
	LiftReason string               `json:"lift_reason,omitempty"`
}

func sanctionOf(s *sanction.Sanction) Sanction {
	return Sanction{ID: s.ID, TenantID: s.TenantID, EndUserID: s.EndUserID, Action: s.Action, Reason: s.Reason,
		Actor: s.Actor, Restrict: s.Restrict, CreatedAt: s.CreatedAt, ExpiresAt: timePtr(s.ExpiresAt),
		LiftedAt: timePtr(s.LiftedAt), LiftedBy: s.LiftedBy, LiftReason: s.LiftReason}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Standing is a user's standing with the sanctions and violations on record.
type Standing struct {
	User       User            `json:"user"`
	Standing   sanction.Action `json:"standing"`
	Until      *time.Time      `json:"until"`
	Sanctions  []Sanction      `json:"sanctions"`
	Violations []Violation     `json:"violations"`
}

// Violation is the wire form of a recorded violation.
type Violation struct {
	ID         string    `json:"id"`
	Seq        int64     `json:"seq"` // the user's count of violations
	Code       string    `json:"code"`
	Direction  string    `json:"direction"`
	Source     string    `json:"source"`
	Actor      string    `json:"actor"`
	Evidence   []string  `json:"evidence"`
	Time       time.Time `json:"time"`
	RecordedAt time.Time `json:"recorded_at"`
}

// endUser finds the {user} of a path (the operator's user id) within the
// {tenant}. Reads do not create users; writes (a sanction imposed before
// the user's first request) do.
func (a *API) endUser(r *http.Request) (string, User, error) {
	t, err := a.tenant(r)
	if err != nil {
		return "", User{}, err
	}
	find := a.accounts.Users.Find
	if r.Method != http.MethodGet {
		find = a.accounts.Users.Resolve
	}
	u, err := find(r.Context(), t.ID, r.PathValue("user"))
	if err != nil {
		return "", User{}, err
	}
	return t.ID, User{ID: u.ID, TenantID: u.TenantID, ExternalID: u.ExternalID, Status: u.Status,
		CreatedAt: u.CreatedAt, LastSeenAt: u.LastSeenAt}, nil
}

func (a *API) getStanding(w http.ResponseWriter, r *http.Request) {
	tenantID, user, err := a.endUser(r)
	if err != nil {
		fail(w, err)
		return
	}
	ctx := r.Context()
	st, err := a.sanctions.Standing(ctx, tenantID, user.ID)
	if err != nil {
		fail(w, err)
		return
	}
	hist, err := a.sanctions.History(ctx, tenantID, user.ID, 100)
	if err != nil {
		fail(w, err)
		return
	}
	vios, err := a.sanctions.Violations(ctx, tenantID, user.ID, 100)
	if err != nil {
		fail(w, err)
		return
	}
	out := Standing{User: user, Standing: st.Action, Until: timePtr(st.Until), Sanctions: []Sanction{}, Violations: []Violation{}}
	for i := range hist {
		out.Sanctions = append(out.Sanctions, sanctionOf(&hist[i]))
	}
	for _, v := range vios {
		out.Violations = append(out.Violations, Violation{ID: v.ID, Seq: v.Seq, Code: v.Code, Direction: v.Direction.String(),
			Source: string(v.Source), Actor: v.Actor, Evidence: v.Evidence, Time: v.Time, RecordedAt: v.RecordedAt})
	}
	reply(w, http.StatusOK, out)
}

// ImposeInput imposes a sanction by hand.
type ImposeInput struct {
	Action   sanction.Action      `json:"action"`
	Duration config.Duration      `json:"duration"` // e.g. "168h"; empty: until lifted
	Restrict sanction.Restriction `json:"restrict"`
	Reason   string               `json:"reason"`
}

func (a *API) imposeSanction(w http.ResponseWriter, r *http.Request) {
	tenantID, user, err := a.endUser(r)
	if err != nil {
		fail(w, err)
		return
	}
	var in ImposeInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	s, err := a.sanctions.Impose(r.Context(), sanction.Imposition{TenantID: tenantID, EndUserID: user.ID,
		Action: in.Action, Duration: time.Duration(in.Duration), Restrict: in.Restrict, Reason: in.Reason, Actor: actor(r)})
	note(r, "action", in.Action.String())
	note(r, "reason", in.Reason)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusCreated, sanctionOf(s))
}

// LiftInput lifts a sanction, e.g. on appeal.
type LiftInput struct {
	Reason string `json:"reason"`
}

func (a *API) liftSanction(w http.ResponseWriter, r *http.Request) {
	var in LiftInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	if in.Reason == "" {
		fail(w, &clienterr.Error{Code: clienterr.InvalidRequest, Param: "reason", Message: "a reason is required to lift a sanction"})
		return
	}
	note(r, "reason", in.Reason)
	s, err := a.sanctions.Lift(r.Context(), r.PathValue("id"), actor(r), in.Reason)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, sanctionOf(s))
}

// BlacklistEntry is the wire form of a blacklist entry. On creation,
// kinds phone and id_number take the plain number in Value; the server
// stores only its keyed hash.
type BlacklistEntry struct {
	ID        string        `json:"id,omitempty"`
	Tenant    string        `json:"tenant,omitempty"` // tenant id or name; "" for every tenant
	Kind      sanction.Kind `json:"kind"`
	Value     string        `json:"value"`
	Reason    string        `json:"reason"`
	CreatedBy string        `json:"created_by,omitempty"`
	CreatedAt *time.Time    `json:"created_at,omitempty"`
	ExpiresAt *time.Time    `json:"expires_at,omitempty"`
}

func (a *API) listBlacklist(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	f := sanction.Filter{AnyTenant: q.Get("tenant") == "", Kind: sanction.Kind(q.Get("kind")), After: q.Get("after"), Limit: limit}
	if ref := q.Get("tenant"); ref != "" {
		t, err := a.tenantByRef(r, ref)
		if err != nil {
			fail(w, err)
			return
		}
		f.TenantID = t.ID
	}
	entries, err := a.sanctions.Entries(r.Context(), f)
	if err != nil {
		fail(w, err)
		return
	}
	out := list[BlacklistEntry]{Data: []BlacklistEntry{}}
	for _, e := range entries {
		created := e.CreatedAt
		out.Data = append(out.Data, BlacklistEntry{ID: e.ID, Tenant: e.TenantID, Kind: e.Kind, Value: e.Value,
			Reason: e.Reason, CreatedBy: e.CreatedBy, CreatedAt: &created, ExpiresAt: timePtr(e.ExpiresAt)})
	}
	reply(w, http.StatusOK, out)
}

func (a *API) addBlacklist(w http.ResponseWriter, r *http.Request) {
	var in BlacklistEntry
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	e := sanction.Entry{Kind: in.Kind, Value: in.Value, Reason: in.Reason, CreatedBy: actor(r)}
	note(r, "kind", string(in.Kind))
	note(r, "reason", in.Reason)
	if in.ExpiresAt != nil {
		e.ExpiresAt = *in.ExpiresAt
	}
	if in.Tenant != "" {
		t, err := a.tenantByRef(r, in.Tenant)
		if err != nil {
			fail(w, err)
			return
		}
		e.TenantID = t.ID
	}
	var err error
	switch in.Kind {
	case sanction.KindPhone:
		e.Value, err = a.sanctions.HashPhone(in.Value)
	case sanction.KindIDNumber:
		e.Value, err = a.sanctions.HashIDNumber(in.Value)
	}
	if err != nil {
		fail(w, err)
		return
	}
	added, err := a.sanctions.AddEntry(r.Context(), e)
	if err != nil {
		fail(w, err)
		return
	}
	created := added.CreatedAt
	reply(w, http.StatusCreated, BlacklistEntry{ID: added.ID, Tenant: added.TenantID, Kind: added.Kind, Value: added.Value,
		Reason: added.Reason, CreatedBy: added.CreatedBy, CreatedAt: &created, ExpiresAt: timePtr(added.ExpiresAt)})
}

func (a *API) removeBlacklist(w http.ResponseWriter, r *http.Request) {
	if err := a.sanctions.RemoveEntry(r.Context(), r.PathValue("id")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return t, clienterr.Errorf(clienterr.InvalidRequest, "time %q: want RFC 3339 or YYYY-MM-DD", s)
		}
	}
	return t, nil
}
