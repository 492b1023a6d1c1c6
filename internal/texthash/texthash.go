// Package texthash hashes texts that may be megabytes without copying
// them.
package texthash

import (
	"crypto/sha256"
	"encoding/hex"
)

// SHA256Hex is the hex SHA-256 of s. The text goes through a buffer on
// the stack, not converted to bytes whole: the hash has no WriteString,
// so io.WriteString, or []byte(s), would copy all of it.
func SHA256Hex(s string) string {
	h := sha256.New()
	var buf [2048]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}
