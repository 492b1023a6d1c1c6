package sanction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// Topics this package publishes on and subscribes to. Payloads are ids,
// never content.
const (
	TopicUser      = "sanction.user"      // payload: tenant id, newline, end-user id
	TopicBlacklist = "sanction.blacklist" // payload: blacklist entry id
)

// UserResolver turns a reference to an end user (the end-user id, or the
// operator's own id within a tenant) into the end user's id.
// *account.Users implements it.
type UserResolver interface {
	EndUserID(ctx context.Context, tenantID, ref string) (string, error)
}

// MinSecretLen is the shortest Options.Secret accepted.
const MinSecretLen = 16

// Options configures New.
type Options struct {
	// DB is the store handle. Required.
	DB *store.DB
	// Secret keys the HMAC-SHA-256 of phone and identity numbers on the
	// blacklist. Required, at least MinSecretLen bytes; every replica must
	// use the same one, and changing it orphans the stored hashes.
	Secret []byte
	// Rules, when set, gives the strike codes and ladder in force, read
	// for every violation: `firebreak serve` passes the policy service, so
	// a policy published or rolled back on any replica changes them here
	// as soon as it is in force. Default nil: Ladder and StrikeCodes.
	Rules StrikeRules
	// Ladder is the sequence of graded sanctions when Rules is nil.
	// Default DefaultLadder().
	Ladder Ladder
	// StrikeCodes lists the risk codes that bear strikes when Rules is nil;
	// an entry matches a code equal to it or starting with it ("A1"
	// matches "A1a"). Default DefaultStrikeCodes. An empty, non-nil list:
	// no code bears a strike.
	StrikeCodes []string
	// Location sets the calendar day for Trigger.PerDay. Default
	// Asia/Shanghai from the system's time zone data, or a fixed UTC+8 zone
	// (the same since 1991) if that is missing.
	Location *time.Location
	// Bus carries every change of a standing or of the blacklist to the
	// other replicas (published inside the writing transaction) and
	// theirs to this one. Default notify.Discard: one node, or replicas
	// that see changes after CacheTTL and ReloadInterval.
	Bus notify.Bus
	// CacheTTL bounds how long a cached standing is trusted. Default 30s.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached standings. Default 100,000.
	CacheSize int
	// ReloadInterval is how often the blacklist index is rebuilt from the
	// database, which drops expired entries and repairs a missed notice.
	// Default 1 minute.
	ReloadInterval time.Duration
	// Notices are the lines the gateway adds to a reply when a violation
	// imposes a sanction, by action; "{until}" is replaced by the end time.
	// Missing actions get the defaults (DefaultNotices).
	Notices map[Action]string
	// Users, when set, turns the operator's own user id on a user
	// blacklist entry into the end user's id, as sanctions are imposed;
	// `firebreak serve` passes the accounts' users. Default nil: user
	// entries must name end-user ids.
	Users UserResolver
	// Logger receives background failures (never content). Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultNotices are the default reply lines, in Chinese and English.
func DefaultNotices() map[Action]string {
	return map[Action]string{
		Warn:      "提示：您的输入违反了法律法规或服务协议，多次违规将被限制或暂停服务。Warning: your input breaks the law or the service agreement; repeated violations restrict or suspend the service.",
		Restrict:  "提示：因多次违规，您的部分功能已被限制至 {until}。Your use of the service is restricted until {until} for repeated violations.",
		Suspend:   "提示：因多次违规，您的服务已被暂停至 {until}。Your service is suspended until {until} for repeated violations.",
		Terminate: "提示：因多次违规，您的服务已被终止。Your service has been terminated for repeated violations.",
	}
}

func (o Options) withDefaults() (Options, error) {
	if o.DB == nil {
		return o, errors.New("sanction: Options.DB is required")
	}
	if len(o.Secret) < MinSecretLen {
		return o, fmt.Errorf("sanction: Options.Secret must be at least %d bytes", MinSecretLen)
	}
	if o.CacheTTL < 0 || o.CacheSize < 0 || o.ReloadInterval < 0 {
		return o, errors.New("sanction: negative cache or reload option")
	}
	if o.Ladder.Steps == nil {
		o.Ladder = DefaultLadder()
	}
	if err := o.Ladder.Validate(); err != nil {
		return o, fmt.Errorf("sanction: %w", err)
	}
	if o.StrikeCodes == nil {
		o.StrikeCodes = DefaultStrikeCodes()
	}
	if err := (Strikes{Codes: o.StrikeCodes, Ladder: o.Ladder}).Validate(); err != nil {
		return o, fmt.Errorf("sanction: %w", err)
	}
	if o.Rules == nil {
		o.Rules = fixedRules{Codes: o.StrikeCodes, Ladder: o.Ladder}
	}
	if o.Location == nil {
		o.Location = shanghai()
	}
	if o.Bus == nil {
		o.Bus = notify.Discard
	}
	o.Notices = withNoticeDefaults(o.Notices)
	o.CacheTTL = orDefault(o.CacheTTL, 30*time.Second)
	o.CacheSize = orDefault(o.CacheSize, 100_000)
	o.ReloadInterval = orDefault(o.ReloadInterval, time.Minute)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func withNoticeDefaults(in map[Action]string) map[Action]string {
	out := DefaultNotices()
	for a, s := range in {
		out[a] = s
	}
	return out
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Strikes says which risk codes bear strikes and the ladder of sanctions
// they climb.
type Strikes struct {
	// Codes match a code equal to an entry or starting with it ("A1"
	// matches "A1a"); an empty list means no code bears a strike.
	Codes  []string
	Ladder Ladder
}

// StrikeRules gives the strikes in force. The policy service implements
// it from the strikes section of the policy in force.
type StrikeRules interface {
	Strikes() Strikes
}

// DefaultStrikeCodes are the codes that bear strikes by default: A1 and
// A2, the 17 risks of the keyword library.
func DefaultStrikeCodes() []string { return []string{"A1", "A2"} }

// Validate checks the codes and the ladder.
func (st Strikes) Validate() error {
	for _, c := range st.Codes {
		if strings.TrimSpace(c) == "" {
			return errors.New("empty strike code")
		}
	}
	return st.Ladder.Validate()
}

// bears reports whether a violation of code counts against the user.
func (st Strikes) bears(code string) bool {
	for _, c := range st.Codes {
		if strings.HasPrefix(code, c) {
			return true
		}
	}
	return false
}

// fixedRules are strikes that never change.
type fixedRules Strikes

func (f fixedRules) Strikes() Strikes { return Strikes(f) }
