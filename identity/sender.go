package identity

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/firebreak/firebreak/internal/redact"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/safety/pii"
)

// Sender delivers a text message to a mainland mobile number (11 digits).
type Sender interface {
	Send(ctx context.Context, phone, message string) error
}

// LogSender is the development Sender: it sends nothing. It logs at info
// level that a message went to the masked number, and the message itself,
// which holds the code, only at debug level, so a developer can read the
// code from a debug log. It is the only place a code is ever logged; never
// run it with debug logging where real users verify.
type LogSender struct {
	Logger *slog.Logger // Default: discard
}

var (
	_ Sender = (*LogSender)(nil)
	_ Sender = (*WebhookSender)(nil)
)

// Send logs the message instead of sending it.
func (l *LogSender) Send(ctx context.Context, phone, message string) error {
	log := l.Logger
	if log == nil {
		return nil
	}
	log.InfoContext(ctx, "text message not sent: development sender", "phone", pii.MaskMobile(phone), "len", len(message))
	log.DebugContext(ctx, "development sender message", "phone", pii.MaskMobile(phone), "message", message)
	return nil
}

// SignatureHeader carries a WebhookSender request's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<body>")>". The
// receiver recomputes it and rejects old timestamps, which stops replays.
const SignatureHeader = "X-Firebreak-Signature"

// WebhookOptions configures NewWebhookSender.
type WebhookOptions struct {
	// URL receives a POST of {"phone": "...", "message": "...", "sent_at":
	// <unix seconds>} as JSON. Required; http or https.
	URL string
	// Secret signs each request (SignatureHeader). At least 16 bytes.
	// Required.
	Secret []byte
	// Timeout bounds each request, connection included. Default 5s.
	Timeout time.Duration
	// Client sends the requests. Default: a client with no redirects.
	Client *http.Client
	// Now is the clock of the timestamp. Default time.Now.
	Now func() time.Time
}

// WebhookSender hands messages to the operator's own SMS service.
type WebhookSender struct {
	hook *webhook
}

// NewWebhookSender validates opts.
func NewWebhookSender(opts WebhookOptions) (*WebhookSender, error) {
	h, err := newWebhook(opts, "webhook sender")
	if err != nil {
		return nil, err
	}
	return &WebhookSender{hook: h}, nil
}

type webhookBody struct {
	Phone   string `json:"phone"`
	Message string `json:"message"`
	SentAt  int64  `json:"sent_at"`
}

// Send posts the message and succeeds on any 2xx answer.
func (w *WebhookSender) Send(ctx context.Context, phone, message string) error {
	_, err := w.hook.post(ctx, func(ts int64) any { return webhookBody{Phone: phone, Message: message, SentAt: ts} })
	return err
}

// webhook posts signed JSON to one of the operator's services.
type webhook struct {
	opts WebhookOptions
	what string // names it in errors
}

func newWebhook(opts WebhookOptions, what string) (*webhook, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New(what + ": URL must be an absolute http or https URL")
	}
	if len(opts.Secret) < 16 {
		return nil, errors.New(what + ": Secret must be at least 16 bytes")
	}
	if opts.Timeout < 0 {
		return nil, errors.New(what + ": negative Timeout")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect would re-send the body elsewhere
		}}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &webhook{opts: opts, what: what}, nil
}

// post sends the JSON of body(now) signed, and returns the answer's
// first 64 KiB; an answer other than 2xx is an error.
func (w *webhook) post(ctx context.Context, body func(ts int64) any) ([]byte, error) {
	ts := w.opts.Now().Unix()
	b, err := json.Marshal(body(ts))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.opts.Secret, ts, b))
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.what, redact.URLError(err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s: status %d", w.what, resp.StatusCode)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.what, err)
	}
	return answer, nil
}

// Sign returns the SignatureHeader value for body sent at unix second ts.
// A receiver verifies a request by recomputing it.
func Sign(secret []byte, ts int64, body []byte) string {
	t := strconv.FormatInt(ts, 10)
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(t))
	h.Write([]byte{'.'})
	h.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(h.Sum(nil))
}
