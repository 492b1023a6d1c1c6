package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// WebhookIDChecker is an IDChecker that asks the operator's own
// verification service (a licensed provider, or the national online
// identity service behind it). It POSTs {"name": "...", "id_number":
// "...", "sent_at": <unix seconds>} as JSON, signed as WebhookSender
// signs (SignatureHeader), and reads {"match": true} or {"match": false}
// from a 2xx answer. Any other answer means the check could not be made.
type WebhookIDChecker struct {
	hook *webhook
}

var _ IDChecker = (*WebhookIDChecker)(nil)

// NewWebhookIDChecker validates opts; WebhookOptions.URL receives the
// checks.
func NewWebhookIDChecker(opts WebhookOptions) (*WebhookIDChecker, error) {
	h, err := newWebhook(opts, "id check webhook")
	if err != nil {
		return nil, err
	}
	return &WebhookIDChecker{hook: h}, nil
}

type idCheckBody struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	SentAt   int64  `json:"sent_at"`
}

// CheckID returns nil for a match and an error wrapping ErrIDMismatch for
// a name and number that do not belong together.
func (c *WebhookIDChecker) CheckID(ctx context.Context, name, idNumber string) error {
	answer, err := c.hook.post(ctx, func(ts int64) any { return idCheckBody{Name: name, IDNumber: idNumber, SentAt: ts} })
	if err != nil {
		return err
	}
	var out struct {
		Match *bool `json:"match"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Match == nil {
		return errors.New("id check webhook: the answer is not {\"match\": true|false}")
	}
	if !*out.Match {
		return fmt.Errorf("id check webhook: %w", ErrIDMismatch)
	}
	return nil
}
