package label

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/internal/jsonstr"
)

// Record is what the audit trail keeps of an answer's labels: the
// implicit label as issued, the hash of the text as delivered, where the
// explicit label went, and, for output delivered without one on the end
// user's request, the recipient and their agreement.
type Record struct {
	AIGC       AIGC   `json:"aigc"`
	TextSHA256 string `json:"text_sha256"`
	// Explicit is where explicit labels were placed: start, end, both or
	// none; Omitted says why none was (or, with a place, why some
	// choices have none): json, tools, agreement, safe_reply, empty.
	Explicit   string      `json:"explicit"`
	Omitted    string      `json:"omitted,omitempty"`
	Unlabelled *Unlabelled `json:"unlabelled,omitempty"`
}

// Unlabelled records output delivered without an explicit label at the
// end user's request (Labelling Measures Art. 9): who received it and the
// reference of the agreement they gave.
type Unlabelled struct {
	Recipient string `json:"recipient"`
	Agreement string `json:"agreement"`
}

// ParseRecord reads a Record from the audit trail's JSON.
func ParseRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("label record: %w", err)
	}
	return &r, nil
}

// AppendJSON appends r as json.Marshal encodes it, aigc being r.AIGC's
// JSON (AIGC.AppendJSON) when the caller has it already; it fails, as
// json.Marshal does, when a label value is not valid. It is on every
// labelled answer's path, where reflection would cost more than the rest
// of the record.
func (r *Record) AppendJSON(b, aigc []byte) ([]byte, error) {
	if err := r.AIGC.Validate(); err != nil {
		return nil, err
	}
	if aigc == nil {
		aigc = r.AIGC.AppendJSON(nil)
	}
	if bytes.ContainsAny(aigc, "<>&") { // json.Marshal escapes these in a Marshaler's output too
		cp := *r // marshalled as a copy, so that r itself stays where the caller has it (on its stack)
		m, err := json.Marshal(&cp)
		return append(b, m...), err
	}
	b = append(append(b, `{"aigc":`...), aigc...)
	b = jsonstr.Append(append(b, `,"text_sha256":`...), r.TextSHA256)
	b = jsonstr.Append(append(b, `,"explicit":`...), r.Explicit)
	if r.Omitted != "" {
		b = jsonstr.Append(append(b, `,"omitted":`...), r.Omitted)
	}
	if r.Unlabelled != nil {
		u, err := json.Marshal(r.Unlabelled)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"unlabelled":`...), u...)
	}
	return append(b, '}'), nil
}

// Verdicts of Verify.
const (
	Genuine = "genuine" // the signature holds over the label and the text
	Altered = "altered" // the label or the text changed since it was issued
	Unknown = "unknown" // not a label this verifier can check
)

// Result is what Verify found.
type Result struct {
	Verdict string `json:"verdict"`
	// Altered names what changed: "text" and the AIGC members.
	Altered []string `json:"altered,omitempty"`
	KeyID   string   `json:"key_id,omitempty"`
	// Record says how the audit record compared: matches, differs, not
	// found, or "" when the audit trail was not at hand.
	Record string `json:"record,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Keys are the public keys a verifier trusts, by KeyID.
type Keys map[string]ed25519.PublicKey

// NewKeys indexes public keys by their KeyID.
func NewKeys(pubs ...ed25519.PublicKey) Keys {
	k := Keys{}
	for _, p := range pubs {
		k[KeyID(p)] = p
	}
	return k
}

// Claim is what a verifier is given: a label and, unless NoText, the text
// it labels.
type Claim struct {
	AIGC   AIGC
	Text   string
	NoText bool
}

// Verify checks a claimed label. rec is the audit record of its ProduceID
// when the trail is at hand (nil otherwise; found false when the trail was
// searched and holds no such record). With the record, what changed is
// named by comparing with it; without, by the digests in ReservedCode1.
func Verify(c Claim, keys Keys, rec *Record, searched bool) Result {
	res := Result{}
	if searched {
		res.Record = "not found"
		if rec != nil {
			res.Record = "matches"
			if diff := recordDiff(c, rec); len(diff) > 0 {
				res.Record = "differs"
				res.Altered = diff
			}
		}
	}
	sig, err := parseRC1(c.AIGC.ReservedCode1)
	switch {
	case err != nil && strings.HasPrefix(c.AIGC.ReservedCode1, rc1Prefix):
		res.Verdict, res.Reason = Altered, "ReservedCode1 is a damaged Firebreak signature"
		if len(res.Altered) == 0 {
			res.Altered = []string{"ReservedCode1"}
		}
		return res
	case err != nil:
		return byRecord(res, "the label is not signed by Firebreak")
	}
	res.KeyID = sig.keyID
	pub, ok := keys[sig.keyID]
	if !ok {
		return byRecord(res, "signed with key "+sig.keyID+", which is not at hand")
	}
	textHash := ""
	switch {
	case !c.NoText:
		textHash = TextHash(c.Text)
	case rec != nil:
		textHash = rec.TextSHA256
	default:
		res.Verdict, res.Reason = Unknown, "the signature covers the text: give the text to verify it"
		return res
	}
	if ed25519.Verify(pub, message(sig.keyID, &c.AIGC, textHash), sig.sig) {
		if res.Record == "differs" {
			res.Verdict, res.Reason = Altered, "the signature holds but the audit record differs"
			return res
		}
		res.Verdict, res.Altered = Genuine, nil
		if c.NoText {
			res.Reason = "label checked against the text hash of the audit record"
		}
		return res
	}
	res.Verdict = Altered
	if len(res.Altered) == 0 {
		res.Altered = digestDiff(c, sig.digests)
	}
	return res
}

// byRecord decides a label that cannot be checked by its signature: the
// audit record, when at hand, still says whether it is what was issued.
func byRecord(res Result, reason string) Result {
	res.Reason = reason
	switch res.Record {
	case "matches":
		res.Verdict = Genuine
	case "differs":
		res.Verdict = Altered
	default:
		res.Verdict = Unknown
	}
	return res
}

// recordDiff names what differs between a claim and the audit record.
func recordDiff(c Claim, rec *Record) []string {
	var out []string
	if !c.NoText && TextHash(c.Text) != rec.TextSHA256 {
		out = append(out, "text")
	}
	a, b := c.AIGC, rec.AIGC
	fa, fb := a.fields(), b.fields()
	for i := range fa {
		if *fa[i].v != *fb[i].v {
			out = append(out, fa[i].name)
		}
	}
	return out
}

// digestDiff names what differs from the digests the signer wrote.
func digestDiff(c Claim, want string) []string {
	var out []string
	got := digests(&c.AIGC, TextHash(c.Text))
	if !c.NoText && got[:8] != want[:8] {
		out = append(out, "text")
	}
	for i, name := range signedFields {
		if got[8+4*i:12+4*i] != want[8+4*i:12+4*i] {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		out = append(out, "ReservedCode1")
	}
	return slices.Clip(out)
}
