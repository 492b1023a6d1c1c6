package audit

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ErrUnknownKey is returned (wrapped) when content was sealed with a key the
// keyring does not hold, e.g. one that was retired.
var ErrUnknownKey = errors.New("unknown content key")

// Keyring holds the AES-256 keys that seal content and complaint contacts.
// The last key listed is the current one: new content is sealed with it,
// and content sealed with any listed key stays readable. Rotate by adding a
// key (GenerateKey); retire an old key by removing its line, which makes
// what it sealed unreadable (crypto-shredding).
//
// The text form, in a file or an environment variable, is one key per line,
//
//	id:base64(32 random bytes)
//
// where id is 1–32 letters, digits, '-' or '_'. Blank lines and lines
// starting with '#' are ignored; in an environment variable ';' also
// separates keys.
type Keyring struct {
	ids  []string
	aead map[string]cipher.AEAD
}

// ParseKeyring reads the text form of a keyring.
func ParseKeyring(r io.Reader) (*Keyring, error) {
	k := &Keyring{aead: map[string]cipher.AEAD{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := k.add(line); err != nil {
			return nil, fmt.Errorf("keyring line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	if len(k.ids) == 0 {
		return nil, errors.New("keyring holds no key")
	}
	return k, nil
}

func (k *Keyring) add(line string) error {
	id, enc, ok := strings.Cut(line, ":")
	if !ok || !validKeyID(id) {
		return errors.New("want id:base64key with id of 1-32 letters, digits, - or _")
	}
	if _, dup := k.aead[id]; dup {
		return fmt.Errorf("key id %q listed twice", id)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("key %q: want 32 bytes in standard base64", id)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	k.ids = append(k.ids, id)
	k.aead[id] = gcm
	return nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// LoadKeyring reads a keyring file. The file must not be readable or
// writable by group or others (mode 0600 or stricter).
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load keyring: %s has mode %s, want 0600", path, fi.Mode().Perm())
	}
	k, err := ParseKeyring(f)
	if err != nil {
		return nil, fmt.Errorf("load keyring %s: %w", path, err)
	}
	return k, nil
}

// GenerateKey appends a new random key to the keyring file at path,
// creating the file with mode 0600 if needed, and returns its id. The new
// key becomes the current one the next time the file is loaded.
func GenerateKey(path string) (string, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	id := "k" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(suffix[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	line := id + ":" + base64.StdEncoding.EncodeToString(raw[:]) + "\n"
	if _, err := f.WriteString(line); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("generate key: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("generate key: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return id, nil
}

// Current returns the id of the key that seals new content.
func (k *Keyring) Current() string { return k.ids[len(k.ids)-1] }

// IDs lists the key ids, oldest first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext with the current key and a random 96-bit nonce,
// binding aad (e.g. the record id) to the ciphertext. It returns the key id
// and nonce||ciphertext.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte) {
	keyID = k.Current()
	gcm := k.aead[keyID]
	out := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	_, _ = rand.Read(out)
	return keyID, gcm.Seal(out, out, plaintext, aad)
}

// Open decrypts what Seal returned. It fails with ErrUnknownKey when keyID
// is not in the keyring, and with an authentication error when the
// ciphertext, the nonce or aad were changed.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	gcm, ok := k.aead[keyID]
	if !ok {
		return nil, fmt.Errorf("open sealed content: key %q: %w", keyID, ErrUnknownKey)
	}
	if len(sealed) < gcm.NonceSize()+gcm.Overhead() {
		return nil, errors.New("open sealed content: too short")
	}
	n := gcm.NonceSize()
	out, err := gcm.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed content: %w", err)
	}
	return out, nil
}

// sealString seals s and returns "keyID:base64(nonce||ciphertext)".
func (k *Keyring) sealString(s, aad string) string {
	return k.sealText("", []byte(s), aad)
}

// sealText seals plain and returns prefix + "keyID:base64(nonce||ciphertext)",
// built in one allocation: an audit record's content may be megabytes.
func (k *Keyring) sealText(prefix string, plain []byte, aad string) string {
	id, sealed := k.Seal(plain, []byte(aad))
	var b strings.Builder
	b.Grow(len(prefix) + len(id) + 1 + base64.StdEncoding.EncodedLen(len(sealed)))
	b.WriteString(prefix)
	b.WriteString(id)
	b.WriteByte(':')
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	_, _ = enc.Write(sealed)
	_ = enc.Close()
	return b.String()
}

// openString reverses sealString.
func (k *Keyring) openString(v, aad string) (string, error) {
	id, enc, ok := strings.Cut(v, ":")
	if !ok {
		return "", errors.New("open sealed content: malformed")
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("open sealed content: %w", err)
	}
	if k == nil {
		return "", fmt.Errorf("open sealed content: key %q: %w", id, ErrUnknownKey)
	}
	out, err := k.Open(id, raw, []byte(aad))
	return string(out), err
}
