package staff

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2 holds the argon2id cost of new password hashes. A stored hash
// carries its own parameters, so raising them only affects passwords set
// afterwards.
type Argon2 struct {
	Memory  uint32 // KiB; default 47104 (46 MiB)
	Time    uint32 // passes; default 1
	Threads uint8  // lanes; default 1
}

// DefaultArgon2 is OWASP's recommended argon2id setting (m=46 MiB, t=1, p=1).
var DefaultArgon2 = Argon2{Memory: 46 * 1024, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MinPassword and MaxPassword bound a password's length in characters
	// and bytes.
	MinPassword = 12
	MaxPassword = 256
)

// checkPassword rejects passwords too short to resist guessing, or too
// long to hash cheaply.
func checkPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return invalidf("password must be valid UTF-8")
	case utf8.RuneCountInString(pw) < MinPassword:
		return invalidf("password must have at least %d characters", MinPassword)
	case len(pw) > MaxPassword:
		return invalidf("password must be at most %d bytes", MaxPassword)
	}
	return nil
}

// hashPassword returns the PHC string of pw under a fresh salt.
func (a Argon2) hashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, a.Time, a.Memory, a.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.Memory, a.Time, a.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("stored password hash is malformed")

// verifyPassword reports whether pw matches the PHC string phc.
func verifyPassword(phc, pw string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var p Argon2
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Memory > 1<<22 || p.Time == 0 || p.Time > 64 || p.Threads == 0 {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
