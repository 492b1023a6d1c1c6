package console

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/staff"
	"github.com/firebreak/firebreak/store"
)

func (c *Console) reviewRoutes() {
	if c.opts.Review == nil {
		return
	}
	c.add("GET /console/review", staff.ViewReview, c.reviewQueue)
	c.add("POST /console/review/next", staff.DecideReview, c.reviewNext)
	c.add("GET /console/review/items/{id}", staff.ViewReview, c.reviewItem)
	c.add("POST /console/review/items/{id}/claim", staff.DecideReview, c.reviewClaim)
	c.add("POST /console/review/items/{id}/release", staff.DecideReview, c.reviewRelease)
	c.add("POST /console/review/items/{id}/decide", staff.DecideReview, c.reviewDecide)
	c.add("GET /console/review/rectify", staff.ExportRectify, c.reviewRectify)
	c.add("POST /console/review/items/{id}/propose", staff.DecideReview, c.reviewPropose)
}

// reviewPropose records a proposed term or allow-list phrase, measured
// against recorded traffic, and shows the item with it.
func (c *Console) reviewPropose(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	id := r.PathValue("id")
	f := r.PostForm
	pr, err := c.opts.Review.Propose(r.Context(), c.opts.Policy, reviewer(p), review.Proposal{ItemID: id,
		Kind: f.Get("kind"), Text: f.Get("text"), Code: f.Get("code"), Action: f.Get("action")})
	if err != nil {
		c.reviewFailed(w, r, p, "/console/review/items/"+id, err)
		return
	}
	note(w, "proposal", pr.ID)
	note(w, "changed", strconv.Itoa(pr.Changed))
	to := "/console/review/items/" + id + "?flash=review.proposed"
	if l := f.Get("lease"); l != "" {
		to += "&lease=" + url.QueryEscape(l)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// reviewDraft opens the policy page on the bundle in force with the open
// proposals of the desk added: the policy editor dry-runs and publishes it
// like any edit.
func (c *Console) reviewDraft(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	ps, err := c.opts.Review.Proposals(r.Context(), "open")
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	base, err := c.opts.Policy.Bundle(r.Context(), "")
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	draft, err := review.Draft(base, ps)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v, err := c.policyView(r, filesOf(draft))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	for _, pr := range ps {
		v.Proposals = append(v.Proposals, pr.ID)
	}
	c.render(w, r, p, "policy", "nav.policy", v)
}

// reviewRectify downloads confirmed cases as fine-tuning data: the chat
// SFT file, the preference pairs or the SFT file's index of audit record
// ids, by format; filters by decision time, risk code and route. The
// download is recorded as an export.
func (c *Console) reviewRectify(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	q := r.URL.Query()
	f := review.RectifyFilter{Code: q.Get("code"), Route: q.Get("route"), System: q.Get("system")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			d, err := time.Parse("2006-01-02", v)
			if err != nil {
				c.errorPage(w, r, p, http.StatusBadRequest)
				return
			}
			*t.dst = d
		}
	}
	var buf bytes.Buffer
	var files review.RectifyFiles
	name := "firebreak-" + q.Get("format") + ".jsonl"
	switch q.Get("format") {
	case "sft":
		files.SFT = &buf
	case "preference":
		files.Pairs = &buf
	case "index":
		files.SFT, files.Index = io.Discard, &buf
	default:
		c.errorPage(w, r, p, http.StatusBadRequest)
		return
	}
	x, err := c.opts.Review.Rectify(r.Context(), f, p.Actor(), files)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Firebreak-Export", x.ID)
	_, _ = w.Write(buf.Bytes())
}

// reviewer is the member as the desk knows it.
func reviewer(p *staff.Principal) review.Reviewer {
	return review.Reviewer{ID: p.Member.ID, Name: p.Actor(), Senior: p.Can(staff.SeniorReview)}
}

type reviewQueueView struct {
	Form      url.Values
	Items     []review.Item
	Counts    []review.SourceCount
	Agreement []review.Agreement
	Sources   []review.Source
	Spreads   []review.Spread
	Next      string
	Now       time.Time
	Flash     string
}

// reviewFilter reads the queue's filter form.
func reviewFilter(f url.Values) review.Filter {
	rf := review.Filter{State: review.StateOpen, Source: review.Source(f.Get("source")), Tenant: f.Get("tenant"),
		Code: f.Get("code"), Overdue: f.Get("overdue") != "", After: f.Get("after")}
	if f.Get("state") == review.StateDone {
		rf.State = review.StateDone
	}
	return rf
}

// reviewQueue shows the queue by deadline with its service-level timers
// and the reviewers' agreement.
func (c *Console) reviewQueue(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	f := r.URL.Query()
	q := c.opts.Review
	items, err := q.List(r.Context(), reviewFilter(f))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v := reviewQueueView{Form: f, Items: items, Sources: review.Sources, Now: c.opts.Now(), Flash: f.Get("flash")}
	if v.Counts, err = q.Counts(r.Context()); err == nil {
		v.Agreement, err = q.Agreements(r.Context())
	}
	if err == nil {
		_, v.Spreads, err = q.Timings(r.Context(), c.opts.Now().AddDate(0, 0, -90), time.Time{})
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if len(items) == 50 {
		next := url.Values{}
		for k, vs := range f {
			next[k] = vs
		}
		next.Set("after", items[len(items)-1].Cursor())
		v.Next = next.Encode()
	}
	c.render(w, r, p, "review", "nav.review", v)
}

// reviewNext claims the next item the filter selects and opens it.
func (c *Console) reviewNext(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	f := reviewFilter(r.PostForm)
	f.After = ""
	l, err := c.opts.Review.Next(r.Context(), reviewer(p), f)
	if err != nil {
		c.reviewFailed(w, r, p, "/console/review", err)
		return
	}
	note(w, "item", l.Item.ID)
	http.Redirect(w, r, "/console/review/items/"+l.Item.ID+"?lease="+l.Token, http.StatusSeeOther)
}

// Segment is a piece of an exchange's text, marked when a hit covers it.
type Segment struct {
	Text string
	Hit  bool
	Code string
}

// segments cuts text at the hits' offsets.
func segments(text string, hits []safety.Hit) []Segment {
	marked := make([]string, len(text)+1) // the code that covers each byte, "" when none
	for _, h := range hits {
		for i := max(h.Start, 0); i < min(h.End, len(text)); i++ {
			marked[i] = h.Code
		}
	}
	var out []Segment
	start := 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || marked[i] != marked[start] {
			out = append(out, Segment{Text: text[start:i], Hit: marked[start] != "", Code: marked[start]})
			start = i
		}
	}
	return out
}

type reviewItemView struct {
	Item      *review.Item
	Decisions []review.Recorded
	Entry     *audit.Entry
	Prompt    []Segment
	Answer    []Segment
	Policy    string // the version whose hits are highlighted
	Standing  string
	Appeal    *review.Appeal
	Complaint *audit.Complaint
	Grading   *review.GradingItem // the text of a grading set's item, for a member who may read content
	Lease     string              // the member's lease token, when the member holds the item
	Mine      bool
	Codes     []safety.RiskCode
	Proposals []review.Proposal
	Now       time.Time
	Flash     string
}

// reviewItem shows one item: the exchange with the hits highlighted, the
// machine's decision and policy version, the end user's standing, why it
// is queued, the decisions so far and, for the member holding it, the
// decision form.
func (c *Console) reviewItem(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	ctx := r.Context()
	it, err := c.opts.Review.Get(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	now := c.opts.Now()
	v := reviewItemView{Item: it, Codes: safety.RiskCodes, Now: now, Flash: r.URL.Query().Get("flash")}
	v.Mine = it.LeaseOwner == p.Member.ID && it.Leased(now)
	if v.Mine {
		v.Lease = r.URL.Query().Get("lease")
	}
	if v.Decisions, err = c.opts.Review.Decisions(ctx, it.ID); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if it.RecordID != "" && c.opts.Trail != nil {
		c.reviewExchange(r, p, it, &v)
	}
	if ps, err := c.opts.Review.Proposals(ctx, ""); err == nil {
		for _, pr := range ps {
			if pr.ItemID == it.ID {
				v.Proposals = append(v.Proposals, pr)
			}
		}
	}
	if it.EndUser != "" && c.opts.Sanctions != nil {
		if st, err := c.opts.Sanctions.Standing(ctx, it.TenantID, it.EndUser); err == nil {
			v.Standing = st.Action.String()
		}
	}
	// An appeal's, a complaint's or a graded text is decrypted personal
	// data: shown to a member who may read content, and the view recorded.
	viewed := ""
	if p.Can(staff.ViewContent) {
		switch it.Source {
		case review.SourceAppeal:
			if v.Appeal, err = c.opts.Review.Appeal(ctx, "", "", it.Ref); err == nil {
				viewed = "console view appeal text"
			}
		case review.SourceComplaint:
			if c.opts.Complaints != nil {
				if v.Complaint, err = c.opts.Complaints.Get(ctx, it.Ref); err == nil {
					viewed = "console view complaint text"
				}
			}
		case review.SourceGrading:
			if v.Grading, err = c.opts.Review.Grading(ctx, it.Ref); err == nil {
				viewed = "console view grading text"
			}
		}
	}
	if viewed != "" {
		c.appendAction(r, audit.Action{Time: now, Actor: p.Actor(), Via: p.Via + ":" + p.CredentialID,
			Name: viewed, Target: it.Ref, Status: http.StatusOK, Outcome: audit.OutcomeOK, Details: []string{"item=" + it.ID}})
	}
	c.render(w, r, p, "reviewitem", "nav.review", v)
}

// reviewExchange fills the exchange: decrypted content (for a member who
// may read content; the view is recorded) with the hits of the policy in
// force highlighted.
func (c *Console) reviewExchange(r *http.Request, p *staff.Principal, it *review.Item, v *reviewItemView) {
	e, err := c.opts.Trail.Content(r.Context(), it.RecordID)
	if err != nil {
		return
	}
	v.Entry = &e
	if !p.Can(staff.ViewContent) || (e.Content.Prompt == "" && e.Content.Answer == "") {
		e.Content = audit.Content{}
		return
	}
	c.appendAction(r, audit.Action{Time: c.opts.Now(), Actor: p.Actor(), Via: p.Via + ":" + p.CredentialID,
		Name: "console view review content", Target: it.RecordID, TenantID: it.TenantID, Status: http.StatusOK,
		Outcome: audit.OutcomeOK, Details: []string{"item=" + it.ID}})
	var eng *safety.Engine
	if c.opts.Policy != nil {
		eng = c.opts.Policy.Engine(it.Route, it.TenantID, false)
	}
	if eng == nil {
		v.Prompt, v.Answer = segments(e.Content.Prompt, nil), segments(e.Content.Answer, nil)
		return
	}
	v.Policy = eng.Version()
	v.Prompt = segments(e.Content.Prompt, eng.Check(safety.Input, e.Content.Prompt).Hits)
	v.Answer = segments(e.Content.Answer, eng.Check(safety.Output, e.Content.Answer).Hits)
}

func (c *Console) reviewClaim(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	id := r.PathValue("id")
	l, err := c.opts.Review.Claim(r.Context(), id, reviewer(p))
	if err != nil {
		c.reviewFailed(w, r, p, "/console/review/items/"+id, err)
		return
	}
	http.Redirect(w, r, "/console/review/items/"+id+"?lease="+l.Token, http.StatusSeeOther)
}

func (c *Console) reviewRelease(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	id := r.PathValue("id")
	if err := c.opts.Review.Release(r.Context(), id, r.PostFormValue("lease")); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/review?flash=review.released", http.StatusSeeOther)
}

// reviewDecide records the member's decision on the item it holds, then
// claims the next item of the queue when asked ("and next").
func (c *Console) reviewDecide(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	id := r.PathValue("id")
	f := r.PostForm
	d := review.Decision{Verdict: review.Verdict(f.Get("verdict")), Code: f.Get("code"), Note: strings.TrimSpace(f.Get("note")),
		Corrected: strings.TrimSpace(f.Get("corrected")), Reply: strings.TrimSpace(f.Get("reply"))}
	note(w, "verdict", string(d.Verdict))
	note(w, "code", d.Code)
	it, err := c.opts.Review.Decide(r.Context(), id, f.Get("lease"), reviewer(p), d)
	if err != nil {
		c.reviewFailed(w, r, p, "/console/review/items/"+id, err)
		return
	}
	if it.State == review.StateDone {
		note(w, "outcome", string(it.Outcome))
	}
	if f.Get("next") != "" {
		if l, err := c.opts.Review.Next(r.Context(), reviewer(p), review.Filter{}); err == nil {
			http.Redirect(w, r, "/console/review/items/"+l.Item.ID+"?lease="+l.Token+"&flash=review.decided", http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/console/review?flash=review.decided", http.StatusSeeOther)
}

// reviewFailed answers the desk's refusals (lost lease, claimed, empty
// queue, a bad decision) with a message on the page they came from.
func (c *Console) reviewFailed(w http.ResponseWriter, r *http.Request, p *staff.Principal, to string, err error) {
	flash := ""
	switch {
	case errors.Is(err, review.ErrLeaseLost):
		flash = "review.lease_lost"
	case errors.Is(err, review.ErrClaimed):
		flash = "review.claimed"
	case errors.Is(err, review.ErrEmpty):
		flash = "review.empty"
	case errors.Is(err, review.ErrOwnItem):
		flash = "review.own"
	case errors.Is(err, review.ErrNeedSenior):
		flash = "review.senior"
	case errors.Is(err, review.ErrDone):
		flash = "review.done"
	case errors.Is(err, store.ErrNotFound):
		c.errorPage(w, r, p, http.StatusNotFound)
		return
	case clienterr.As(err).Code == clienterr.InvalidRequest:
		flash = "review.invalid"
	}
	if flash == "" {
		c.fail(w, r, p, err)
		return
	}
	note(w, "refused", flash)
	http.Redirect(w, r, to+"?flash="+flash, http.StatusSeeOther)
}
