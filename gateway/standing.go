package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"slices"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/internal/clientip"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/sanction"
)

// deviceHeader names the operator's device id for a request, matched
// against device blacklist entries.
const deviceHeader = "X-Firebreak-Device"

// checkStanding refuses a request whose end user, address or device is
// blacklisted, or whose user is suspended or terminated. A restricted
// user may still use only the models the restriction allows.
func (g *Gateway) checkStanding(ctx context.Context, c *call, r *http.Request) error {
	if g.sanctions == nil {
		return nil
	}
	device, err := oneHeader(r, deviceHeader)
	if err != nil {
		return err
	}
	sub := sanction.Subject{TenantID: c.principal.Tenant.ID, IP: g.clientIP(r), DeviceID: device}
	if c.user != nil {
		sub.EndUserID = c.user.ID
		if g.identity != nil { // a verified phone or ID number may be blacklisted
			st, err := g.identity.State(ctx, c.user.ID)
			if err != nil {
				return clienterr.Wrap(clienterr.Unavailable, err, "could not read the user's verification state; try again")
			}
			sub.PhoneHash, sub.IDHash = st.Hashes()
		}
	}
	if _, blocked := g.sanctions.Blocked(ctx, sub); blocked {
		c.outcome = "blacklisted"
		return clienterr.Errorf(clienterr.Forbidden, "access denied: this user, address or device is blocked by the service operator")
	}
	if c.user == nil {
		return nil
	}
	st, err := g.sanctions.Standing(ctx, c.principal.Tenant.ID, c.user.ID)
	if err != nil {
		return clienterr.Wrap(clienterr.Unavailable, err, "could not check the user's standing; try again")
	}
	c.standing = st
	if err := st.Err(); err != nil {
		c.outcome = "sanctioned"
		return err
	}
	return nil
}

// restrictedModel refuses a model outside a restricted user's allowance.
func restrictedModel(c *call, model string) error {
	r := c.standing.Restrict
	if c.standing.Action != sanction.Restrict || len(r.Models) == 0 || slices.Contains(r.Models, model) {
		return nil
	}
	return &clienterr.Error{Code: clienterr.Forbidden, Param: "model",
		Message: "this user's access is restricted for violations of the service agreement; model '" + model + "' is not available"}
}

// strike records the outcome of an input review against the end user: a
// refusal in a strike-bearing category is a violation, anything else ends
// a run of violations. It returns the outcome when the user must be told
// in this response.
func (g *Gateway) strike(ctx context.Context, c *call, d safety.Decision) *sanction.Outcome {
	if g.sanctions == nil || c.user == nil {
		return nil
	}
	tenant := c.principal.Tenant.ID
	if d.Action < safety.Refuse {
		if err := g.sanctions.RecordClean(ctx, tenant, c.user.ID); err != nil {
			g.log.Warn("record clean input", "request_id", c.id, "err", err)
		}
		return nil
	}
	out, err := g.sanctions.RecordViolation(ctx, sanction.Violation{TenantID: tenant, EndUserID: c.user.ID,
		Code: d.Code, Direction: safety.Input, Evidence: []string{c.id}})
	if err != nil {
		g.log.Warn("record violation", "request_id", c.id, "err", err)
		return nil
	}
	if out.Sanction != nil {
		c.sanction = out.Sanction.Action.String()
	}
	if !out.Warn {
		return nil
	}
	return &out
}

// clientIP is the address the request came from: the peer, or the first
// address of the configured client-IP header when a trusted proxy sets it.
func (g *Gateway) clientIP(r *http.Request) netip.Addr { return clientip.From(r, g.ipHeader) }
