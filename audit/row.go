package audit

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety"
)

// MaxField is the longest string field Append keeps, in bytes; longer
// values are cut at a UTF-8 boundary.
const MaxField = 1024

// maxLabel bounds a record's label JSON.
const maxLabel = 8 << 10

// genesisHash is the prev_hash of the first record ever appended.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// row is a record exactly as stored: the chain hash covers these values, so
// Verify recomputes it from what it reads back.
type row struct {
	seq                                         int64
	id, requestID                               string
	timeMs                                      int64
	tenantID, keyID, endUser                    string
	model, route, upstream                      string
	stream                                      bool
	inAction, inCode, inHits                    string
	outAction, outCode, outHits                 string
	codes, policyVersion, sanctions             string
	totalMs, firstByteMs                        int64
	promptTokens, completionTokens, totalTokens int64
	status                                      int64
	outcome                                     string
	digest                                      string
	content                                     string        // not hashed: erasable
	erasedAt                                    sql.NullInt64 // not hashed
	prevHash, hash                              string
	label                                       string // JSON; hashed when not empty
}

// rowColumns lists the columns in the order of row.args and scanRow.
const rowColumns = `seq, id, request_id, time_ms, tenant_id, key_id, end_user, model, route,
	upstream, stream, input_action, input_code, input_hits, output_action, output_code,
	output_hits, codes, policy_version, sanctions, total_ms, first_byte_ms, prompt_tokens,
	completion_tokens, total_tokens, status, outcome, content_digest, content,
	content_erased_at, prev_hash, hash, label`

const rowColumnCount = 33

// appendArgs appends the row's values in the order of rowColumns.
func (r *row) appendArgs(dst []any) []any {
	return append(dst, r.seq, r.id, r.requestID, r.timeMs, r.tenantID, r.keyID, r.endUser, r.model, r.route,
		r.upstream, r.stream, r.inAction, r.inCode, r.inHits, r.outAction, r.outCode,
		r.outHits, r.codes, r.policyVersion, r.sanctions, r.totalMs, r.firstByteMs, r.promptTokens,
		r.completionTokens, r.totalTokens, r.status, r.outcome, r.digest, r.content,
		r.erasedAt, r.prevHash, r.hash, r.label)
}

func scanRow(s interface{ Scan(...any) error }) (*row, error) {
	var r row
	err := s.Scan(&r.seq, &r.id, &r.requestID, &r.timeMs, &r.tenantID, &r.keyID, &r.endUser, &r.model, &r.route,
		&r.upstream, &r.stream, &r.inAction, &r.inCode, &r.inHits, &r.outAction, &r.outCode,
		&r.outHits, &r.codes, &r.policyVersion, &r.sanctions, &r.totalMs, &r.firstByteMs, &r.promptTokens,
		&r.completionTokens, &r.totalTokens, &r.status, &r.outcome, &r.digest, &r.content,
		&r.erasedAt, &r.prevHash, &r.hash, &r.label)
	if err != nil {
		return nil, fmt.Errorf("scan record: %w", err)
	}
	return &r, nil
}

// canonical is the byte string the record hash covers: a version tag, then
// every hashed field in a fixed order, strings length-prefixed (uvarint) and
// integers as 8 bytes big-endian. The sequence number is not covered: a
// record's place is fixed by prev_hash, by checkpoints and by the chain head.
// The label, added to the format later, follows the digest when it is not
// empty, so records without one hash as they always did.
func (r *row) canonical() []byte {
	b := make([]byte, 0, 512)
	b = append(b, "fbaudit1"...)
	for _, s := range []string{r.id, r.requestID} {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(r.timeMs))
	for _, s := range []string{r.tenantID, r.keyID, r.endUser, r.model, r.route, r.upstream} {
		b = appendString(b, s)
	}
	if r.stream {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, s := range []string{r.inAction, r.inCode, r.inHits, r.outAction, r.outCode, r.outHits,
		r.codes, r.policyVersion, r.sanctions} {
		b = appendString(b, s)
	}
	for _, n := range []int64{r.totalMs, r.firstByteMs, r.promptTokens, r.completionTokens, r.totalTokens, r.status} {
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = appendString(b, r.outcome)
	b = appendString(b, r.digest)
	if r.label != "" {
		b = appendString(b, r.label)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// chainHash is SHA-256(prev_hash || canonical), hex. prev is the hex hash of
// the previous record, hashed as its 32 raw bytes.
func chainHash(prev string, canonical []byte) string {
	h := sha256.New()
	raw, err := hex.DecodeString(prev)
	if err != nil || len(raw) != sha256.Size {
		// A malformed prev_hash cannot match anything a writer produced.
		raw = []byte("malformed:" + prev)
	}
	h.Write(raw)
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

// newRow builds the stored form of rec; content is sealed under mode.
func newRow(rec *Record, mode Mode, keys *Keyring) (*row, error) {
	inHits, err := marshalHits(rec.Input.Hits)
	if err != nil {
		return nil, err
	}
	outHits, err := marshalHits(rec.Output.Hits)
	if err != nil {
		return nil, err
	}
	sanctions := make([]string, 0, len(rec.Sanctions))
	for _, s := range rec.Sanctions {
		sanctions = append(sanctions, clean(s))
	}
	sj, _ := json.Marshal(sanctions) // []string always marshals
	r := &row{
		id: clean(rec.ID), requestID: clean(rec.RequestID), timeMs: rec.Time.UnixMilli(),
		tenantID: clean(rec.TenantID), keyID: clean(rec.KeyID), endUser: clean(rec.EndUser),
		model: clean(rec.Model), route: clean(rec.Route), upstream: clean(rec.Upstream), stream: rec.Stream,
		inAction: rec.Input.Action.String(), inCode: clean(rec.Input.Code), inHits: inHits,
		outAction: rec.Output.Action.String(), outCode: clean(rec.Output.Code), outHits: outHits,
		codes: codeList(rec), policyVersion: clean(rec.PolicyVersion), sanctions: string(sj),
		totalMs: rec.Timings.TotalMs, firstByteMs: rec.Timings.UpstreamFirstByteMs,
		promptTokens: rec.Usage.Prompt, completionTokens: rec.Usage.Completion, totalTokens: rec.Usage.Total,
		status: int64(rec.Status), outcome: clean(rec.Outcome),
	}
	if len(rec.Label) > 0 {
		if len(rec.Label) > maxLabel || !json.Valid(rec.Label) {
			return nil, fmt.Errorf("label of record %s: not JSON of at most %d bytes", r.id, maxLabel)
		}
		r.label = string(rec.Label)
	}
	if rec.Content == (Content{}) {
		mode = ModeNone
	}
	r.content, r.digest, err = sealContent(mode, rec.Content, keys, r.id)
	return r, err
}

func marshalHits(hs []Hit) (string, error) {
	if len(hs) == 0 {
		return "[]", nil
	}
	out := make([]Hit, len(hs))
	for i, h := range hs {
		out[i] = Hit{Detector: clean(h.Detector), Rule: clean(h.Rule), Code: clean(h.Code), Action: h.Action}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode hits: %w", err)
	}
	return string(b), nil
}

// codeList is every risk code of the record, sorted, as " A1a A4f ", so
// that a search for one code is a LIKE '% A1a %'.
func codeList(rec *Record) string {
	var codes []string
	for _, d := range []Decision{rec.Input, rec.Output} {
		if d.Code != "" {
			codes = append(codes, clean(d.Code))
		}
		for _, h := range d.Hits {
			if h.Code != "" {
				codes = append(codes, clean(h.Code))
			}
		}
	}
	if len(codes) == 0 {
		return ""
	}
	slices.Sort(codes)
	return " " + strings.Join(slices.Compact(codes), " ") + " "
}

// clean makes s storable on both databases and bounded: valid UTF-8, no
// NUL (PostgreSQL TEXT rejects it), at most MaxField bytes.
func clean(s string) string { return cleanN(s, MaxField) }

// cleanN is clean with a limit of n bytes.
func cleanN(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// entry converts a stored row to what readers see. Content stays empty.
func (r *row) entry() (Entry, error) {
	e := Entry{Seq: r.seq, PrevHash: r.prevHash, Hash: r.hash}
	rec := &e.Record
	*rec = Record{
		ID: r.id, RequestID: r.requestID, Time: time.UnixMilli(r.timeMs).UTC(),
		TenantID: r.tenantID, KeyID: r.keyID, EndUser: r.endUser, Model: r.model, Route: r.route,
		Upstream: r.upstream, Stream: r.stream, PolicyVersion: r.policyVersion,
		Timings: Timings{TotalMs: r.totalMs, UpstreamFirstByteMs: r.firstByteMs},
		Usage:   Usage{Prompt: r.promptTokens, Completion: r.completionTokens, Total: r.totalTokens},
		Status:  int(r.status), Outcome: r.outcome,
	}
	var err error
	if rec.Input, err = decision(r.inAction, r.inCode, r.inHits); err != nil {
		return e, fmt.Errorf("record %s: %w", r.id, err)
	}
	if rec.Output, err = decision(r.outAction, r.outCode, r.outHits); err != nil {
		return e, fmt.Errorf("record %s: %w", r.id, err)
	}
	if err := json.Unmarshal([]byte(r.sanctions), &rec.Sanctions); err != nil {
		return e, fmt.Errorf("record %s: sanctions: %w", r.id, err)
	}
	if len(rec.Sanctions) == 0 {
		rec.Sanctions = nil
	}
	if r.label != "" {
		rec.Label = json.RawMessage(r.label)
	}
	describeContent(r.content, r.digest, &e.Stored)
	if r.erasedAt.Valid {
		e.Stored.ErasedAt = time.UnixMilli(r.erasedAt.Int64).UTC()
	}
	return e, nil
}

func decision(action, code, hits string) (Decision, error) {
	d := Decision{Code: code}
	a, err := safety.ParseAction(action)
	if err != nil {
		return d, err
	}
	d.Action = a
	if err := json.Unmarshal([]byte(hits), &d.Hits); err != nil {
		return d, fmt.Errorf("hits: %w", err)
	}
	if len(d.Hits) == 0 {
		d.Hits = nil
	}
	return d, nil
}
