package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/firebreak/firebreak/staff"
)

// locale translates message keys into one language.
type locale struct {
	lang string
	idx  int // 0 zh-CN, 1 en
}

var (
	zhCN = &locale{lang: "zh-CN", idx: 0}
	en   = &locale{lang: "en", idx: 1}
)

// T returns the message of key, formatted with args. A missing key shows
// itself, so a gap is visible (and a test fails on it).
func (l *locale) T(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m[l.idx]
	}
	return fmt.Sprintf(m[l.idx], args...)
}

// Lang is the language tag of the page.
func (l *locale) Lang() string { return l.lang }

// localeFor picks the language: the member's setting, then the cookie the
// language switch sets, then the browser's Accept-Language; Chinese when
// nothing says otherwise.
func localeFor(r *http.Request, p *staff.Principal) *locale {
	if p != nil {
		switch p.Member.Language {
		case "zh-CN":
			return zhCN
		case "en":
			return en
		}
	}
	switch cookie(r, langCookie) {
	case "zh-CN":
		return zhCN
	case "en":
		return en
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(tag)
		switch {
		case strings.HasPrefix(tag, "zh"):
			return zhCN
		case strings.HasPrefix(tag, "en"):
			return en
		}
	}
	return zhCN
}
