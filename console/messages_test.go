package console

import (
	"io/fs"
	"regexp"
	"testing"
)

// Every message key a template names, and every key a template builds
// from a prefix and a known value, exists in Chinese and in English.
func TestMessagesComplete(t *testing.T) {
	for key, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %q lacks a language", key)
		}
	}
	keyRe := regexp.MustCompile(`\.T "([a-z_0-9.]+)"`)
	names, _ := fs.Glob(embedded, "templates/*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(embedded, n)
		for _, m := range keyRe.FindAllSubmatch(b, -1) {
			if _, ok := messages[string(m[1])]; !ok {
				t.Errorf("%s uses missing message %q", n, m[1])
			}
		}
	}
	built := map[string][]string{
		"role.":       {"admin", "policy", "reviewer", "auditor", "viewer"},
		"state.":      {"active", "disabled"},
		"action.":     {"allow", "mask", "review", "refuse", "block"},
		"range.":      {"1h", "24h", "7d", "30d"},
		"sanction.":   {"warn", "restrict", "suspend", "terminate"},
		"blacklist.":  {"user", "device", "ip", "phone", "id_number"},
		"complaints.": {"open", "answered", "closed"},
		"policy.":     {"publish", "rollback"},
		"kb.action.":  {"annotate", "caution", "refuse"},
		"error.":      {"400", "401", "403", "404", "413", "429", "500"},
		"error.text.": {"400", "401", "403", "404", "413", "429"},
	}
	for prefix, values := range built {
		for _, v := range values {
			if _, ok := messages[prefix+v]; !ok {
				t.Errorf("missing message %q", prefix+v)
			}
		}
	}
}
