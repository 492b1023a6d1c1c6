package replica

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretLen is the size of a generated server secret.
const secretLen = 32

// loadSecret returns the server secret that keys the hashes of phone and
// identity numbers. It comes from FIREBREAK_SECRET (hex or base64), or from
// the file path (created with a random secret on first use). Replicas that
// share a database must share the secret: set FIREBREAK_SECRET, or give
// every replica the same file.
func loadSecret(path string) ([]byte, bool, error) {
	if v := strings.TrimSpace(os.Getenv("FIREBREAK_SECRET")); v != "" {
		b, err := decodeSecret(v)
		if err != nil {
			return nil, false, fmt.Errorf("FIREBREAK_SECRET: %w", err)
		}
		return b, false, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := decodeSecret(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return s, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	secret := make([]byte, secretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create server secret: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(secret) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return secret, true, err
}

func decodeSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		if b, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, errors.New("want hex or base64")
		}
	}
	if len(b) < 16 {
		return nil, errors.New("secret shorter than 16 bytes")
	}
	return b, nil
}
