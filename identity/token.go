package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/clienterr"
)

// ClaimNames names the claims a TokenVerifier reads.
type ClaimNames struct {
	Subject   string `json:"subject" yaml:"subject"`     // the operator's user id. Default "sub"
	Level     string `json:"level" yaml:"level"`         // a Level name. Default "fb_level"
	Birthdate string `json:"birthdate" yaml:"birthdate"` // "YYYY-MM-DD" (OpenID Connect). Default "birthdate"
	Minor     string `json:"minor" yaml:"minor"`         // true for a minor. Default "minor"
}

// TokenOptions configures NewTokenVerifier.
type TokenOptions struct {
	// KeyFiles are read at start and by Reload; keys are never fetched
	// over the network. Each file is a JWKS JSON object, PEM blocks (RSA or
	// Ed25519 PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE; private keys are
	// refused), or else the raw bytes of an HS256 secret of at least 32
	// bytes. RSA keys verify RS256, Ed25519 keys EdDSA, secrets HS256, and
	// nothing else. Required.
	KeyFiles []string
	// Issuer, if set, must equal the "iss" claim. Default "" (unchecked).
	Issuer string
	// Audience, if set, must be in the "aud" claim. Default "" (unchecked).
	Audience string
	// ClockSkew is the leeway on exp, nbf and iat. Default 1 minute.
	ClockSkew time.Duration
	// RequiredClaims must be present besides "exp" and the subject, which
	// always are. Default none.
	RequiredClaims []string
	// Claims names the claims read. Defaults in ClaimNames.
	Claims ClaimNames
	// Location is the time zone of the 18th birthday. Default Asia/Shanghai.
	Location *time.Location
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Claims is what a verified token says about its end user. A birth date
// claim is reduced to Minor and MinorUntil and not kept.
type Claims struct {
	Subject string // the operator's user id: account.EndUser.ExternalID
	// Level is the level the operator vouches for; LevelAttested when the
	// token has no level claim.
	Level Level
	// Minor is set when the minor claim is true or the birth date is less
	// than 18 years ago.
	Minor bool
	// MinorUntil is when a minor comes of age; zero when unknown.
	MinorUntil time.Time
	// AgeClaimed is set when the token has a minor or birth date claim;
	// without one, Attest keeps the minor status already known.
	AgeClaimed bool
	ExpiresAt  time.Time
}

// TokenVerifier checks identity tokens signed by the operator's identity
// system. It is safe for concurrent use, including with Reload.
type TokenVerifier struct {
	opts   TokenOptions
	keys   atomic.Pointer[[]verifyKey]
	parser atomic.Pointer[jwt.Parser]
}

// NewTokenVerifier validates opts and loads the key files.
func NewTokenVerifier(opts TokenOptions) (*TokenVerifier, error) {
	if len(opts.KeyFiles) == 0 {
		return nil, errors.New("token verifier: KeyFiles is required")
	}
	if opts.ClockSkew < 0 {
		return nil, errors.New("token verifier: negative ClockSkew")
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = time.Minute
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&opts.Claims.Subject, "sub")
	def(&opts.Claims.Level, "fb_level")
	def(&opts.Claims.Birthdate, "birthdate")
	def(&opts.Claims.Minor, "minor")
	if opts.Location == nil {
		opts.Location = shanghai()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &TokenVerifier{opts: opts}
	if err := v.Reload(); err != nil {
		return nil, err
	}
	return v, nil
}

// Reload reads the key files again, for key rotation. On error the keys
// in use stay.
func (v *TokenVerifier) Reload() error {
	keys, err := loadKeys(v.opts.KeyFiles)
	if err != nil {
		return fmt.Errorf("token verifier: %w", err)
	}
	var algs []string
	for _, a := range []string{algHS256, algRS256, algEdDSA} {
		for _, k := range keys {
			if k.alg == a {
				algs = append(algs, a)
				break
			}
		}
	}
	popts := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithLeeway(v.opts.ClockSkew), jwt.WithJSONNumber(),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(v.opts.Now)}
	if v.opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(v.opts.Issuer))
	}
	if v.opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(v.opts.Audience))
	}
	v.parser.Store(jwt.NewParser(popts...))
	v.keys.Store(&keys)
	return nil
}

// keyfunc offers the keys made for the token's algorithm, narrowed to its
// "kid" when it names one.
func (v *TokenVerifier) keyfunc(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kid, _ := t.Header["kid"].(string)
	var set jwt.VerificationKeySet
	for _, k := range *v.keys.Load() {
		if k.alg == alg && (kid == "" || k.kid == "" || k.kid == kid) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no %s key for kid %q", alg, kid)
	}
	return set, nil
}

// Verify checks the token's signature, algorithm, time claims, issuer,
// audience and required claims, and returns what it says. A refusal is a
// 401 *clienterr.Error whose cause wraps ErrBadToken and jwt's reason.
func (v *TokenVerifier) Verify(token string) (*Claims, error) {
	var mc jwt.MapClaims
	if _, err := v.parser.Load().ParseWithClaims(token, &mc, v.keyfunc); err != nil {
		msg := "identity token is invalid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "identity token has expired"
		}
		return nil, clienterr.Wrap(clienterr.InvalidAPIKey, fmt.Errorf("%w: %w", ErrBadToken, err), msg)
	}
	c, err := v.claims(mc)
	if err != nil {
		return nil, clienterr.Wrap(clienterr.InvalidAPIKey, fmt.Errorf("%w: %w", ErrBadToken, err), "identity token is invalid: "+err.Error())
	}
	return c, nil
}

// claims reads the verified claims into a Claims. Its errors name a claim
// and never echo a value.
func (v *TokenVerifier) claims(mc jwt.MapClaims) (*Claims, error) {
	names := v.opts.Claims
	for _, name := range v.opts.RequiredClaims {
		if _, ok := mc[name]; !ok {
			return nil, fmt.Errorf("claim %q is required", name)
		}
	}
	c := &Claims{Level: LevelAttested}
	switch sub := mc[names.Subject].(type) {
	case string:
		c.Subject = sub
	case json.Number: // kept as written: a 64-bit id read as a float is another user's
		if d := strings.TrimPrefix(string(sub), "-"); d != "" && strings.Trim(d, "0123456789") == "" {
			c.Subject = string(sub)
		}
	}
	if c.Subject == "" || len(c.Subject) > account.MaxExternalIDLen {
		return nil, fmt.Errorf("claim %q must be a non-empty user id", names.Subject)
	}
	if exp, err := mc.GetExpirationTime(); err == nil && exp != nil {
		c.ExpiresAt = exp.Time
	}
	if raw, ok := mc[names.Level]; ok {
		s, _ := raw.(string)
		l, err := ParseLevel(s)
		if err != nil {
			return nil, fmt.Errorf("claim %q must name a verification level", names.Level)
		}
		c.Level = l
	}
	if err := v.minorClaims(mc, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (v *TokenVerifier) minorClaims(mc jwt.MapClaims, c *Claims) error {
	names := v.opts.Claims
	if raw, ok := mc[names.Minor]; ok {
		b, isBool := raw.(bool)
		if !isBool {
			return fmt.Errorf("claim %q must be true or false", names.Minor)
		}
		c.Minor, c.AgeClaimed = b, true
	}
	raw, ok := mc[names.Birthdate]
	if !ok {
		return nil
	}
	s, _ := raw.(string)
	if len(s) == 10 && s[:4] == "0000" {
		return nil // OpenID Connect: year withheld, so no age can be told
	}
	c.AgeClaimed = true
	birth, err := time.Parse(time.DateOnly, s)
	now := v.opts.Now()
	if err != nil || birth.After(now) {
		return fmt.Errorf("claim %q must be a past date YYYY-MM-DD", names.Birthdate)
	}
	if adult := comingOfAge(birth, v.opts.Location); now.Before(adult) {
		c.Minor, c.MinorUntil = true, adult
	}
	return nil
}

// Attest records what a verified token says about u: its level replaces
// the stored one, whatever it was (the operator's system is the authority
// for its users), with the method "token", and so does its minor status
// when it makes an age claim.
// u must be the end user the token names. Nothing is written when the
// cached state already says the same, so calling Attest on every request
// costs a cache read.
func (s *Service) Attest(ctx context.Context, u *account.EndUser, c *Claims) error {
	if c.Subject != u.ExternalID {
		return clienterr.Wrap(clienterr.Forbidden, ErrBadToken, "identity token is for another user")
	}
	until := ""
	if c.Minor && !c.MinorUntil.IsZero() {
		until = c.MinorUntil.Format(time.DateOnly)
	}
	st, err := s.State(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	same := st.Level == c.Level && st.Method == MethodToken
	if c.AgeClaimed {
		same = same && st.Minor == c.Minor && dateOf(st.MinorUntil) == until
	}
	if same {
		return nil
	}
	err = s.write(ctx, u.ID, func(tx *sql.Tx) error {
		return s.merge(ctx, tx, record{userID: u.ID, tenantID: u.TenantID, level: c.Level, method: MethodToken,
			replace: true, setMinor: c.AgeClaimed, minor: c.Minor, minorUntil: until, at: s.opts.Now()})
	})
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	return nil
}

func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}
