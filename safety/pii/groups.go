package pii

import "strings"

// span is a run of digits [start, end) in the text.
type span struct{ start, end int }

// groups reads up to six digit groups at i joined by one kind of separator
// (a space or a dash, as in "138 1234 5678" or "010-12345678") and tries
// every kind on the whole run. Space-separated runs are also tried on
// shorter prefixes, because a space may just end the number; a dash glues
// the groups into one number, so "2024-13812345678" is not a phone number.
func (s *scanner) groups(i int) int {
	t := s.text
	var g [6]span
	n, sep := 0, byte(0)
	for p := i; n < len(g); {
		q := p
		for q < len(t) && isDigit(t[q]) {
			q++
		}
		g[n] = span{p, q}
		n++
		if q+1 >= len(t) || (t[q] != ' ' && t[q] != '-') || !isDigit(t[q+1]) {
			break
		}
		if sep == 0 {
			sep = t[q]
		} else if t[q] != sep {
			break
		}
		p = q + 1
	}
	for k := n; k >= 1; k-- {
		if k < n && sep != ' ' {
			continue
		}
		if end, ok := s.match(i, g[:k], sep); ok {
			return end
		}
	}
	if sep == ' ' && n > 1 {
		return g[1].start // the next group may start a number of its own
	}
	return g[n-1].end
}

// minDigits is the fewest digits any digit-only kind has (a landline with
// a three-digit area code and a seven-digit number).
const minDigits = 10

// match tries the digit kinds on the groups g starting at i.
func (s *scanner) match(i int, g []span, sep byte) (int, bool) {
	t := s.text
	end := g[len(g)-1].end
	var buf [20]byte
	var shape [6]int
	n := 0
	for x, sp := range g {
		if n+sp.end-sp.start > len(buf) {
			return 0, false
		}
		n += copy(buf[n:], t[sp.start:sp.end])
		shape[x] = sp.end - sp.start
	}
	if n < minDigits {
		return 0, false
	}
	sh := shape[:len(g)]
	if end < len(t) && (t[end] == 'X' || t[end] == 'x') {
		if n != 17 || !s.on(kIDCard) || !boundaryAfter(t, end+1) || !idShape(sh, 17) {
			return 0, false
		}
		buf[17] = t[end]
		if _, err := validateID18(string(buf[:18]), s.clock()); err != nil {
			return 0, false
		}
		s.add(kIDCard, i, end+1)
		return end + 1, true
	}
	if !boundaryAfter(t, end) {
		return 0, false
	}
	k, start, ok := s.classify(string(buf[:n]), sh, sep, i)
	if !ok {
		return 0, false
	}
	s.add(k, start, end)
	return end, true
}

// classify decides which kind a validated digit string is, strongest
// checks first.
func (s *scanner) classify(ds string, sh []int, sep byte, i int) (kind, start int, ok bool) {
	t := s.text
	switch {
	case s.on(kIDCard) && len(ds) == 18 && idShape(sh, 18):
		if _, err := validateID18(ds, s.clock()); err == nil {
			return kIDCard, i, true
		}
	}
	switch {
	case s.on(kUSCC) && len(sh) == 1 && len(ds) == 18 && ValidateUSCC(ds) == nil && validOrgCode(ds[8:17]):
		return kUSCC, i, true
	case s.on(kBankCard) && isBankCard(ds, sh):
		return kBankCard, i, true
	case s.on(kMobile) && isMobile(ds, sh):
		if len(ds) > 11 && i > 0 && t[i-1] == '+' {
			i-- // include the '+' of +86
		}
		return kMobile, i, true
	case s.on(kLandline) && isLandline(ds, sh, sep):
		if ds[0] != '0' && i > 0 && t[i-1] == '+' {
			i--
		}
		return kLandline, i, true
	case s.on(kIDCard) && s.d.legacy15 && len(ds) == 15 && (len(sh) == 1 || eq(sh, 6, 6, 3)):
		if validateID15(ds, s.clock()) {
			return kIDCard, i, true
		}
	}
	return 0, 0, false
}

// idShape accepts an ID number written whole or as 6-8-4 (birth date in
// the middle); n is 17 when the X check character follows the digits.
func idShape(sh []int, n int) bool {
	return len(sh) == 1 || eq(sh, 6, 8, n-14)
}

// isMobile accepts 11 digits 1[3-9]xxxxxxxxx, whole or as 3-4-4, with an
// optional 86 or 0086 country prefix written whole or as its own group.
func isMobile(ds string, sh []int) bool {
	pre := 0
	switch {
	case len(ds) == 13 && ds[:2] == "86":
		pre = 2
	case len(ds) == 15 && ds[:4] == "0086":
		pre = 4
	case len(ds) != 11:
		return false
	}
	rest := sh
	if pre > 0 && len(sh) > 1 {
		if sh[0] != pre {
			return false
		}
		rest = sh[1:]
	}
	if len(rest) != 1 && !eq(rest, 3, 4, 4) {
		return false
	}
	b := ds[pre:]
	return b[0] == '1' && b[1] >= '3' && b[1] <= '9'
}

// isLandline accepts an area code group (010, 02x, 0[3-9]xx; after +86
// without its 0) and a 7–8 digit number starting 2–9, whole or as 3/4-4,
// and with dashes an extension of up to four digits.
func isLandline(ds string, sh []int, sep byte) bool {
	var area string
	off := 0
	if len(sh) >= 3 && sh[0] == 2 && ds[:2] == "86" {
		area, off, sh = "0"+ds[2:2+sh[1]], 2+sh[1], sh[2:]
	} else {
		if len(sh) < 2 {
			return false
		}
		area, off, sh = ds[:sh[0]], sh[0], sh[1:]
	}
	if !validArea(area) {
		return false
	}
	sub, nsub := sh[0], 1
	if len(sh) >= 2 && (sh[0] == 3 || sh[0] == 4) && sh[1] == 4 {
		sub, nsub = sh[0]+4, 2
	}
	if sub < 7 || sub > 8 || (len(area) == 3 && sub != 8) || ds[off] < '2' {
		return false
	}
	rest := sh[nsub:]
	return len(rest) == 0 || (len(rest) == 1 && rest[0] <= 4 && sep == '-')
}

// validArea accepts the shapes of mainland area codes: 010, 020–029 and
// four-digit codes 0300–0999.
func validArea(a string) bool {
	switch len(a) {
	case 3:
		return a == "010" || (a[0] == '0' && a[1] == '2')
	case 4:
		return a[0] == '0' && a[1] >= '3'
	}
	return false
}

// isBankCard accepts 13–19 digits, whole, in groups of four (the last may
// be shorter) or as 4-6-5 / 4-6-4, that pass Luhn and start with a known
// issuer prefix of a length that issuer uses.
func isBankCard(ds string, sh []int) bool {
	if len(ds) < 13 || len(ds) > 19 {
		return false
	}
	if len(sh) > 1 && !eq(sh, 4, 6, 5) && !eq(sh, 4, 6, 4) {
		for x, l := range sh {
			if l != 4 && (x < len(sh)-1 || l > 4) {
				return false
			}
		}
	}
	return iinOK(ds) && Luhn(ds)
}

// iinOK checks the issuer prefix against the networks common in China
// and the lengths each issues.
func iinOK(d string) bool {
	n := len(d)
	p2, p3, p4 := atoi(d[:2]), atoi(d[:3]), atoi(d[:4])
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 == 62 || p2 == 81: // UnionPay
		return n >= 16
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return n >= 16
	case p2 == 36, p2 == 38, p2 == 39, p3 >= 300 && p3 <= 305: // Diners Club
		return n >= 14
	case p2 == 60, p4 >= 9555 && p4 <= 9559: // domestic debit cards of Chinese banks
		return n >= 16
	}
	return false
}

// parenLandline matches "(010)12345678", "（0755）8888-1234" and the like,
// where the digits at [i, j) are the area code inside parentheses.
func (s *scanner) parenLandline(i, j int) (int, bool) {
	t := s.text
	start := -1
	if t[i-1] == '(' {
		start = i - 1
	} else if i >= 3 && t[i-3:i] == "（" {
		start = i - 3
	}
	if start < 0 || !validArea(t[i:j]) {
		return 0, false
	}
	k := j
	switch {
	case strings.HasPrefix(t[k:], ")"):
		k++
	case strings.HasPrefix(t[k:], "）"):
		k += len("）")
	default:
		return 0, false
	}
	if k < len(t) && t[k] == ' ' {
		k++
	}
	a := k
	for k < len(t) && isDigit(t[k]) {
		k++
	}
	n := k - a
	if (n == 3 || n == 4) && k+1 < len(t) && (t[k] == '-' || t[k] == ' ') && isDigit(t[k+1]) {
		b := k + 1
		for k = b; k < len(t) && isDigit(t[k]); k++ {
		}
		if k-b != 4 {
			return 0, false
		}
		n += 4
	}
	if n < 7 || n > 8 || (j-i == 3 && n != 8) || t[a] < '2' || !boundaryAfter(t, k) {
		return 0, false
	}
	s.add(kLandline, start, k)
	return k, true
}

// boundaryAfter reports whether a number may end at i: no word character
// follows, and no '.' or '-' that continues it with more digits.
func boundaryAfter(t string, i int) bool {
	if i >= len(t) {
		return true
	}
	c := t[i]
	if isWord(c) {
		return false
	}
	return !((c == '.' || c == '-') && i+1 < len(t) && isDigit(t[i+1]))
}

func eq(sh []int, want ...int) bool {
	if len(sh) != len(want) {
		return false
	}
	for i := range sh {
		if sh[i] != want[i] {
			return false
		}
	}
	return true
}
