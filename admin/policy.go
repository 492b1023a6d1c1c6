package admin

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
)

// maxPolicyBody bounds a request that carries a bundle: a bundle may be
// up to policy.MaxBundleBytes, plus JSON escaping.
const maxPolicyBody = 2*policy.MaxBundleBytes + 1<<20

// PolicyFiles is a bundle on the wire: file path → content.
type PolicyFiles struct {
	Files map[string]string `json:"files"`
}

// PolicyPublish publishes a bundle.
type PolicyPublish struct {
	Files  map[string]string `json:"files"`
	Reason string            `json:"reason"`
}

// PolicyRollback puts a stored version back in force; "" is the one
// before the current.
type PolicyRollback struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// PolicySample is one line of recorded traffic.
type PolicySample struct {
	Direction string `json:"direction"`
	Text      string `json:"text"`
	Route     string `json:"route,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
	Minor     bool   `json:"minor,omitempty"`
}

// PolicyDryRun replays samples through the version in force and a
// proposed bundle.
type PolicyDryRun struct {
	Files    map[string]string `json:"files"`
	Samples  []PolicySample    `json:"samples"`
	Examples int               `json:"examples"`
	// Recorded, when set, adds real traffic from the audit trail: the
	// newest records whose content is retained (encrypted), prompts and
	// answers both.
	Recorded *RecordedTraffic `json:"recorded"`
}

// RecordedTraffic selects retained records for a dry run.
type RecordedTraffic struct {
	From   string `json:"from"`   // RFC 3339 or YYYY-MM-DD
	To     string `json:"to"`     // exclusive
	Tenant string `json:"tenant"` // tenant id
	Limit  int    `json:"limit"`  // records; default 100, at most 1000
}

// PolicyValidation is the answer to validate: the bundle's version and
// every problem, each naming file and line.
type PolicyValidation struct {
	Version  string           `json:"version"`
	Valid    bool             `json:"valid"`
	Problems []policy.Problem `json:"problems"`
}

type policyAPI struct {
	svc   *policy.Service
	trail *audit.Trail // nil: no recorded traffic to replay
}

func (h policyAPI) status(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusOK, h.svc.Status())
}

func (h policyAPI) history(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	evs, err := h.svc.History(r.Context(), limit)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[policy.Event]{Data: append([]policy.Event{}, evs...)})
}

func (h policyAPI) version(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("version")
	if id == "active" {
		id = ""
	}
	b, err := h.svc.Bundle(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, PolicyFiles{Files: b.Files()})
}

func (h policyAPI) coverage(w http.ResponseWriter, r *http.Request) {
	cov, err := h.svc.Coverage(r.Context(), policy.Floors{})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, cov)
}

func (h policyAPI) validate(w http.ResponseWriter, r *http.Request) {
	var in PolicyFiles
	b, err := decodeBundle(r, &in, &in.Files)
	if err != nil {
		fail(w, err)
		return
	}
	out := PolicyValidation{Version: b.ID(), Valid: true, Problems: []policy.Problem{}}
	var inv *policy.InvalidError
	switch err := policy.Validate(b); {
	case errors.As(err, &inv):
		out.Valid, out.Problems = false, inv.Problems
	case err != nil:
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, out)
}

func (h policyAPI) dryRun(w http.ResponseWriter, r *http.Request) {
	var in PolicyDryRun
	b, err := decodeBundle(r, &in, &in.Files)
	if err != nil {
		fail(w, err)
		return
	}
	traffic, err := samples(in.Samples)
	if err == nil && in.Recorded != nil {
		err = h.addRecorded(r, traffic.(*sliceTraffic), *in.Recorded)
	}
	if err != nil {
		fail(w, err)
		return
	}
	rep, err := h.svc.DryRun(r.Context(), b, traffic, policy.DryRunOptions{Examples: in.Examples})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, rep)
}

func (h policyAPI) publish(w http.ResponseWriter, r *http.Request) {
	var in PolicyPublish
	b, err := decodeBundle(r, &in, &in.Files)
	if err != nil {
		fail(w, err)
		return
	}
	res, err := h.svc.Publish(r.Context(), b, policy.Change{Author: actor(r), Reason: in.Reason})
	note(r, "reason", in.Reason)
	if err != nil {
		fail(w, err)
		return
	}
	note(r, "version", res.Version)
	reply(w, http.StatusOK, res)
}

func (h policyAPI) rollback(w http.ResponseWriter, r *http.Request) {
	var in PolicyRollback
	if err := decodeLimit(r, &in, 1<<20); err != nil {
		fail(w, err)
		return
	}
	res, err := h.svc.Rollback(r.Context(), in.Version, policy.Change{Author: actor(r), Reason: in.Reason})
	note(r, "reason", in.Reason)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, res)
}

// decodeBundle reads a body that carries a bundle's files and builds it.
func decodeBundle(r *http.Request, v any, files *map[string]string) (*policy.Bundle, error) {
	if err := decodeLimit(r, v, maxPolicyBody); err != nil {
		return nil, err
	}
	b, err := policy.BundleFromText(*files)
	if err != nil {
		return nil, clienterr.Wrap(clienterr.InvalidRequest, err, err.Error())
	}
	return b, nil
}

// samples turns the wire samples into a policy.Traffic.
func samples(in []PolicySample) (policy.Traffic, error) {
	out := make([]policy.Sample, len(in))
	for i, s := range in {
		out[i] = policy.Sample{Text: s.Text, Route: s.Route, Tenant: s.Tenant, Minor: s.Minor}
		switch s.Direction {
		case "input", "":
		case "output":
			out[i].Direction = safety.Output
		default:
			return nil, clienterr.Errorf(clienterr.InvalidRequest, "samples[%d].direction %q: want input or output", i, s.Direction)
		}
	}
	return &sliceTraffic{s: out}, nil
}

type sliceTraffic struct {
	s []policy.Sample
}

func (t *sliceTraffic) Next() (policy.Sample, error) {
	if len(t.s) == 0 {
		return policy.Sample{}, io.EOF
	}
	s := t.s[0]
	t.s = t.s[1:]
	return s, nil
}

// addRecorded appends the retained prompts and answers of audit records
// to a dry run's traffic, each with its route so overlays apply.
func (h policyAPI) addRecorded(r *http.Request, t *sliceTraffic, in RecordedTraffic) error {
	if h.trail == nil {
		return clienterr.Errorf(clienterr.InvalidRequest, "this server keeps no audit trail to replay")
	}
	q := audit.Query{TenantID: in.Tenant, Limit: in.Limit}
	var err error
	if q.From, err = parseTime(in.From); err != nil {
		return err
	}
	if q.To, err = parseTime(in.To); err != nil {
		return err
	}
	es, err := h.trail.Retained(r.Context(), q)
	if err != nil {
		return err
	}
	// The report shows a recorded text only to a caller who may read
	// decrypted content; others see which records changed, not what they say.
	hidden := !PrincipalFrom(r.Context()).Can(staff.ViewContent)
	for _, e := range es {
		if e.Content.Prompt != "" {
			t.s = append(t.s, policy.Sample{Direction: safety.Input, Text: e.Content.Prompt, Route: e.Model, Ref: e.ID, Hidden: hidden})
		}
		if e.Content.Answer != "" {
			t.s = append(t.s, policy.Sample{Direction: safety.Output, Text: e.Content.Answer, Route: e.Model, Ref: e.ID, Hidden: hidden})
		}
	}
	note(r, "recorded", strconv.Itoa(len(es)))
	return nil
}
