// Package upstream sends requests to the model servers behind Firebreak. It
// maps public model names to upstream models (the "1+N" routes: one general
// model and N domain models, chosen by name, by tenant binding or
// automatically), balances over replicas, retries a failed attempt on the
// next replica as long as no response byte has reached the gateway, and
// ejects replicas that keep failing.
package upstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/firebreak/firebreak/internal/redact"
)

// Config is one OpenAI-compatible model server.
type Config struct {
	// Name identifies the upstream in targets, logs and metrics. Required.
	Name string `json:"name"`
	// BaseURL is the OpenAI base, e.g. http://127.0.0.1:8000/v1; request
	// paths such as "/chat/completions" are appended. Required.
	BaseURL string `json:"base_url"`
	// APIKey is sent as "Authorization: Bearer <key>" when set. It is a
	// secret: String and MarshalJSON redact it and it is never logged.
	APIKey string `json:"api_key"`
	// Weight is the share of traffic relative to the other targets of the
	// same model. Default 1.
	Weight int `json:"weight"`
	// MaxConcurrent caps requests in flight to this upstream (a stream
	// counts until its body is closed). Default 0: unlimited.
	MaxConcurrent int `json:"max_concurrent"`
	// ConnectTimeout bounds the TCP (and TLS) connect. Default 5s. It applies
	// to the transport the router builds, not to Options.Transport.
	ConnectTimeout time.Duration `json:"connect_timeout"`
	// FirstByteTimeout bounds the wait for the response headers. Default 60s.
	FirstByteTimeout time.Duration `json:"first_byte_timeout"`
	// IdleTimeout is the longest wait inside one body read. Default 60s.
	IdleTimeout time.Duration `json:"idle_timeout"`
	// SlowFirstByte makes an attempt whose response headers take longer a
	// failure for passive health, even when it then answers: a replica
	// that accepts connections and stalls is ejected after the router's
	// EjectAfter such attempts in a row. A non-streamed answer's headers
	// come when the whole answer is ready: set it above the longest one.
	// Default 0: latency does not count.
	SlowFirstByte time.Duration `json:"slow_first_byte"`
	// HedgeAfter sends a request that has no response headers after this
	// long to another target of the same model as well; the first headers
	// win and the other attempt is cancelled (counted as slow when past
	// SlowFirstByte). Default 0: no hedged attempts.
	HedgeAfter time.Duration `json:"hedge_after"`
	// Headers are added to every request. Their values are redacted in
	// String and MarshalJSON.
	Headers map[string]string `json:"headers,omitempty"`
	// Transport, when set, is used for this upstream instead of
	// Options.Transport (e.g. the in-process demo responder). Not serialised.
	Transport http.RoundTripper `json:"-"`
}

// Defaults for Config.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultFirstByteTimeout = 60 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
)

// redactedConfig is Config as shown to people: secrets replaced, durations
// as text.
type redactedConfig struct {
	Name             string            `json:"name"`
	BaseURL          string            `json:"base_url"`
	APIKey           string            `json:"api_key,omitempty"`
	Weight           int               `json:"weight"`
	MaxConcurrent    int               `json:"max_concurrent"`
	ConnectTimeout   string            `json:"connect_timeout"`
	FirstByteTimeout string            `json:"first_byte_timeout"`
	IdleTimeout      string            `json:"idle_timeout"`
	SlowFirstByte    string            `json:"slow_first_byte,omitempty"`
	HedgeAfter       string            `json:"hedge_after,omitempty"`
	Headers          map[string]string `json:"headers,omitempty"`
}

func (c Config) redacted() redactedConfig {
	r := redactedConfig{
		Name: c.Name, BaseURL: redact.String(c.BaseURL), Weight: c.Weight, MaxConcurrent: c.MaxConcurrent,
		ConnectTimeout: c.ConnectTimeout.String(), FirstByteTimeout: c.FirstByteTimeout.String(),
		IdleTimeout: c.IdleTimeout.String(),
	}
	if c.SlowFirstByte > 0 {
		r.SlowFirstByte = c.SlowFirstByte.String()
	}
	if c.HedgeAfter > 0 {
		r.HedgeAfter = c.HedgeAfter.String()
	}
	r.APIKey = redact.Value(c.APIKey)
	if len(c.Headers) > 0 {
		r.Headers = make(map[string]string, len(c.Headers))
		for k := range c.Headers {
			r.Headers[k] = redact.Mask
		}
	}
	return r
}

// MarshalJSON writes the config with its secrets redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }

// String describes the config with its secrets redacted.
func (c Config) String() string {
	r := c.redacted()
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var hs []string
	for _, k := range keys {
		hs = append(hs, k+"="+r.Headers[k])
	}
	return fmt.Sprintf("upstream %s %s key=%s weight=%d max_concurrent=%d headers=[%s]",
		r.Name, r.BaseURL, r.APIKey, r.Weight, r.MaxConcurrent, strings.Join(hs, " "))
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		return c, fmt.Errorf("upstream without a name")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return c, fmt.Errorf("upstream %s: base url: %w", c.Name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https" && c.Transport == nil) || u.Host == "" {
		return c, fmt.Errorf("upstream %s: base url %q: want http(s)://host[:port]/path", c.Name, redact.String(c.BaseURL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, fmt.Errorf("upstream %s: base url must not have a query or fragment", c.Name)
	}
	if c.Weight < 0 || c.MaxConcurrent < 0 || c.ConnectTimeout < 0 || c.FirstByteTimeout < 0 || c.IdleTimeout < 0 || c.SlowFirstByte < 0 || c.HedgeAfter < 0 {
		return c, fmt.Errorf("upstream %s: weight, max_concurrent and timeouts must not be negative", c.Name)
	}
	if c.Weight == 0 {
		c.Weight = 1
	}
	c.ConnectTimeout = orDefault(c.ConnectTimeout, DefaultConnectTimeout)
	c.FirstByteTimeout = orDefault(c.FirstByteTimeout, DefaultFirstByteTimeout)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Model is a public model name and the upstream models that serve it.
type Model struct {
	// Name is the public name (alias) clients send as "model". Required;
	// "auto" and "default" are reserved.
	Name string `json:"name"`
	// Domain is the field the model serves: "general", "edu", "medical",
	// "office" … Informational; routing uses Routing.
	Domain string `json:"domain,omitempty"`
	// Targets are the replicas; at least one, at most 64.
	Targets []Target `json:"targets"`
	// Description is shown in the model list.
	Description string `json:"description,omitempty"`
}

// Target is one upstream model serving a public model.
type Target struct {
	Upstream string `json:"upstream"` // Config.Name
	Model    string `json:"model"`    // the upstream's own model name; default the public name
}

// maxTargets bounds the replicas of one model, so that the set of tried
// targets fits in a bit mask.
const maxTargets = 64

// Routing is the "1+N" shape: one general model and N domain rules used when
// a client asks for model "auto".
type Routing struct {
	// General is the public name of the general model: the fallback of
	// "auto" and of requests that name no model. Default: the first model.
	General string `json:"general"`
	// Domains are tried against the latest user message for model "auto".
	Domains []DomainRule `json:"domains,omitempty"`
}

// DomainRule sends "auto" requests to Model when the latest user message
// matches its keywords or patterns. Each occurrence of a keyword (overlapping
// ones included) and each matching pattern is one hit; the rule with the
// most hits wins, ties go to the rule declared first, and no hit at all
// means the general model. Counting hits rather than taking the first rule
// that matches keeps one stray word from overriding a clearly medical or
// legal question.
type DomainRule struct {
	Domain   string   `json:"domain"`             // label, reported as Route.Reason "auto:<domain>"
	Model    string   `json:"model"`              // public model name
	Keywords []string `json:"keywords,omitempty"` // matched case-insensitively (Unicode simple lower case)
	Patterns []string `json:"patterns,omitempty"` // RE2, matched against the original text; use (?i) for case
}
