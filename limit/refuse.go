package limit

import (
	"time"

	"github.com/firebreak/firebreak/clienterr"
)

// refuse builds the client-facing refusal for kind on s and reports it to
// the OnRefuse hook. The message names the limit and the subject's label,
// never its name.
func (l *Limiter) refuse(kind Kind, s Subject, wait time.Duration) *clienterr.Error {
	if l.opts.OnRefuse != nil {
		l.opts.OnRefuse(kind)
	}
	label := s.Label
	if label == "" {
		label = "client"
	}
	lim := s.Limits
	switch kind {
	case KindQuota:
		// No retry can succeed until the quota is raised: no Retry-After.
		return clienterr.Errorf(clienterr.QuotaExceeded,
			"token quota of %d reached for this %s", lim.TokenQuota, label)
	case KindRPM:
		return rateLimited(wait, "requests per minute limit of %d reached for this %s", lim.RPM, label)
	case KindTPM:
		return rateLimited(wait, "tokens per minute limit of %d reached for this %s", lim.TPM, label)
	default:
		return rateLimited(wait, "concurrent requests limit of %d reached for this %s", lim.Concurrent, label)
	}
}

func rateLimited(wait time.Duration, format string, limit int, label string) *clienterr.Error {
	e := clienterr.Errorf(clienterr.RateLimited, format, limit, label)
	e.RetryAfter = max(wait, time.Second)
	return e
}

// unavailable is the refusal used when a backend fails and the limiter
// fails closed.
func unavailable(cause error) *clienterr.Error {
	e := clienterr.Wrap(clienterr.Unavailable, cause, "rate limiter unavailable")
	e.RetryAfter = time.Second
	return e
}
