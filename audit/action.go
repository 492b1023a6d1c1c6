package audit

import (
	"strings"
	"time"
)

// RouteStaff is the Route of a record that is not a request to a model but
// an action of a staff member: a login, a failed login, a change made
// through the admin API or the console, a view of decrypted content. Such
// records go on the same hash chain as the requests, so a change to the
// service is as tamper-evident as the traffic it governs.
const RouteStaff = "staff"

// ActionErase names the action ForgetUser records: the erasure of an end
// user's content on request; its target is the end user.
const ActionErase = "erase content"

// Outcomes of staff actions.
const (
	OutcomeDenied = "denied" // refused: no credential, wrong credential, no permission
	OutcomeFailed = "failed" // allowed, but the change did not happen (bad input, conflict)
)

// actorPrefix marks a staff member's name in the end-user column.
const actorPrefix = "staff:"

// Action is a staff member's act as Record and Entry.Action see it. It is
// stored in the columns of a request record: the actor in end_user (as
// "staff:<name>"), the credential in key_id, the action in model, the
// target in upstream and the details (a reason, a role) in the list that
// requests use for sanctions.
type Action struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	Actor     string    `json:"actor"`     // the staff member's name ("" when unknown: a failed login)
	Via       string    `json:"via"`       // session:<id>, token:<id>, bootstrap, password
	Name      string    `json:"name"`      // "login", "logout", "POST /admin/v1/tenants" …
	Target    string    `json:"target"`    // what it acted on: a path, a name
	TenantID  string    `json:"tenant_id"` // the tenant it concerned, if one
	Status    int       `json:"status"`    // the HTTP status answered
	Outcome   string    `json:"outcome"`   // ok, denied, failed
	Details   []string  `json:"details"`   // "reason=…", "role=…"
}

// ActorEndUser is the end-user value under which an actor's actions are
// stored, for a search by person.
func ActorEndUser(name string) string { return actorPrefix + name }

// Record returns the audit record of a.
func (a Action) Record() Record {
	return Record{RequestID: a.RequestID, Time: a.Time, TenantID: a.TenantID, KeyID: a.Via,
		EndUser: ActorEndUser(a.Actor), Model: a.Name, Route: RouteStaff, Upstream: a.Target,
		Status: a.Status, Outcome: a.Outcome, Sanctions: a.Details}
}

// Action returns the staff action an entry records, if it records one.
func (e Entry) Action() (Action, bool) {
	if e.Route != RouteStaff {
		return Action{}, false
	}
	return Action{Time: e.Time, RequestID: e.RequestID, Actor: strings.TrimPrefix(e.EndUser, actorPrefix), Via: e.KeyID,
		Name: e.Model, Target: e.Upstream, TenantID: e.TenantID, Status: e.Status, Outcome: e.Outcome,
		Details: e.Sanctions}, true
}
