package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	privatePrefix = "ed25519-private:"
	publicPrefix  = "ed25519:"
)

// Checkpoint kinds.
const (
	KindCheckpoint = "checkpoint" // the chain head at a moment, signed
	KindAnchor     = "anchor"     // the last purged record; the chain resumes after it
)

// Checkpoint is a signed statement that the record with sequence number Seq
// had hash Hash at Time. Anchors are checkpoints written by Purge: records up
// to and including Seq were deleted, and the remaining chain starts from
// Hash. Unsigned when no signing key is configured (KeyID and Signature "").
type Checkpoint struct {
	Kind      string    `json:"kind"`
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id,omitempty"`
	Signature string    `json:"signature,omitempty"`
}

// message is the byte string the signature covers.
func (c Checkpoint) message() []byte {
	return []byte("firebreak-audit-checkpoint-v1\n" + c.Kind + "\n" +
		strconv.FormatInt(c.Seq, 10) + "\n" + c.Hash + "\n" +
		strconv.FormatInt(c.Time.UnixMilli(), 10))
}

func (c *Checkpoint) sign(key ed25519.PrivateKey) {
	if key == nil {
		return
	}
	c.KeyID = PublicKeyID(key.Public().(ed25519.PublicKey))
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.message()))
}

// verify checks the signature against the key in keys whose id matches.
func (c Checkpoint) verify(keys map[string]ed25519.PublicKey) error {
	if c.KeyID == "" || c.Signature == "" {
		return errors.New("unsigned")
	}
	pub, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("signed by unknown key %s", c.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || !ed25519.Verify(pub, c.message(), sig) {
		return errors.New("bad signature")
	}
	return nil
}

// PublicKeyID names a public key in checkpoints: the first 8 bytes of its
// SHA-256, in hex.
func PublicKeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// GenerateSigningKey writes a new Ed25519 private key to path, which must not
// exist (mode 0600, text "ed25519-private:<base64 seed>"), and returns the
// public key. Publish FormatPublicKey(pub) to whoever verifies the trail.
func GenerateSigningKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	_, err = f.WriteString(privatePrefix + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return pub, nil
}

// LoadSigningKey reads a key written by GenerateSigningKey. The file must
// not be readable or writable by group or others.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load signing key: %s has mode %s, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	enc, ok := strings.CutPrefix(strings.TrimSpace(string(b)), privatePrefix)
	seed, derr := base64.StdEncoding.DecodeString(enc)
	if !ok || derr != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("load signing key %s: want %s<base64 32-byte seed>", path, privatePrefix)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// FormatPublicKey returns the text form of a public key, "ed25519:<base64>".
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey parses what FormatPublicKey returned.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	enc, ok := strings.CutPrefix(strings.TrimSpace(s), publicPrefix)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if !ok || err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("parse public key: want ed25519:<base64 32 bytes>")
	}
	return ed25519.PublicKey(raw), nil
}
