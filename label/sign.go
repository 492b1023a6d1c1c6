package label

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/firebreak/firebreak/internal/texthash"
)

// ReservedCode1 carries Firebreak's signature of a label:
//
//	FB1.<key id>.<digests>.<signature>
//
// key id is the first 8 bytes of the SHA-256 of the Ed25519 public key, in
// hex (the audit trail names its checkpoint keys the same way); digests
// are 32 hex digits, the first 8 of the SHA-256 of the delivered text
// followed by the first 4 of the SHA-256 of each other member (Label,
// ContentProducer, ProduceID, ContentPropagator, PropagateID,
// ReservedCode2), so that a verifier without the audit trail can say which
// one changed; signature is the Ed25519 signature, base64url without
// padding, of
//
//	firebreak-aigc-v1\n<key id>\n<Label>\n<ContentProducer>\n<ProduceID>\n
//	<ContentPropagator>\n<PropagateID>\n<ReservedCode2>\n<hex SHA-256 of the text>
//
// (one line, the members in that order). Values hold no newline, so the
// message is unambiguous. Everything is printable ASCII without '"' or
// '\', as the standard asks of AIGC values.
const rc1Prefix = "FB1."

// signedFields are the members the signature covers, in message order.
var signedFields = [...]string{"Label", "ContentProducer", "ProduceID", "ContentPropagator", "PropagateID", "ReservedCode2"}

func (a *AIGC) signed() [6]string {
	return [6]string{a.Label, a.ContentProducer, a.ProduceID, a.ContentPropagator, a.PropagateID, a.ReservedCode2}
}

// Signer signs labels with an Ed25519 key: Firebreak uses the audit
// trail's checkpoint signing key, so whoever can verify the trail can
// verify its labels.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer with key; nil for a nil key (labels are then
// unsigned and verify as unknown).
func NewSigner(key ed25519.PrivateKey) *Signer {
	if key == nil {
		return nil
	}
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// TextHash is the hex SHA-256 of a delivered text.
func TextHash(text string) string { return texthash.SHA256Hex(text) }

// Sign returns a with ReservedCode1 set to the signature of its other
// members and of the SHA-256 of text, the answer as delivered. A nil
// Signer leaves ReservedCode1 empty.
func (s *Signer) Sign(a AIGC, text string) AIGC {
	a.ReservedCode1 = ""
	if s == nil {
		return a
	}
	return s.SignHash(a, TextHash(text))
}

// SignHash is Sign with the text's hex SHA-256 given. The message and
// ReservedCode1 are built in one buffer each: signing is on every
// answer's path.
func (s *Signer) SignHash(a AIGC, textHash string) AIGC {
	a.ReservedCode1 = ""
	if s == nil {
		return a
	}
	var buf [512]byte
	sig := ed25519.Sign(s.key, appendMessage(buf[:0], s.id, &a, textHash))
	rc := make([]byte, 0, len(rc1Prefix)+len(s.id)+1+32+1+base64.RawURLEncoding.EncodedLen(ed25519.SignatureSize))
	rc = append(append(append(rc, rc1Prefix...), s.id...), '.')
	rc = append(appendDigests(rc, &a, textHash), '.')
	rc = base64.RawURLEncoding.AppendEncode(rc, sig)
	a.ReservedCode1 = string(rc)
	return a
}

// appendMessage appends the signed message to b.
func appendMessage(b []byte, keyID string, a *AIGC, textHash string) []byte {
	b = append(b, "firebreak-aigc-v1\n"...)
	b = append(b, keyID...)
	for _, v := range a.signed() {
		b = append(b, '\n')
		b = append(b, v...)
	}
	b = append(b, '\n')
	return append(b, textHash...)
}

func message(keyID string, a *AIGC, textHash string) []byte {
	return appendMessage(make([]byte, 0, 160+len(textHash)), keyID, a, textHash)
}

// appendDigests appends the text hash's first 8 hex digits and each
// signed member's first 4.
func appendDigests(b []byte, a *AIGC, textHash string) []byte {
	b = append(b, textHash[:8]...)
	for _, v := range a.signed() {
		sum := sha256.Sum256([]byte(v))
		b = hex.AppendEncode(b, sum[:2])
	}
	return b
}

func digests(a *AIGC, textHash string) string {
	return string(appendDigests(make([]byte, 0, 32), a, textHash))
}

// rc1 is a parsed ReservedCode1.
type rc1 struct {
	keyID, digests string
	sig            []byte
}

var errNotFirebreak = errors.New("ReservedCode1 is not a Firebreak signature")

func parseRC1(s string) (rc1, error) {
	rest, ok := strings.CutPrefix(s, rc1Prefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 3 || len(parts[0]) != 16 || len(parts[1]) != 32 {
		return rc1{}, errNotFirebreak
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return rc1{}, errNotFirebreak
	}
	if _, err := hex.DecodeString(parts[0] + parts[1]); err != nil {
		return rc1{}, errNotFirebreak
	}
	return rc1{keyID: parts[0], digests: parts[1], sig: sig}, nil
}
