package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/safety/pii"
)

// ErrIDMismatch is what an IDChecker returns (wrapped) when the name and
// number do not belong together; any other error means the check could not
// be made.
var ErrIDMismatch = errors.New("name and ID number do not match")

// IDChecker matches a person's name and resident ID number against an
// authoritative source (the national online identity service, or a
// licensed verification provider): the operator's integration. Firebreak
// itself can only check that the number is well formed.
type IDChecker interface {
	CheckID(ctx context.Context, name, idNumber string) error
}

const maxNameRunes = 200

func checkName(name, param string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameRunes {
		return "", invalid(ErrBadName, param, fmt.Sprintf("%s must be 1 to %d characters", param, maxNameRunes))
	}
	return name, nil
}

// VerifyIDDocument records LevelIDDocument for u (unless it already has a
// higher level) from a resident ID number: the GB 11643 check character,
// region and birth date must be valid, and Options.IDChecker, if set, must
// match it to name. Stored are the number's keyed hash, its masked form
// and, only if u is under 18, the day u comes of age; the name and the
// birth date are not kept. Without an IDChecker the method recorded is
// "id_format", which says that only the format was checked. Once u has an
// ID number, another is refused with a 409 wrapping ErrOtherIDNumber
// (see merge); the same one again is accepted.
func (s *Service) VerifyIDDocument(ctx context.Context, u *account.EndUser, name, idNumber string) error {
	name, err := checkName(name, "name")
	if err != nil {
		return err
	}
	id := strings.ToUpper(strings.TrimSpace(idNumber))
	birth, err := pii.ValidateChineseID(id)
	if err != nil {
		return invalid(fmt.Errorf("%w: %w", ErrBadIDNumber, err), "id_number", "not a valid resident ID number")
	}
	method := MethodIDFormat
	if s.opts.IDChecker != nil {
		if err := s.opts.IDChecker.CheckID(ctx, name, id); err != nil {
			if errors.Is(err, ErrIDMismatch) {
				return clienterr.Wrap(clienterr.Forbidden, err, "the name and ID number do not match")
			}
			return clienterr.Wrap(clienterr.Unavailable, err, "identity check unavailable; try again later")
		}
		method = MethodIDChecked
	}
	now := s.opts.Now()
	minor, until := minorFields(birth, now, s.opts.Location)
	err = s.write(ctx, u.ID, func(tx *sql.Tx) error {
		return s.merge(ctx, tx, record{userID: u.ID, tenantID: u.TenantID, level: LevelIDDocument, method: method,
			idHash: s.mac(domainID, id), idMasked: pii.MaskID(id), setMinor: true, minor: minor, minorUntil: until, at: now})
	})
	if err != nil {
		return fmt.Errorf("verify id document: %w", err)
	}
	s.opts.Logger.Info("id document verified", "user", u.ID, "id", pii.MaskID(id), "method", method, "minor", minor)
	return nil
}

// VerifyOrganisation records LevelOrganisation for u (unless it already
// has a higher level) from an organisation's unified social credit code,
// which must pass the GB 32100 check (letters may be given in lower case).
// Stored are the code's keyed hash, its masked form and orgName.
func (s *Service) VerifyOrganisation(ctx context.Context, u *account.EndUser, uscc, orgName string) error {
	orgName, err := checkName(orgName, "org_name")
	if err != nil {
		return err
	}
	code := strings.ToUpper(strings.TrimSpace(uscc))
	if err := pii.ValidateUSCC(code); err != nil {
		return invalid(fmt.Errorf("%w: %w", ErrBadCreditCode, err), "credit_code", "not a valid unified social credit code")
	}
	now := s.opts.Now()
	err = s.write(ctx, u.ID, func(tx *sql.Tx) error {
		return s.merge(ctx, tx, record{userID: u.ID, tenantID: u.TenantID, level: LevelOrganisation, method: MethodUSCCFormat,
			orgHash: s.mac(domainOrg, code), orgMasked: pii.MaskID(code), org: orgName, at: now})
	})
	if err != nil {
		return fmt.Errorf("verify organisation: %w", err)
	}
	s.opts.Logger.Info("organisation verified", "user", u.ID, "credit_code", pii.MaskID(code))
	return nil
}
