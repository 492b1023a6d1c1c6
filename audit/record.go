package audit

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"strings"
	"time"

	"github.com/firebreak/firebreak/safety"
)

// Outcomes the gateway records in Record.Outcome. Other values are stored
// as given.
const (
	OutcomeOK            = "ok"             // answered in full
	OutcomeRefused       = "refused"        // input refused with a safe reply
	OutcomeFiltered      = "filtered"       // output stopped by review (content_filter)
	OutcomeRejected      = "rejected"       // refused before review: auth, limits, sanctions, bad input
	OutcomeUpstreamError = "upstream_error" // the model failed before the first byte
	OutcomeStreamFailed  = "stream_failed"  // the model failed mid-stream
	OutcomeClientGone    = "client_gone"    // the client disconnected
)

// Hit is the part of a safety.Hit worth keeping: which detector and rule
// fired, for which risk code, asking what. The matched text and its offsets
// are not kept: they are content.
type Hit struct {
	Detector string        `json:"detector"`
	Rule     string        `json:"rule"`
	Code     string        `json:"code"`
	Action   safety.Action `json:"action"`
}

// Hits converts engine hits to audit hits. A lexicon term whose id is its
// own text is not named: the record would repeat in plain text what the
// user wrote, which the record keeps only as a hash or sealed. Rules,
// detectors and terms with ids of their own are named.
func Hits(hs []safety.Hit) []Hit {
	if len(hs) == 0 {
		return nil
	}
	out := make([]Hit, len(hs))
	for i, h := range hs {
		rule := h.Rule
		if rule == h.Term && h.Detector == "lexicon" {
			rule = ""
		}
		out[i] = Hit{Detector: h.Detector, Rule: rule, Code: h.Code, Action: h.Action}
	}
	return out
}

// Decision is what review decided for one direction of a request.
type Decision struct {
	Action safety.Action `json:"action"`
	Code   string        `json:"code,omitempty"` // the risk code that decided, if any
	Hits   []Hit         `json:"hits,omitempty"`
}

func (d Decision) flagged() bool { return d.Action != safety.Allow || len(d.Hits) > 0 }

// Timings are the request's durations in milliseconds.
type Timings struct {
	TotalMs             int64 `json:"total_ms"`
	UpstreamFirstByteMs int64 `json:"upstream_first_byte_ms"`
}

// Usage is the token count the upstream reported (or the gateway counted).
type Usage struct {
	Prompt     int64 `json:"prompt"`
	Completion int64 `json:"completion"`
	Total      int64 `json:"total"`
}

// Content is the text of a request: the prompt as the gateway serialised it
// and the answer as delivered. Append never stores it as plaintext; see
// Mode. It is filled on read only by ExportUser, when a key allows.
type Content struct {
	Prompt string `json:"prompt,omitempty"`
	Answer string `json:"answer,omitempty"`
}

// Record is one request as the gateway saw it. The gateway fills it and
// hands it to Trail.Append; every field except Content is kept as given
// (strings longer than MaxField bytes are cut, invalid UTF-8 is replaced).
type Record struct {
	ID            string    `json:"id"`         // NewID(Time); Append assigns it if empty
	RequestID     string    `json:"request_id"` // the X-Request-Id the client saw
	Time          time.Time `json:"time"`       // when the request arrived; Append uses now if zero
	TenantID      string    `json:"tenant_id"`
	KeyID         string    `json:"key_id"`
	EndUser       string    `json:"end_user"` // pseudonymous end-user id, never a name or phone
	Model         string    `json:"model"`    // the model the client asked for
	Route         string    `json:"route"`    // why that model: direct, tenant, auto:<domain> …
	Upstream      string    `json:"upstream"` // the upstream that served it
	Stream        bool      `json:"stream"`
	Input         Decision  `json:"input"`
	Output        Decision  `json:"output"`
	PolicyVersion string    `json:"policy_version"`
	Sanctions     []string  `json:"sanctions,omitempty"` // sanctions in force or imposed
	Timings       Timings   `json:"timings"`
	Usage         Usage     `json:"usage"`
	Status        int       `json:"status"`  // HTTP status sent
	Outcome       string    `json:"outcome"` // one of the Outcome constants
	// Label is the answer's labels as package label records them (the AIGC
	// object issued, the hash of the delivered text, unlabelled output's
	// recipient): JSON, kept as given and covered by the record hash.
	Label   json.RawMessage `json:"label,omitempty"`
	Content Content         `json:"content,omitzero"`
	// Retain asks that the content be kept sealed whatever the retention
	// mode says (an exchange sampled for a spot check by a person). With
	// no keyring it is hashed: content is never stored as plaintext. It
	// is not stored itself; the stored mode shows it.
	Retain bool `json:"-"`
}

// Flagged reports whether review found anything in either direction; the
// retention policy keeps flagged content differently from clean content.
func (r *Record) Flagged() bool { return r.Input.flagged() || r.Output.flagged() }

// Entry is a stored record as read back: the record (without content unless
// ExportUser decrypted it), its place in the chain, and what is stored of
// its content.
type Entry struct {
	Record
	Seq      int64  `json:"seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	Stored   Stored `json:"stored"`
}

// Stored describes what is kept of a record's content.
type Stored struct {
	Mode         Mode      `json:"mode"`
	Digest       string    `json:"digest,omitempty"`        // SHA-256 of the stored form, covered by the record hash
	PromptSHA256 string    `json:"prompt_sha256,omitempty"` // ModeHash only
	AnswerSHA256 string    `json:"answer_sha256,omitempty"` // ModeHash only
	KeyID        string    `json:"key_id,omitempty"`        // ModeEncrypted only
	ErasedAt     time.Time `json:"erased_at,omitzero"`      // set when the content was erased on request
}

// crockford is the base32 alphabet of NewID: no I, L, O, U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a 26-character identifier that sorts by t (to the
// millisecond) and carries 80 random bits, in the ULID layout. Its first
// ten characters are t's Unix milliseconds, so a range of times is a range
// of ids (the audit trail keeps no separate index on time).
func NewID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return encodeID(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
}

// idFloor is the smallest id NewID gives at time t or later.
func idFloor(t time.Time) string { return encodeID(uint64(t.UnixMilli())<<16, 0) }

// encodeID writes 128 bits as 26 five-bit digits, most significant first
// (the top digit holds only 3 bits).
func encodeID(hi, lo uint64) string {
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// idMillis returns the Unix milliseconds an id made by NewID begins with.
func idMillis(id string) (int64, bool) {
	if len(id) != 26 || id[0] > '7' {
		return 0, false
	}
	var ms int64
	for i := range 10 {
		d := strings.IndexByte(crockford, id[i])
		if d < 0 {
			return 0, false
		}
		ms = ms<<5 | int64(d)
	}
	for i := 10; i < 26; i++ {
		if strings.IndexByte(crockford, id[i]) < 0 {
			return 0, false
		}
	}
	return ms, true
}
