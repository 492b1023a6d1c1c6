package review

import (
	"context"
	"errors"

	"github.com/firebreak/firebreak/sanction"
)

// Default replies to the person behind a complaint or an appeal.
const (
	replyViolation   = "经人工审核，确认存在违规内容，已依法处理。 Reviewed by a person: the content broke the rules and has been dealt with."
	replyNoViolation = "经人工审核，未发现违规。 Reviewed by a person: no violation was found."
	replyUpheld      = "经人工复核，维持原处置。 Reviewed by a person: the sanction stands."
	replyGranted     = "经人工复核，申诉成立，已撤销相关处置。 Reviewed by a person: the appeal is granted and the sanction withdrawn."
)

// apply carries out a final decision: a strike for a confirmed violation,
// the answer to a complaint, the outcome of an appeal. A failure is kept
// in the effect and logged; the decision stands.
func (q *Queue) apply(ctx context.Context, it *Item, who Reviewer, d Decision, nx next) Effect {
	var eff Effect
	var err error
	switch it.Source {
	case SourceAppeal:
		err = q.applyAppeal(ctx, it, who, d, nx, &eff)
	case SourceComplaint:
		err = q.strike(ctx, it, who, nx, &eff)
		err = errors.Join(err, q.answerComplaint(ctx, it, who, d, nx, &eff))
	case SourceGrading:
		// A grade counts in its set's report and nowhere else.
	default:
		err = q.strike(ctx, it, who, nx, &eff)
	}
	if err != nil {
		eff.Error = err.Error()
		q.opts.Logger.Error("review decision effect failed", "item", it.ID, "err", err)
	}
	return eff
}

// strike adds a confirmed violation to the end user's record through the
// sanctions service: the ladder of the policy in force applies.
func (q *Queue) strike(ctx context.Context, it *Item, who Reviewer, nx next, eff *Effect) error {
	if nx.outcome != Violation || it.EndUser == "" || q.opts.Sanctions == nil {
		return nil
	}
	evidence := []string{it.Ref}
	if it.RecordID != "" && it.RecordID != it.Ref {
		evidence = append(evidence, it.RecordID)
	}
	out, err := q.opts.Sanctions.RecordViolation(ctx, sanction.Violation{TenantID: it.TenantID, EndUserID: it.EndUser,
		Code: nx.code, Source: sanction.SourceReview, Actor: who.ID, Evidence: evidence, Time: it.ExchangeAt})
	if err != nil {
		return err
	}
	eff.ViolationID, eff.Standing = out.ViolationID, out.Standing.Action.String()
	if out.Sanction != nil {
		eff.SanctionID = out.Sanction.ID
	}
	return nil
}

func (q *Queue) answerComplaint(ctx context.Context, it *Item, who Reviewer, d Decision, nx next, eff *Effect) error {
	if q.opts.Complaints == nil {
		return nil
	}
	reply := d.Reply
	if reply == "" {
		reply = replyNoViolation
		if nx.outcome == Violation {
			reply = replyViolation
		}
	}
	c, err := q.opts.Complaints.Answer(ctx, it.Ref, reply, who.Name)
	if err != nil {
		return err
	}
	eff.Answered = c.Status
	return nil
}
