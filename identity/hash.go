package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/firebreak/firebreak/safety/pii"
)

// Hash domains: the same secret keys several kinds of identifier, and a
// phone number must never hash like an ID number with the same digits.
const (
	domainPhone = "phone"
	domainID    = "id"
	domainOrg   = "org"
	domainIP    = "ip"
	domainCode  = "code"
)

// mac is the keyed hash under which identifiers are stored: hex
// HMAC-SHA-256(Secret, domain NUL part NUL part …). A plain hash would not
// do: there are only about 10^10 mobile numbers and 10^9 plausible ID
// numbers, which a GPU enumerates in seconds.
func (s *Service) mac(domain string, parts ...string) string {
	h := hmac.New(sha256.New, s.opts.Secret)
	h.Write([]byte(domain))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HashPhone returns the keyed hash stored for a mainland mobile number, so
// that other parts (a blacklist) can match it without keeping the number.
func (s *Service) HashPhone(phone string) (string, error) {
	n, err := NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	return s.mac(domainPhone, n), nil
}

// HashIDNumber returns the keyed hash stored for a resident ID number.
func (s *Service) HashIDNumber(id string) (string, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if _, err := pii.ValidateChineseID(id); err != nil {
		return "", ErrBadIDNumber
	}
	return s.mac(domainID, id), nil
}

// NormalizePhone returns the 11 digits of a mainland mobile number given
// with optional spaces or hyphens and an optional +86, 0086 or 86 prefix,
// or an error wrapping ErrBadPhone. It accepts 1[3-9]x numbers except the
// segments that cannot receive a text message: 140–144 (13-digit IoT
// numbers) and 154 (never allocated).
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	var b [16]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-':
			continue
		case c == '+' && i == 0:
			continue
		case c < '0' || c > '9' || n == len(b):
			return "", ErrBadPhone
		}
		b[n] = c
		n++
	}
	d := string(b[:n])
	switch {
	case n == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	case n == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' || d[1] < '3' {
		return "", ErrBadPhone
	}
	if p := d[:3]; p >= "140" && p <= "144" || p == "154" {
		return "", ErrBadPhone
	}
	return d, nil
}
