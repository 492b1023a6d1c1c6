package identity

import (
	"errors"
	"strings"

	"github.com/firebreak/firebreak/internal/idhash"
	"github.com/firebreak/firebreak/safety/pii"
)

// Hash domains: the same secret keys several kinds of identifier (see
// package idhash, whose scheme the blacklists share).
const (
	domainPhone = idhash.DomainPhone
	domainID    = idhash.DomainID
	domainOrg   = idhash.DomainOrg
	domainIP    = idhash.DomainIP
	domainCode  = idhash.DomainCode
)

// mac is the keyed hash under which identifiers are stored.
func (s *Service) mac(domain string, parts ...string) string { return s.hash.Mac(domain, parts...) }

// HashPhone returns the keyed hash stored for a mainland mobile number, so
// that other parts (a blacklist) can match it without keeping the number.
func (s *Service) HashPhone(phone string) (string, error) {
	n, err := NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	return s.hash.Phone(n)
}

// HashIDNumber returns the keyed hash stored for a resident ID number.
func (s *Service) HashIDNumber(id string) (string, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if _, err := pii.ValidateChineseID(id); err != nil {
		return "", ErrBadIDNumber
	}
	return s.hash.IDNumber(id)
}

// NormalizePhone returns the 11 digits of a mainland mobile number given
// with optional spaces or hyphens and an optional +86, 0086 or 86 prefix,
// or an error wrapping ErrBadPhone (see idhash.MainlandMobile).
func NormalizePhone(s string) (string, error) {
	d, err := idhash.MainlandMobile(s)
	if errors.Is(err, idhash.ErrBadPhone) {
		return "", ErrBadPhone
	}
	return d, err
}
