package review

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

// Proposal kinds.
const (
	ProposeTerm  = "term"  // a lexicon term, with code and action
	ProposeAllow = "allow" // an allow-list phrase for a false positive
)

// Files a draft adds to the bundle in force.
const (
	DraftTerms = "review-terms.txt"
	DraftAllow = "review-allow.txt"
)

// Proposal is a reviewer's proposed change to the policy.
type Proposal struct {
	ID          string    `json:"id"`
	ItemID      string    `json:"item_id"`
	Kind        string    `json:"kind"`
	Text        string    `json:"text"`
	Code        string    `json:"code,omitempty"`
	Action      string    `json:"action,omitempty"`
	Proposer    string    `json:"proposer"`
	Time        time.Time `json:"time"`
	Samples     int       `json:"samples"` // recorded texts replayed
	Changed     int       `json:"changed"` // of them, those it changes
	Status      string    `json:"status"`
	Version     string    `json:"version,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
}

func (p *Proposal) validate() error {
	p.Text = strings.TrimSpace(p.Text)
	if p.Text == "" || len(p.Text) > 200 || !utf8.ValidString(p.Text) || strings.ContainsAny(p.Text, "\t\n\r") {
		return clienterr.Errorf(clienterr.InvalidRequest, "a proposed phrase is 1 to 200 bytes on one line")
	}
	switch p.Kind {
	case ProposeTerm:
		if safety.ValidCode(p.Code) != nil {
			return clienterr.Errorf(clienterr.InvalidRequest, "a proposed term needs a risk code of GB/T 45654")
		}
		if p.Action == "" {
			p.Action = "refuse"
		}
		if a, err := safety.ParseAction(p.Action); err != nil || a == safety.Allow {
			return clienterr.Errorf(clienterr.InvalidRequest, "a proposed term's action is mask, review, refuse or block")
		}
	case ProposeAllow:
		p.Code, p.Action = "", ""
	default:
		return clienterr.Errorf(clienterr.InvalidRequest, "a proposal is a term or an allow-list phrase")
	}
	return nil
}

// Propose records a reviewer's proposal on an item and measures it first:
// the draft with it is replayed against recorded traffic (the newest
// exchanges whose content the trail keeps sealed), and the number of texts
// whose action it changes is kept with it.
func (q *Queue) Propose(ctx context.Context, pol *policy.Service, who Reviewer, p Proposal) (*Proposal, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if _, err := q.Get(ctx, p.ItemID); err != nil {
		return nil, err
	}
	p.ID, p.Proposer, p.Status, p.Time = newID("pp_"), who.ID, "open", q.opts.Now().UTC().Truncate(time.Millisecond)
	if pol != nil {
		rep, err := q.measure(ctx, pol, []Proposal{p})
		if err != nil {
			return nil, err
		}
		p.Samples, p.Changed = rep.Samples, rep.Changed
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO review_proposals (id, item_id, kind, text, code, action, proposer,
		time_ms, samples, changed, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open')`,
		p.ID, p.ItemID, p.Kind, p.Text, p.Code, p.Action, p.Proposer, ms(p.Time), p.Samples, p.Changed)
	if err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	return &p, nil
}

// measure dry-runs the draft of ps against recorded traffic.
func (q *Queue) measure(ctx context.Context, pol *policy.Service, ps []Proposal) (*policy.Report, error) {
	base, err := pol.Bundle(ctx, "")
	if err != nil {
		return nil, err
	}
	draft, err := Draft(base, ps)
	if err != nil {
		return nil, err
	}
	var traffic recorded
	if q.opts.Trail != nil {
		es, err := q.opts.Trail.Retained(ctx, audit.Query{Requests: true, Limit: 1000})
		if err == nil {
			for _, e := range es {
				traffic = append(traffic, policy.Sample{Direction: safety.Input, Text: e.Content.Prompt, Route: e.Model, Tenant: e.TenantID, Ref: e.ID, Hidden: true},
					policy.Sample{Direction: safety.Output, Text: e.Content.Answer, Route: e.Model, Tenant: e.TenantID, Ref: e.ID, Hidden: true})
			}
		}
	}
	return pol.DryRun(ctx, draft, &traffic, policy.DryRunOptions{})
}

type recorded []policy.Sample

func (t *recorded) Next() (policy.Sample, error) {
	for len(*t) > 0 {
		s := (*t)[0]
		*t = (*t)[1:]
		if s.Text != "" {
			return s, nil
		}
	}
	return policy.Sample{}, io.EOF
}

// Proposals returns proposals by status ("" every one), oldest first.
func (q *Queue) Proposals(ctx context.Context, status string) ([]Proposal, error) {
	rows, err := q.db.Read().QueryContext(ctx, `SELECT id, item_id, kind, text, code, action, proposer, time_ms, samples,
		changed, status, version, published_ms FROM review_proposals WHERE $1 = '' OR status = $1 ORDER BY time_ms, id`, status)
	if err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	defer rows.Close()
	var out []Proposal
	for rows.Next() {
		var p Proposal
		var t int64
		var pub sql.NullInt64
		if err := rows.Scan(&p.ID, &p.ItemID, &p.Kind, &p.Text, &p.Code, &p.Action, &p.Proposer, &t, &p.Samples,
			&p.Changed, &p.Status, &p.Version, &pub); err != nil {
			return nil, fmt.Errorf("proposals: %w", err)
		}
		p.Time = fromMs(t)
		if pub.Valid {
			p.PublishedAt = fromMs(pub.Int64)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Published marks proposals as taken into a published version.
func (q *Queue) Published(ctx context.Context, ids []string, version string, at time.Time) error {
	for _, id := range ids {
		if _, err := q.db.ExecContext(ctx, `UPDATE review_proposals SET status = 'published', version = $1, published_ms = $2
			WHERE id = $3 AND status = 'open'`, version, ms(at), id); err != nil {
			return fmt.Errorf("proposals published: %w", err)
		}
	}
	return nil
}

// Enforced records that replica put version in force at t (the first
// time only). The replica calls it from the policy service's hook.
func (q *Queue) Enforced(ctx context.Context, replica, version string, t time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO review_enforced (replica, version, time_ms) VALUES ($1, $2, $3)
		ON CONFLICT (replica, version) DO NOTHING`, replica, version, ms(t))
	return err
}

// Draft returns base with the proposals added: terms in DraftTerms and
// allow-list phrases in DraftAllow, both named in policy.yaml. A phrase
// already in the file is not repeated.
func Draft(base *policy.Bundle, ps []Proposal) (*policy.Bundle, error) {
	files := base.Files()
	var terms, allow []string
	for _, p := range ps {
		switch p.Kind {
		case ProposeTerm:
			terms = append(terms, p.Text+"\t"+p.Code+"\t"+p.Action)
		case ProposeAllow:
			allow = append(allow, p.Text)
		}
	}
	spec, err := addLists(files[policy.SpecFile], len(terms) > 0 && files[DraftTerms] == "", len(allow) > 0 && files[DraftAllow] == "")
	if err != nil {
		return nil, fmt.Errorf("draft: %w", err)
	}
	files[policy.SpecFile] = spec
	files[DraftTerms] = appendLines(files[DraftTerms], terms)
	files[DraftAllow] = appendLines(files[DraftAllow], allow)
	for _, name := range []string{DraftTerms, DraftAllow} {
		if files[name] == "" {
			delete(files, name)
		}
	}
	return policy.BundleFromText(files)
}

func appendLines(text string, lines []string) string {
	have := strings.Split(text, "\n")
	for _, l := range lines {
		if !slices.Contains(have, l) {
			if text != "" && !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			text += l + "\n"
			have = append(have, l)
		}
	}
	return text
}

// addLists names the draft's files in policy.yaml's lexicons and allow
// lists, editing the YAML document so its comments stay.
func addLists(spec string, terms, allow bool) (string, error) {
	if !terms && !allow {
		return spec, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(spec), &doc); err != nil {
		return "", err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", errors.New("policy.yaml is not a mapping")
	}
	root := doc.Content[0]
	list := func(key string) *yaml.Node {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				v := root.Content[i+1]
				if v.Kind != yaml.SequenceNode {
					*v = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
				}
				return v
			}
		}
		v := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
		return v
	}
	if terms {
		l := list("lexicons")
		l.Content = append(l.Content, &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "file"}, {Kind: yaml.ScalarNode, Value: DraftTerms}}})
	}
	if allow {
		l := list("allow")
		l.Content = append(l.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: DraftAllow})
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	return buf.String(), enc.Close()
}
