// Package idhash is the one keyed-hash scheme for personal identifiers:
// the form in which identity stores a verified phone or ID number and in
// which sanction's blacklists match them. Both must hash a number the same
// way, or a blacklisted number never meets the verified one.
//
// A hash is hex HMAC-SHA-256(secret, domain NUL part NUL part …). A plain
// hash would not do: there are about 10^10 mobile numbers and 10^9
// plausible ID numbers, which a GPU enumerates in seconds. The domain
// keeps kinds apart, so a phone number never hashes like an ID number
// with the same digits.
package idhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Domains of the identifiers hashed with the server secret.
const (
	DomainPhone = "phone"
	DomainID    = "id"
	DomainOrg   = "org"
	DomainIP    = "ip"
	DomainCode  = "code"
)

// Errors of the normalisers.
var (
	ErrBadPhone    = errors.New("not a phone number")
	ErrBadIDNumber = errors.New("not an identity number")
)

// Hasher hashes identifiers under one secret. It is safe for concurrent use.
type Hasher struct{ secret []byte }

// New returns a Hasher keyed by secret (the server secret).
func New(secret []byte) *Hasher { return &Hasher{secret: secret} }

// Mac is the keyed hash of parts in domain.
func (h *Hasher) Mac(domain string, parts ...string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(domain))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Phone is the keyed hash of a phone number in the form PhoneNumber gives.
func (h *Hasher) Phone(s string) (string, error) {
	n, err := PhoneNumber(s)
	if err != nil {
		return "", err
	}
	return h.Mac(DomainPhone, n), nil
}

// IDNumber is the keyed hash of an identity number in the form
// IDNumberForm gives.
func (h *Hasher) IDNumber(s string) (string, error) {
	n, err := IDNumberForm(s)
	if err != nil {
		return "", err
	}
	return h.Mac(DomainID, n), nil
}

// MainlandMobile returns the 11 digits of a mainland mobile number given
// with optional spaces or hyphens and an optional +86, 0086 or 86 prefix,
// or ErrBadPhone. It accepts 1[3-9]x numbers except the segments that
// cannot receive a text message: 140–144 (13-digit IoT numbers) and 154
// (never allocated).
func MainlandMobile(s string) (string, error) {
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

// PhoneNumber is the canonical form of a phone number: with spaces,
// hyphens, dots and brackets dropped, the 11 digits of a mainland mobile
// number however written (see MainlandMobile), else the 5 to 20 digits
// of any other number, a leading + dropped. A mainland number written
// with its country code in brackets, "(+86) 138 …", is the mainland
// number, as identity verifies it.
func PhoneNumber(s string) (string, error) {
	p := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if n, err := MainlandMobile(p); err == nil {
		return n, nil
	}
	p = strings.TrimPrefix(p, "+")
	if len(p) < 5 || len(p) > 20 || strings.Trim(p, "0123456789") != "" {
		return "", ErrBadPhone
	}
	return p, nil
}

// IDNumberForm is the canonical form of an identity number: spaces
// dropped, letters in upper case (the check character X), 5 to 32
// letters and digits. A resident ID number is not validated here; the
// identity flows do that.
func IDNumberForm(s string) (string, error) {
	p := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if len(p) < 5 || len(p) > 32 || strings.Trim(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "", ErrBadIDNumber
	}
	return p, nil
}
