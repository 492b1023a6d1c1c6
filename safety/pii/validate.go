package pii

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by the validation helpers; match them with errors.Is.
var (
	ErrFormat   = errors.New("malformed")
	ErrChecksum = errors.New("check character mismatch")
	ErrDate     = errors.New("invalid birth date")
)

// idWeights are the GB 11643-1999 weights 2^(17-i) mod 11 for the first
// 17 digits of a resident ID number (ISO 7064 MOD 11-2).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheck maps the weighted sum mod 11 to the check character.
const idCheck = "10X98765432"

// earliestBirth bounds birth dates from below: nobody alive holds an ID
// number with an earlier date, and random digits often produce one.
var earliestBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// ValidateChineseID checks an 18-character resident identity number
// (居民身份证号码, GB 11643-1999): a known province code, a real birth date
// that is not in the future, and the MOD 11-2 check character (an upper- or
// lower-case X stands for 10). It returns the birth date at midnight UTC.
// The numbers of the new foreign permanent residence ID card, which start
// with 9 and use the same layout, are accepted too.
func ValidateChineseID(s string) (birth time.Time, err error) {
	return validateID18(s, time.Now())
}

func validateID18(s string, now time.Time) (time.Time, error) {
	if len(s) != 18 || !allDigits(s[:17]) || !isIDCheckChar(s[17]) {
		return time.Time{}, fmt.Errorf("id number: %w", ErrFormat)
	}
	if !validRegion(s) {
		return time.Time{}, fmt.Errorf("id number: region: %w", ErrFormat)
	}
	birth, ok := parseDate(s[6:14], now)
	if !ok {
		return time.Time{}, fmt.Errorf("id number: %w", ErrDate)
	}
	if upper(s[17]) != idCheckChar(s[:17]) {
		return time.Time{}, fmt.Errorf("id number: %w", ErrChecksum)
	}
	return birth, nil
}

// UpgradeID15 returns the 18-character form of a first-generation 15-digit
// ID number (GB 11643-1999 §7: the century 19 put before the year of
// birth, the check character appended), which is the number the holder's
// second-generation card carries; ok is false for anything else.
func UpgradeID15(s string) (id18 string, ok bool) {
	if !validateID15(s, time.Now()) {
		return "", false
	}
	first17 := s[:6] + "19" + s[6:]
	return first17 + string(idCheckChar(first17)), true
}

// validateID15 checks a first-generation 15-digit ID number: province code
// and a 19YYMMDD birth date. It has no check digit, so it is weaker.
func validateID15(s string, now time.Time) bool {
	if len(s) != 15 || !allDigits(s) || !validRegion(s) {
		return false
	}
	_, ok := parseDate("19"+s[6:12], now)
	return ok
}

// idCheckChar computes the check character for the first 17 digits.
func idCheckChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11]
}

func isIDCheckChar(c byte) bool { return isDigit(c) || c == 'X' || c == 'x' }

// validRegion reports whether the first two digits are a province-level
// code of GB/T 2260 (plus 71 Taiwan, 81/82 Hong Kong and Macao, 83 for
// residence permits), or start with 9 (foreign permanent residents).
func validRegion(s string) bool {
	if s[0] == '9' {
		return true
	}
	p := int(s[0]-'0')*10 + int(s[1]-'0')
	switch {
	case p >= 11 && p <= 15, p >= 21 && p <= 23, p >= 31 && p <= 37,
		p >= 41 && p <= 46, p >= 50 && p <= 54, p >= 61 && p <= 65,
		p == 71, p >= 81 && p <= 83:
		return true
	}
	return false
}

// parseDate parses YYYYMMDD and accepts dates from 1900 up to now.
func parseDate(s string, now time.Time) (time.Time, bool) {
	y := atoi(s[0:4])
	m := atoi(s[4:6])
	d := atoi(s[6:8])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, false // e.g. 0230 rolled over into March
	}
	if t.Before(earliestBirth) || t.After(now) {
		return time.Time{}, false
	}
	return t, true
}

// usccChars is the GB 32100-2015 alphabet: digits and capitals without
// I, O, Z, S and V. A character's value is its index.
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are 3^i mod 31 for the first 17 characters.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidateUSCC checks an 18-character unified social credit code
// (统一社会信用代码, GB 32100-2015): the alphabet, a non-zero registration
// authority, a six-digit region code, and the MOD 31 check character.
// Letters must be upper case.
func ValidateUSCC(s string) error {
	if len(s) != 18 || s[0] == '0' || !allDigits(s[2:8]) {
		return fmt.Errorf("credit code: %w", ErrFormat)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccChars, s[i])
		if v < 0 {
			return fmt.Errorf("credit code: %w", ErrFormat)
		}
		sum += v * usccWeights[i]
	}
	if strings.IndexByte(usccChars, s[17]) < 0 {
		return fmt.Errorf("credit code: %w", ErrFormat)
	}
	if s[17] != usccChars[(31-sum%31)%31] {
		return fmt.Errorf("credit code: %w", ErrChecksum)
	}
	return nil
}

// orgCodeWeights are the GB 11714-1997 weights of an organisation code,
// which occupies characters 9–17 of a credit code.
var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// validOrgCode checks the organisation code check character. The detector
// requires it of all-digit credit codes, which would otherwise match one
// in 31 random 18-digit runs such as order numbers.
func validOrgCode(s string) bool {
	sum := 0
	for i := 0; i < 8; i++ {
		v := strings.IndexByte(usccChars, s[i])
		if v < 0 {
			return false
		}
		sum += v * orgCodeWeights[i]
	}
	var want byte
	switch c := 11 - sum%11; c {
	case 10:
		want = 'X'
	case 11:
		want = '0'
	default:
		want = byte('0' + c)
	}
	return s[8] == want
}

// Luhn reports whether digits, a string of ASCII digits only, passes the
// Luhn (mod 10) check used by payment card numbers. Strings shorter than
// two digits or with any other character fail.
func Luhn(digits string) bool {
	if len(digits) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if !isDigit(c) {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// MaskID masks an identity document number for display: the first four and
// the last four characters stay, everything between becomes '*', so
// MaskID("110101199003077777") == "1101**********7777". The region prefix and
// the tail let a user recognise their own number without revealing the birth
// date. Strings of eight characters or fewer are masked entirely.
func MaskID(s string) string { return maskMiddle(s, 4, 4) }

// MaskMobile masks a mobile number for display the way Chinese services
// usually do: the first three and last four digits stay, so
// MaskMobile("13812345678") == "138****5678". Other lengths keep the same
// three-and-four rule; seven characters or fewer are masked entirely.
func MaskMobile(s string) string { return maskMiddle(s, 3, 4) }

func maskMiddle(s string, front, back int) string {
	r := []rune(s)
	if len(r) <= front+back {
		return strings.Repeat("*", len(r))
	}
	for i := front; i < len(r)-back; i++ {
		r[i] = '*'
	}
	return string(r)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
