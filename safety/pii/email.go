package pii

import "strings"

// emails finds e-mail addresses around each '@': a local part of up to 64
// characters (letters, digits and ._%+-) and a domain of at least two
// dot-separated labels whose last label is alphabetic. Hits are appended
// in text order.
func (s *scanner) emails() {
	t := s.text
	floor := 0 // the end of the last address: a local part starts at or after it
	for from := 0; from < len(t); {
		at := strings.IndexByte(t[from:], '@')
		if at < 0 {
			return
		}
		at += from
		from = at + 1
		l := at
		for l > floor && at-l < 64 && isLocal(t[l-1]) {
			l--
		}
		if l > floor && isLocal(t[l-1]) {
			continue // local part longer than 64
		}
		for l < at && t[l] == '.' {
			l++
		}
		if l == at || t[at-1] == '.' {
			continue
		}
		r := at + 1
		for r < len(t) && r-l <= maxEmail && (isAlnum(t[r]) || t[r] == '-' || t[r] == '.') {
			r++
		}
		if r-l > maxEmail || (r < len(t) && t[r] == '_') {
			continue
		}
		for r > at+1 && (t[r-1] == '.' || t[r-1] == '-') {
			r-- // the full stop that ends a sentence
		}
		if !validDomain(t[at+1 : r]) {
			continue
		}
		s.add(kEmail, l, r)
		from, floor = r, r
	}
}

func isLocal(c byte) bool {
	return isWord(c) || c == '.' || c == '%' || c == '+' || c == '-'
}

// validDomain checks host name syntax: labels of 1–63 letters, digits and
// inner dashes, at least two of them, the last one alphabetic and two or
// more long.
func validDomain(d string) bool {
	labels, start := 0, 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			continue
		}
		l := d[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if labels < 2 || len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if isDigit(tld[i]) || tld[i] == '-' {
			return false
		}
	}
	return true
}
