package audit

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/firebreak/firebreak/internal/texthash"
)

// Mode says what is kept of a record's prompt and answer.
type Mode string

const (
	ModeNone      Mode = "none"      // nothing
	ModeHash      Mode = "hash"      // SHA-256 of the prompt and of the answer
	ModeEncrypted Mode = "encrypted" // both, AES-256-GCM with a keyring key
)

func (m Mode) valid() bool { return m == ModeNone || m == ModeHash || m == ModeEncrypted }

// Retention chooses the content mode of a record by whether review flagged
// it (any hit, or any action other than allow, in either direction).
type Retention struct {
	// Clean applies to records review did not flag. Default ModeHash.
	Clean Mode
	// Flagged applies to flagged records. Default ModeEncrypted when a
	// keyring is configured, else ModeHash.
	Flagged Mode
}

func (r Retention) withDefaults(haveKeys bool) Retention {
	if r.Clean == "" {
		r.Clean = ModeHash
	}
	if r.Flagged == "" {
		r.Flagged = ModeHash
		if haveKeys {
			r.Flagged = ModeEncrypted
		}
	}
	return r
}

func (r Retention) validate(haveKeys bool) error {
	for _, m := range []Mode{r.Clean, r.Flagged} {
		if !m.valid() {
			return fmt.Errorf("retention mode %q: want none, hash or encrypted", m)
		}
		if m == ModeEncrypted && !haveKeys {
			return errors.New("retention mode encrypted needs a keyring")
		}
	}
	return nil
}

// Stored content forms, in the content column:
//
//	hash:<salt>:<sha256(prompt)>:<sha256(answer)>   (hex)
//	aesgcm:<key id>:<base64(nonce||ciphertext)>
//
// The record hash covers content_digest = sha256(content column). The salt
// (16 random bytes) makes that digest useless for guessing the prompt once
// the content column is erased.
const (
	hashPrefix = "hash:"
	encPrefix  = "aesgcm:"
)

// sealContent returns the stored form of c under mode, and its digest.
// Encrypted content is bound to the record id, so it cannot be moved to
// another record.
func sealContent(mode Mode, c Content, keys *Keyring, recordID string) (content, digest string, err error) {
	switch mode {
	case ModeNone:
		return "", "", nil
	case ModeHash:
		var salt [16]byte
		_, _ = rand.Read(salt[:])
		content = hashPrefix + hex.EncodeToString(salt[:]) + ":" + sha256Hex(c.Prompt) + ":" + sha256Hex(c.Answer)
	case ModeEncrypted:
		plain, err := json.Marshal(c)
		if err != nil {
			return "", "", fmt.Errorf("seal content: %w", err)
		}
		content = keys.sealText(encPrefix, plain, contentAAD(recordID))
	default:
		return "", "", fmt.Errorf("seal content: unknown mode %q", mode)
	}
	return content, sha256Hex(content), nil
}

func contentAAD(recordID string) string { return "firebreak-audit-content:" + recordID }

// describeContent fills what Stored shows of a stored content form.
func describeContent(content, digest string, st *Stored) {
	st.Digest = digest
	switch {
	case strings.HasPrefix(content, hashPrefix):
		st.Mode = ModeHash
		parts := strings.Split(content, ":")
		if len(parts) == 4 {
			st.PromptSHA256, st.AnswerSHA256 = parts[2], parts[3]
		}
	case strings.HasPrefix(content, encPrefix):
		st.Mode = ModeEncrypted
		st.KeyID, _, _ = strings.Cut(strings.TrimPrefix(content, encPrefix), ":")
	default:
		// Nothing kept, or erased on request (then the digest remains).
		st.Mode = ModeNone
	}
}

// openContent decrypts an encrypted stored form.
func openContent(content string, keys *Keyring, recordID string) (Content, error) {
	var c Content
	v, ok := strings.CutPrefix(content, encPrefix)
	if !ok {
		return c, errors.New("open content: not encrypted")
	}
	plain, err := keys.openString(v, contentAAD(recordID))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return c, fmt.Errorf("open content: %w", err)
	}
	return c, nil
}

func sha256Hex(s string) string { return texthash.SHA256Hex(s) }
