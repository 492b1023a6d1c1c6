// Package redact is the one place that hides secrets in configuration
// text before it is shown: in --print-config, in the admin API and CLI's
// listings, in logs. Every string a secret can hide in goes through
// String; values that are secrets as a whole (an API key, a header value)
// are replaced with Mask.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Mask replaces a secret.
const Mask = "REDACTED"

// Value returns Mask for a non-empty secret, "" for an empty one.
func Value(s string) string {
	if s == "" {
		return ""
	}
	return Mask
}

// String hides the secrets that configuration text carries:
//
//   - in a URL (postgres://, redis://, https:// …), the user info
//     (user and password: a user name can be a token) and the values of
//     query parameters whose name says secret (token, key, password,
//     sig …);
//   - in a key=value connection string (host=db password=x), the values
//     of such keys.
//
// A URL that does not parse is replaced whole. Other text is returned as
// it is.
func String(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "://") {
		return redactURL(s)
	}
	if strings.Contains(s, "=") {
		return redactPairs(s)
	}
	return s
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Mask
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = Mask
		} else {
			for k, vs := range q {
				if SecretName(k) {
					for i := range vs {
						vs[i] = Mask
					}
				}
			}
			u.RawQuery = q.Encode()
		}
	}
	if u.Fragment != "" {
		u.Fragment = Mask
	}
	return u.String()
}

// redactPairs hides the values of secret keys in "k=v k2='v 2'" text.
func redactPairs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			b.WriteString(s[i:])
			break
		}
		key := strings.TrimSpace(s[i : i+eq])
		if j := strings.LastIndexAny(key, " \t;,&"); j >= 0 {
			key = key[j+1:]
		}
		b.WriteString(s[i : i+eq+1])
		i += eq + 1
		end := valueEnd(s, i)
		if SecretName(key) {
			b.WriteString(Mask)
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String()
}

// valueEnd is where a value starting at i ends: after its closing quote,
// or at the next separator.
func valueEnd(s string, i int) int {
	if i < len(s) && (s[i] == '\'' || s[i] == '"') {
		q := s[i]
		for j := i + 1; j < len(s); j++ {
			if s[j] == '\\' {
				j++
				continue
			}
			if s[j] == q {
				return j + 1
			}
		}
		return len(s)
	}
	if j := strings.IndexAny(s[i:], " \t;,&"); j >= 0 {
		return i + j
	}
	return len(s)
}

// SecretName reports whether a key, parameter or header name says its
// value is a secret.
func SecretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "pwd", "secret", "token", "key", "auth", "sig", "credential", "cookie", "session"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// URLError returns err with the URL of a *url.Error (what an HTTP client
// returns) passed through String, so that logging it shows no secret of
// the URL. Other errors are returned as they are.
func URLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: String(ue.URL), Err: ue.Err}
}
