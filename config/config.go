// Package config loads Firebreak's configuration. Values come from, in
// rising order of precedence: built-in defaults, an optional YAML file,
// FIREBREAK_* environment variables, and command-line flags. Defaults run
// with no configuration at all: one node, embedded SQLite in ./firebreak-data,
// the demo responder when no upstream is configured.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/internal/redact"
)

// Config is the whole configuration of `firebreak serve`.
type Config struct {
	// Listen is the address of the OpenAI-compatible API. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// AdminListen, when set, serves the admin API on its own address;
	// otherwise it is served under /admin/ on Listen. Default "".
	AdminListen string `yaml:"admin_listen"`
	// AdminProfiling serves the Go runtime's profiles of this node (CPU,
	// heap, goroutines, contention, traces) under /admin/v1/debug/pprof/
	// of the admin API, to admins; each download is recorded on the audit
	// trail. Default false.
	AdminProfiling bool `yaml:"admin_profiling"`
	// Data is the folder for the embedded database and local state.
	// Default ./firebreak-data.
	Data string `yaml:"data"`
	// Database is a PostgreSQL DSN (postgres://…). Empty means embedded
	// SQLite in Data. Default "".
	Database string `yaml:"database"`
	// WALLimit caps the embedded SQLite database's write-ahead log file, in
	// bytes; it is checkpointed in the background and cut at half of it.
	// Default 64 MiB. Unused with PostgreSQL.
	WALLimit int64 `yaml:"wal_limit"`
	// Redis is a Redis URL (redis://127.0.0.1:6379/0). When set, rate and
	// concurrency limits are exact across replicas. Default "".
	Redis string `yaml:"redis"`
	// RedisOnError is what rate and concurrency limits do while Redis
	// cannot be reached: "open" admits requests without them (logged,
	// counted in firebreak_limit_backend_errors_total, /readyz says "ready,
	// degraded"), "closed" refuses requests with a 503 (/readyz answers
	// 503). Default "open".
	RedisOnError string `yaml:"redis_on_error"`

	// SecretFile holds the server secret that keys the hashes of phone and
	// identity numbers; created on first start. FIREBREAK_SECRET (hex or
	// base64) takes its place. Replicas must share it. Default
	// <data>/server.secret.
	SecretFile string `yaml:"secret_file"`
	// ClientIPHeader names the header a trusted proxy sets to the client's
	// address (X-Forwarded-For, X-Real-IP); its last address, the one the
	// proxy wrote, is read. Default "": the peer address.
	ClientIPHeader string `yaml:"client_ip_header"`

	Audit     Audit      `yaml:"audit"`
	Identity  Identity   `yaml:"identity"`
	Log       Log        `yaml:"log"`
	HTTP      HTTP       `yaml:"http"`
	Safety    Safety     `yaml:"safety"`
	Upstreams []Upstream `yaml:"upstreams"`
	Models    []Model    `yaml:"models"`
	Routing   Routing    `yaml:"routing"`
	Users     Users      `yaml:"users"`
	Staff     Staff      `yaml:"staff"`
	Review    Review     `yaml:"review"`
	Tracing   Tracing    `yaml:"tracing"`
	Grounding Grounding  `yaml:"grounding"`
}

// Grounding configures the support check of grounded routes (the routes
// themselves are set with `firebreak kb ground`).
type Grounding struct {
	// Judge, when its base_url is set, is a judge model behind an
	// OpenAI-compatible server, asked after generation which sentences of
	// a grounded answer the passages do not support. Default: the lexical
	// check alone.
	Judge Judge `yaml:"judge"`
}

// Judge configures the judge model of the support check.
type Judge struct {
	BaseURL   string        `yaml:"base_url"`
	Model     string        `yaml:"model"`
	APIKeyEnv string        `yaml:"api_key_env"` // environment variable holding its key
	Timeout   time.Duration `yaml:"timeout"`     // default 10s
}

// Review configures the review desk (package review).
type Review struct {
	// SampleRate is the share (0 to 1) of each tenant's allowed exchanges
	// that a person spot-checks; a sampled exchange's content is kept
	// sealed with the audit keyring. Default 0: no sampling.
	SampleRate float64 `yaml:"sample_rate"`
	// TenantSampleRates overrides SampleRate for the tenant ids it names.
	// Default {}.
	TenantSampleRates map[string]float64 `yaml:"tenant_sample_rates"`
	// DualShare is the share (0 to 1) of first decisions that also go to a
	// second reviewer; escalations always do. Default 0.1.
	DualShare float64 `yaml:"dual_share"`
	// Lease is how long a claim holds an item. Default 10m.
	Lease time.Duration `yaml:"lease"`
	// SLA is the time to a decision per source (review, sample, complaint,
	// appeal). Default review 4h, sample 168h, complaint 72h (and never
	// after the complaint's deadline), appeal 24h.
	SLA map[string]time.Duration `yaml:"sla"`
}

// Tracing exports OpenTelemetry traces of the request pipeline (a span per
// stage: authenticate, standing, limits, input review, upstream, output
// review, audit) over OTLP/HTTP. Off unless Endpoint is set.
type Tracing struct {
	// Endpoint is the collector's OTLP/HTTP traces URL, e.g.
	// http://127.0.0.1:4318/v1/traces. Default "": tracing off.
	Endpoint string `yaml:"endpoint"`
	// HeadersEnv adds headers to every export whose values come from the
	// server's environment: header name → environment variable name.
	HeadersEnv map[string]string `yaml:"headers_env"`
	// SampleRatio is the share of requests traced, in (0, 1]. Default 1.
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName names the service in the traces. Default firebreak.
	ServiceName string `yaml:"service_name"`
}

// Audit configures the audit trail and complaints.
type Audit struct {
	// Disabled turns the audit trail off. Default false: every
	// authenticated request leaves a record.
	Disabled bool `yaml:"disabled"`
	// Keyring is the file of AES-256 keys that encrypt retained content
	// ("id:base64key" lines, newest last). Created with one key on first
	// start when missing. Default <data>/audit.keys.
	Keyring string `yaml:"keyring"`
	// SigningKey is the Ed25519 key that signs checkpoints. Created on
	// first start when missing. Default <data>/audit-signing.key.
	SigningKey string `yaml:"signing_key"`
	// Keep is how long records are kept; older ones are purged. The
	// Cybersecurity Law asks for at least six months. Default 4320h (180 days).
	Keep time.Duration `yaml:"keep"`
	// KeepViolations is how long violation records and sanctions no
	// longer in force are kept (a sanction in force stays). Default
	// 4320h (180 days).
	KeepViolations time.Duration `yaml:"keep_violations"`
	// Clean and Flagged are the content modes (none, hash, encrypted) of
	// records that review did and did not flag. Defaults hash and encrypted.
	Clean   string `yaml:"clean"`
	Flagged string `yaml:"flagged"`
	// CheckpointFile, when set, receives a copy of every signed checkpoint
	// as a JSON line, appended and synced; CheckpointURL, when set, gets
	// each one POSTed as JSON. Keep them where whoever can write the
	// database cannot: `firebreak audit verify --checkpoints FILE` holds
	// the chain to them. Defaults "": the database's copy only.
	CheckpointFile string `yaml:"checkpoint_file"`
	CheckpointURL  string `yaml:"checkpoint_url"`
	// ComplaintDeadline is the time to answer a complaint. Default 360h (15 days).
	ComplaintDeadline time.Duration `yaml:"complaint_deadline"`
}

// Identity configures real-name verification and minors' mode.
type Identity struct {
	// Require maps a public model name (or "*" for every other model) to the
	// lowest verification level that may use it: unverified, phone,
	// id_document, organisation, attested. Default {}: no requirement.
	// A public service in mainland China sets at least "*": phone.
	Require map[string]string `yaml:"require"`
	// VerifyURL is where a refused user can verify; refusals name it.
	VerifyURL string `yaml:"verify_url"`
	// AcceptFormatChecks lets an ID number or credit code whose format
	// alone was checked meet Require (anyone can make one up). Default
	// false: such a user meets it as phone-verified if they confirmed a
	// phone, else as unverified.
	AcceptFormatChecks bool `yaml:"accept_format_checks"`
	// SMSWebhook, when set, receives phone verification codes to send
	// (POST JSON, signed with the secret in SMSWebhookSecretEnv). Default
	// "": codes are only logged, for development.
	SMSWebhook          string `yaml:"sms_webhook"`
	SMSWebhookSecretEnv string `yaml:"sms_webhook_secret_env"`
	// IDCheckWebhook, when set, matches each ID number and name given to
	// /v1/identity/id_document against the operator's verification
	// service (identity.WebhookIDChecker; POST JSON signed with the secret
	// in IDCheckWebhookSecretEnv). Default "": only the format is checked.
	IDCheckWebhook          string `yaml:"id_check_webhook"`
	IDCheckWebhookSecretEnv string `yaml:"id_check_webhook_secret_env"`
	// TokenKeys are JWKS, PEM or HS256-secret files that verify identity
	// tokens signed by the operator's identity system, sent in the
	// X-Firebreak-User-Token header. Default none: tokens are refused.
	TokenKeys     []string `yaml:"token_keys"`
	TokenIssuer   string   `yaml:"token_issuer"`
	TokenAudience string   `yaml:"token_audience"`
	// MinorDailyRequests caps a minor's requests per local day. Default 50.
	MinorDailyRequests int `yaml:"minor_daily_requests"`
	// MinorQuietHours is when minors are refused, "HH:MM-HH:MM" local
	// time, or "off". Default "22:00-06:00".
	MinorQuietHours string `yaml:"minor_quiet_hours"`
	// TimeZone is the zone of birthdays, quiet hours and daily counts.
	// Default Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
}

// Staff configures staff logins (the console and personal admin tokens).
// Zero values take the defaults of package staff.
type Staff struct {
	// RequireTOTP lists the roles (admin, policy, reviewer, auditor,
	// viewer) whose members must use a TOTP second factor. Default none.
	RequireTOTP []string `yaml:"require_totp"`
	// MaxFailures failed logins in a row lock an account for Lockout.
	// Defaults 5 and 15m.
	MaxFailures int           `yaml:"max_failures"`
	Lockout     time.Duration `yaml:"lockout"`
	// SessionIdle and SessionMax end a console session after so long
	// unused, or so long after login. Defaults 30m and 12h.
	SessionIdle time.Duration `yaml:"session_idle"`
	SessionMax  time.Duration `yaml:"session_max"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error. Default info.
	Format string `yaml:"format"` // text or json. Default text.
}

// HTTP holds the limits of the client-facing server.
type HTTP struct {
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`      // default 8 MiB
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"` // default 10s
	ReadTimeout       time.Duration `yaml:"read_timeout"`        // whole request body; default 60s
	IdleTimeout       time.Duration `yaml:"idle_timeout"`        // keep-alive; default 120s
	WriteTimeout      time.Duration `yaml:"write_timeout"`       // non-stream responses; default 10m
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`    // in-flight streams; default 30s
	MaxStream         time.Duration `yaml:"max_stream"`          // one streamed answer; default 10m
	// MaxAnswerBytes caps the content of one model answer, streamed or
	// not; past it the answer ends with answer_too_large. Default 32 MiB.
	MaxAnswerBytes int64 `yaml:"max_answer_bytes"`
	// AnswerBudget bounds the memory, in bytes, that answers in flight
	// hold for review, labels and the audit record, all requests of the
	// node together (each content byte is charged what it costs the
	// process, about 4 bytes). A new request waits up to BudgetWait for
	// room, then gets a 503 gateway_overloaded; an answer that would pass
	// it ends with that error. -1: unbounded. Default 512 MiB.
	AnswerBudget int64 `yaml:"answer_budget"`
	// BudgetWait is how long a new request waits for room in the answer
	// budget. Default 2s.
	BudgetWait time.Duration `yaml:"budget_wait"`
}

// Safety selects what the machine review checks.
type Safety struct {
	// Bundle is a policy bundle folder (policy.yaml plus lexicon files)
	// enforced until a version is published with `firebreak policy
	// publish`. Default "": the built-in default bundle (the starter
	// lexicon, PII masking, the default sanctions ladder).
	Bundle string `yaml:"bundle"`
	// Guard, when its base_url is set, is a guard model (Llama Guard 3 or
	// Qwen3Guard behind an OpenAI-compatible server) that reviews every
	// input beside the upstream call.
	Guard Guard `yaml:"guard"`
}

// Guard configures a guard model.
type Guard struct {
	BaseURL   string        `yaml:"base_url"`
	Model     string        `yaml:"model"`
	Format    string        `yaml:"format"`      // llama-guard-3 (default) or qwen3guard
	APIKeyEnv string        `yaml:"api_key_env"` // environment variable holding its key
	Timeout   time.Duration `yaml:"timeout"`     // default 5s
	// OnError is what a failed call does: "open" lets the request pass
	// (default), "closed" refuses it.
	OnError string `yaml:"on_error"`
	// Categories override single categories by the model's name for them
	// ("S1", "Violent"): risk code, action, and on_error, e.g. fail closed
	// for S4 alone. Default none: the crosswalk's table and OnError.
	Categories map[string]GuardCategory `yaml:"categories"`
}

// GuardCategory overrides one guard-model category; empty fields keep
// the default.
type GuardCategory struct {
	Code    string `yaml:"code"`
	Action  string `yaml:"action"`   // allow, mask, review, refuse or block
	OnError string `yaml:"on_error"` // open or closed
}

// Upstream is one OpenAI-compatible model server.
type Upstream struct {
	Name             string   `yaml:"name" json:"name,omitempty"`
	BaseURL          string   `yaml:"base_url" json:"base_url,omitempty"`
	APIKey           string   `yaml:"api_key" json:"api_key,omitempty"`         // secret; prefer APIKeyEnv
	APIKeyEnv        string   `yaml:"api_key_env" json:"api_key_env,omitempty"` // name of an environment variable holding the key
	Weight           int      `yaml:"weight" json:"weight,omitempty"`
	MaxConcurrent    int      `yaml:"max_concurrent" json:"max_concurrent,omitempty"`
	ConnectTimeout   Duration `yaml:"connect_timeout" json:"connect_timeout,omitempty"`
	FirstByteTimeout Duration `yaml:"first_byte_timeout" json:"first_byte_timeout,omitempty"`
	IdleTimeout      Duration `yaml:"idle_timeout" json:"idle_timeout,omitempty"`
	// SlowFirstByte: an attempt whose response headers take longer counts
	// as a failure toward ejection (a replica that accepts connections and
	// stalls); HedgeAfter: a request without headers by then also goes to
	// another target, the first answer wins. A non-streamed answer's
	// headers come when it is complete. Defaults 0: off.
	SlowFirstByte Duration          `yaml:"slow_first_byte" json:"slow_first_byte,omitempty"`
	HedgeAfter    Duration          `yaml:"hedge_after" json:"hedge_after,omitempty"`
	Headers       map[string]string `yaml:"headers" json:"headers,omitempty"`
	// HeadersEnv adds headers whose values come from the server's
	// environment: header name → environment variable name. The admin API
	// takes header values only this way.
	HeadersEnv map[string]string `yaml:"headers_env" json:"headers_env,omitempty"`
}

// Redacted returns u as it may be shown: the API key and every header
// value masked, credentials in the base URL hidden (package redact).
func (u Upstream) Redacted() Upstream {
	u.APIKey = redact.Value(u.APIKey)
	u.BaseURL = redact.String(u.BaseURL)
	if len(u.Headers) > 0 {
		h := make(map[string]string, len(u.Headers))
		for k := range u.Headers {
			h[k] = redact.Mask
		}
		u.Headers = h
	}
	return u
}

// Model is a public model name and the upstream models behind it.
type Model struct {
	Name        string   `yaml:"name" json:"name,omitempty"`
	Domain      string   `yaml:"domain" json:"domain,omitempty"`
	Description string   `yaml:"description" json:"description,omitempty"`
	Targets     []Target `yaml:"targets" json:"targets,omitempty"`
}

// Target is one upstream model serving a public model.
type Target struct {
	Upstream string `yaml:"upstream" json:"upstream,omitempty"`
	Model    string `yaml:"model" json:"model,omitempty"`
}

// Routing is the 1+N shape: a general model and domain rules for "auto".
type Routing struct {
	General string       `yaml:"general" json:"general,omitempty"`
	Domains []DomainRule `yaml:"domains" json:"domains,omitempty"`
}

// DomainRule routes model "auto" to Model when the latest user message
// matches one of its keywords or patterns.
type DomainRule struct {
	Domain   string   `yaml:"domain" json:"domain,omitempty"`
	Model    string   `yaml:"model" json:"model,omitempty"`
	Keywords []string `yaml:"keywords" json:"keywords,omitempty"`
	Patterns []string `yaml:"patterns" json:"patterns,omitempty"`
}

// Users says how a service key attributes requests to end users.
type Users struct {
	// Header carrying the end user's id when the body's "user" field is
	// empty; when both are set they must agree. Default X-Firebreak-User.
	Header string `yaml:"header"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen: "127.0.0.1:8080",
		Data:   "./firebreak-data",
		Log:    Log{Level: "info", Format: "text"},
		HTTP: HTTP{
			MaxBodyBytes:      8 << 20,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
			WriteTimeout:      10 * time.Minute,
			ShutdownTimeout:   30 * time.Second,
			MaxStream:         10 * time.Minute,
			MaxAnswerBytes:    32 << 20,
			AnswerBudget:      512 << 20,
			BudgetWait:        2 * time.Second,
		},
		Users:        Users{Header: "X-Firebreak-User"},
		Audit:        Audit{Keep: 180 * 24 * time.Hour, KeepViolations: 180 * 24 * time.Hour, Clean: "hash", Flagged: "encrypted", ComplaintDeadline: 15 * 24 * time.Hour},
		Review:       Review{DualShare: 0.1, Lease: 10 * time.Minute},
		Identity:     Identity{MinorDailyRequests: 50, MinorQuietHours: "22:00-06:00", TimeZone: "Asia/Shanghai"},
		WALLimit:     64 << 20,
		RedisOnError: "open",
	}
}

// LoadFile reads a YAML file over the defaults. Unknown keys are errors, so
// a typo does not silently fall back to a default.
func LoadFile(path string, into *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
		return fmt.Errorf("config %s: %w", path, err)
	}
	for i, u := range into.Upstreams {
		if u.APIKey != "" {
			return fmt.Errorf("config %s: upstreams[%d] (%s): api_key is not read from the file, where anyone who can read it sees the key: set api_key_env to the name of an environment variable that holds it", path, i, u.Name)
		}
	}
	return nil
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	if c.Listen == "" {
		return errors.New("listen address is empty")
	}
	if c.Data == "" && c.Database == "" {
		return errors.New("either a data folder or a database DSN is needed")
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		return errors.New("http.max_body_bytes must be positive")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format %q: want text or json", c.Log.Format)
	}
	if c.RedisOnError != "" && c.RedisOnError != "open" && c.RedisOnError != "closed" {
		return fmt.Errorf("redis_on_error %q: want open or closed", c.RedisOnError)
	}
	for i, u := range c.Upstreams {
		if u.APIKeyEnv != "" && u.APIKey == "" {
			c.Upstreams[i].APIKey = os.Getenv(u.APIKeyEnv)
		}
	}
	return nil
}

// Redacted returns a copy that is safe to print: every secret and every
// string a secret can hide in goes through package redact.
func (c Config) Redacted() Config {
	r := c
	r.Database = redact.String(c.Database)
	r.Redis = redact.String(c.Redis)
	r.Identity.SMSWebhook = redact.String(c.Identity.SMSWebhook)
	r.Identity.IDCheckWebhook = redact.String(c.Identity.IDCheckWebhook)
	r.Identity.VerifyURL = redact.String(c.Identity.VerifyURL)
	r.Safety.Guard.BaseURL = redact.String(c.Safety.Guard.BaseURL)
	r.Grounding.Judge.BaseURL = redact.String(c.Grounding.Judge.BaseURL)
	r.Audit.CheckpointURL = redact.String(c.Audit.CheckpointURL)
	r.Tracing.Endpoint = redact.String(c.Tracing.Endpoint)
	r.Upstreams = make([]Upstream, len(c.Upstreams))
	for i, u := range c.Upstreams {
		r.Upstreams[i] = u.Redacted()
	}
	return r
}

// YAML renders the configuration as YAML.
func (c Config) YAML() ([]byte, error) { return yaml.Marshal(c) }

// Duration is a time.Duration written as "5s" in YAML and JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("want a duration like 30s: %w", err)
	}
	*d = Duration(v)
	return nil
}
