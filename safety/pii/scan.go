package pii

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/firebreak/firebreak/safety"
)

// scanner makes one pass over a text. E-mail addresses are found first
// (around each '@'); the main pass then looks at every ASCII word that
// starts at a word boundary and skips the e-mail spans.
type scanner struct {
	d    *Detector
	text string
	hits []safety.Hit
	now  time.Time // for birth dates; set lazily
}

func (s *scanner) on(k int) bool { return s.d.enabled[k] }

func (s *scanner) add(k, start, end int) {
	if s.hits == nil {
		s.hits = make([]safety.Hit, 0, 8)
	}
	s.hits = append(s.hits, safety.Hit{
		Detector: "pii",
		Rule:     string(allKinds[k]),
		Code:     s.d.code[k],
		Action:   s.d.action[k],
		Start:    start,
		End:      end,
	})
}

const (
	kMobile = iota
	kIDCard
	kBankCard
	kEmail
	kIPv4
	kIPv6
	kUSCC
	kLandline
	kPassport
)

func (s *scanner) run() {
	if s.on(kEmail) {
		s.emails()
	}
	nEmail := len(s.hits)
	e := 0
	t := s.text
	for i := 0; i < len(t); {
		if e < nEmail && i >= s.hits[e].Start {
			i = max(i, s.hits[e].End)
			e++
			continue
		}
		c := t[i]
		if !isAlnum(c) && !(c == ':' && i+1 < len(t) && t[i+1] == ':') {
			i++
			continue
		}
		if i > 0 && isWord(t[i-1]) {
			i++ // inside a word: only word starts begin a candidate
			continue
		}
		i = max(s.token(i), i+1)
	}
	if nEmail > 0 && len(s.hits) > nEmail {
		s.dedupe()
	}
}

// dedupe sorts the hits by offset and drops any hit that overlaps an
// earlier one (a mobile number that is the local part of an e-mail).
func (s *scanner) dedupe() {
	slices.SortStableFunc(s.hits, func(a, b safety.Hit) int { return cmp.Compare(a.Start, b.Start) })
	out := s.hits[:1]
	for _, h := range s.hits[1:] {
		if h.Start >= out[len(out)-1].End {
			out = append(out, h)
		}
	}
	s.hits = out
}

// token examines the word starting at i and returns where to resume.
func (s *scanner) token(i int) int {
	t := s.text
	j := i
	for j < len(t) && isWord(t[j]) {
		j++
	}
	if s.on(kIPv6) && j < len(t) && t[j] == ':' && isHexWord(t[i:j]) {
		if end, ok := s.ipv6(i); ok {
			return end
		}
	}
	if j == i { // "::" start
		if s.on(kIPv6) {
			if end, ok := s.ipv6(i); ok {
				return end
			}
		}
		return i + 2
	}
	if allDigits(t[i:j]) {
		return s.number(i, j)
	}
	s.word(i, j)
	return j
}

// word checks a mixed letter-and-digit word: an ID number ending in X,
// a credit code, a passport number.
func (s *scanner) word(i, j int) {
	w := s.text[i:j]
	switch len(w) {
	case 18:
		if s.on(kIDCard) && allDigits(w[:17]) && (w[17] == 'X' || w[17] == 'x') {
			if _, err := validateID18(w, s.clock()); err == nil {
				s.add(kIDCard, i, j)
				return
			}
		}
		if s.on(kUSCC) && ValidateUSCC(w) == nil {
			s.add(kUSCC, i, j)
		}
	case 9:
		if s.on(kPassport) && isPassport(w) {
			s.add(kPassport, i, j)
		}
	}
}

// isPassport matches PRC ordinary passports: E or G and eight digits, or
// E, a letter other than I and O, and seven digits.
func isPassport(w string) bool {
	switch {
	case (w[0] == 'E' || w[0] == 'G') && allDigits(w[1:]):
		return true
	case w[0] == 'E' && w[1] >= 'A' && w[1] <= 'Z' && w[1] != 'I' && w[1] != 'O' && allDigits(w[2:]):
		return true
	}
	return false
}

func (s *scanner) clock() time.Time {
	if s.now.IsZero() {
		s.now = time.Now()
	}
	return s.now
}

// number handles a word of digits [i, j): decimals and IPv4 addresses
// first, then runs of digit groups.
func (s *scanner) number(i, j int) int {
	t := s.text
	if i >= 2 && t[i-1] == '.' && isDigit(t[i-2]) {
		return skipDotted(t, j) // the fraction of a decimal number
	}
	if j+1 < len(t) && t[j] == '.' && isDigit(t[j+1]) {
		if s.on(kIPv4) {
			if end, ok := ipv4(t, i); ok {
				s.add(kIPv4, i, end)
				return end
			}
		}
		return skipDotted(t, j)
	}
	if s.on(kLandline) && i > 0 {
		if end, ok := s.parenLandline(i, j); ok {
			return end
		}
	}
	return s.groups(i)
}

// skipDotted skips the rest of a dotted number such as 3.14 or 1.2.3.4.5.
func skipDotted(t string, i int) int {
	for i < len(t) && (isDigit(t[i]) || (t[i] == '.' && i+1 < len(t) && isDigit(t[i+1]))) {
		i++
	}
	for i < len(t) && isWord(t[i]) {
		i++
	}
	return i
}

// ipv4 parses a dotted quad at i with decimal octets 0–255 and no leading
// zeros, followed by a boundary.
func ipv4(t string, i int) (int, bool) {
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(t) || t[i] != '.' {
				return 0, false
			}
			i++
		}
		start, v := i, 0
		for i < len(t) && isDigit(t[i]) && i-start < 4 {
			v = v*10 + int(t[i]-'0')
			i++
		}
		n := i - start
		if n == 0 || n > 3 || v > 255 || (n > 1 && t[start] == '0') {
			return 0, false
		}
	}
	if i < len(t) && (isWord(t[i]) || (t[i] == '.' && i+1 < len(t) && isDigit(t[i+1]))) {
		return 0, false
	}
	return i, true
}

// ipv6 takes the longest run of hex digits, colons and dots at i and
// accepts it if net/netip parses it as an IPv6 address. Runs with fewer
// than four hex digits (C++'s A::B) or two colons are not reported.
func (s *scanner) ipv6(i int) (int, bool) {
	t := s.text
	k, colons, hex := i, 0, 0
	for k < len(t) && k-i <= 45 {
		c := t[k]
		if c == ':' {
			colons++
		} else if isHex(c) {
			hex++
		} else if c != '.' {
			break
		}
		k++
	}
	if colons < 2 || hex < 4 || k-i > 45 {
		return 0, false
	}
	for try := 0; try < 2 && k > i; try++ {
		if k < len(t) && isWord(t[k]) {
			return 0, false
		}
		if a, err := netip.ParseAddr(t[i:k]); err == nil && a.Is6() {
			s.add(kIPv6, i, k)
			return k, true
		}
		if c := t[k-1]; c != ':' && c != '.' {
			break
		}
		k-- // "fe80::1:" at the end of a clause
	}
	return 0, false
}

// isHexWord reports whether w (possibly empty) holds only hex digits.
func isHexWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if !isHex(w[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
func isWord(c byte) bool { return isAlnum(c) || c == '_' }
func isHex(c byte) bool  { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
