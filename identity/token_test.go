package identity_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
)

// testKeys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ed, ed2   ed25519.PrivateKey
	secret    []byte
	rsaPEM    []byte
	edPEM     []byte
}

var (
	keysOnce sync.Once
	keys     testKeys
)

func genKeys(t *testing.T) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		_, keys.ed, _ = ed25519.GenerateKey(rand.Reader)
		_, keys.ed2, _ = ed25519.GenerateKey(rand.Reader)
		keys.secret = []byte("an-hs256-secret-of-at-least-32-bytes!")
		keys.rsaPEM = pemPublic(&keys.rsa.PublicKey)
		keys.edPEM = pemPublic(keys.ed.Public())
	})
	return &keys
}

func pemPublic(pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenNow is the verifier's clock in these tests.
var tokenNow = time.Date(2025, 11, 1, 12, 0, 0, 0, shanghai)

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are valid claims for user "u1" at tokenNow.
func claims(extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "u1", "iss": "https://id.example", "aud": "firebreak",
		"exp": tokenNow.Add(time.Hour).Unix(), "iat": tokenNow.Add(-time.Minute).Unix()}
	for i := 0; i+1 < len(extra); i += 2 {
		k := extra[i].(string)
		if extra[i+1] == nil {
			delete(c, k)
			continue
		}
		c[k] = extra[i+1]
	}
	return c
}

func newVerifier(t *testing.T, opts identity.TokenOptions) *identity.TokenVerifier {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return tokenNow }
	}
	if opts.Issuer == "" {
		opts.Issuer = "https://id.example"
	}
	if opts.Audience == "" {
		opts.Audience = "firebreak"
	}
	v, err := identity.NewTokenVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTokenAlgorithms(t *testing.T) {
	k := genKeys(t)
	pemFile := writeFile(t, "keys.pem", append(append([]byte{}, k.rsaPEM...), k.edPEM...))
	secretFile := writeFile(t, "secret", append(append([]byte{}, k.secret...), '\n'))
	rsaOnly := newVerifier(t, identity.TokenOptions{KeyFiles: []string{writeFile(t, "rsa.pem", k.rsaPEM)}})
	all := newVerifier(t, identity.TokenOptions{KeyFiles: []string{pemFile, secretFile}})
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(), "")

	tests := []struct {
		name  string
		v     *identity.TokenVerifier
		token string
		cause error // nil = accepted
	}{
		{"HS256", all, sign(t, jwt.SigningMethodHS256, k.secret, claims(), ""), nil},
		{"RS256", all, sign(t, jwt.SigningMethodRS256, k.rsa, claims(), ""), nil},
		{"EdDSA", all, sign(t, jwt.SigningMethodEdDSA, k.ed, claims(), ""), nil},
		{"HS256 wrong secret", all, sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-32-bytes-or-more!!"), claims(), ""), jwt.ErrTokenSignatureInvalid},
		{"RS256 wrong key", all, sign(t, jwt.SigningMethodRS256, k.rsa2, claims(), ""), jwt.ErrTokenSignatureInvalid},
		{"EdDSA wrong key", all, sign(t, jwt.SigningMethodEdDSA, k.ed2, claims(), ""), jwt.ErrTokenSignatureInvalid},
		{"alg none", all, noneTok, jwt.ErrTokenSignatureInvalid},
		{"alg none with signature stripped", all, strings.TrimSuffix(noneTok, ".") + ".", jwt.ErrTokenSignatureInvalid},
		// The classic confusion: the RSA public key used as an HMAC secret.
		{"HS256 signed with the RSA public key", rsaOnly, sign(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), ""), jwt.ErrTokenSignatureInvalid},
		{"HS256 with RSA public key, mixed verifier", all, sign(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), ""), jwt.ErrTokenSignatureInvalid},
		{"RS384 not accepted", all, sign(t, jwt.SigningMethodRS384, k.rsa, claims(), ""), jwt.ErrTokenSignatureInvalid},
		{"tampered payload", all, tamper(sign(t, jwt.SigningMethodEdDSA, k.ed, claims(), "")), jwt.ErrTokenSignatureInvalid},
		{"garbage", all, "not.a.token", jwt.ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.Verify(tc.token)
			if tc.cause == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.Subject != "u1" || c.Level != identity.LevelAttested || !c.ExpiresAt.Equal(tokenNow.Add(time.Hour)) {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			oe := refusal(t, err, clienterr.InvalidAPIKey, identity.ErrBadToken)
			if !errors.Is(err, tc.cause) || oe.Code != clienterr.InvalidAPIKey {
				t.Fatalf("error %v, want cause %v", err, tc.cause)
			}
		})
	}
}

// tamper changes the subject in a token's payload and keeps its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"u1"`, `"u2"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestTokenClaims(t *testing.T) {
	k := genKeys(t)
	files := []string{writeFile(t, "ed.pem", k.edPEM)}
	v := newVerifier(t, identity.TokenOptions{KeyFiles: files, RequiredClaims: []string{"tenant"}})
	custom := newVerifier(t, identity.TokenOptions{KeyFiles: files,
		Claims: identity.ClaimNames{Subject: "uid", Level: "lvl", Birthdate: "dob", Minor: "kid_mode"}})
	ed := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodEdDSA, k.ed, c, "") }
	ok := func(extra ...any) string { return ed(claims(append([]any{"tenant", "t1"}, extra...)...)) }
	tests := []struct {
		name  string
		v     *identity.TokenVerifier
		token string
		cause error                       // nil = accepted
		check func(*identity.Claims) bool // for accepted tokens
	}{
		{"level claim", v, ok("fb_level", "id_document"), nil,
			func(c *identity.Claims) bool { return c.Level == identity.LevelIDDocument && !c.Minor }},
		{"minor flag", v, ok("minor", true), nil,
			func(c *identity.Claims) bool { return c.Minor && c.MinorUntil.IsZero() && c.AgeClaimed }},
		{"adult birthdate", v, ok("birthdate", "1990-01-01"), nil,
			func(c *identity.Claims) bool { return !c.Minor && c.AgeClaimed }},
		{"minor birthdate", v, ok("birthdate", "2010-03-07"), nil, func(c *identity.Claims) bool {
			return c.Minor && c.MinorUntil.Equal(time.Date(2028, 3, 7, 0, 0, 0, 0, shanghai))
		}},
		{"year withheld", v, ok("birthdate", "0000-03-07"), nil,
			func(c *identity.Claims) bool { return !c.Minor && !c.AgeClaimed }},
		{"no age claim", v, ok(), nil, func(c *identity.Claims) bool { return !c.AgeClaimed }},
		{"numeric subject", v, ok("sub", 42), nil, func(c *identity.Claims) bool { return c.Subject == "42" }},
		{"within clock skew", v, ok("exp", tokenNow.Add(-30*time.Second).Unix()), nil, nil},
		{"custom names", custom, ed(claims("sub", nil, "uid", "u1", "lvl", "phone", "kid_mode", true)), nil,
			func(c *identity.Claims) bool { return c.Subject == "u1" && c.Level == identity.LevelPhone && c.Minor }},
		{"expired", v, ok("exp", tokenNow.Add(-2*time.Minute).Unix()), jwt.ErrTokenExpired, nil},
		{"not yet valid", v, ok("nbf", tokenNow.Add(2*time.Minute).Unix()), jwt.ErrTokenNotValidYet, nil},
		{"issued in the future", v, ok("iat", tokenNow.Add(2*time.Minute).Unix()), jwt.ErrTokenUsedBeforeIssued, nil},
		{"no exp", v, ok("exp", nil), jwt.ErrTokenRequiredClaimMissing, nil},
		{"no sub", v, ok("sub", nil), identity.ErrBadToken, nil},
		{"no required claim", v, ed(claims()), identity.ErrBadToken, nil},
		{"wrong issuer", v, ok("iss", "https://evil.example"), jwt.ErrTokenInvalidIssuer, nil},
		{"wrong audience", v, ok("aud", "other"), jwt.ErrTokenInvalidAudience, nil},
		{"unknown level", v, ok("fb_level", "gold"), identity.ErrBadToken, nil},
		{"minor not a bool", v, ok("minor", "yes"), identity.ErrBadToken, nil},
		{"bad birthdate", v, ok("birthdate", "07/03/2010"), identity.ErrBadToken, nil},
		{"future birthdate", v, ok("birthdate", "2030-01-01"), identity.ErrBadToken, nil},
		{"custom names, default subject only", custom, ed(claims()), identity.ErrBadToken, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.Verify(tc.token)
			if tc.cause != nil {
				refusal(t, err, clienterr.InvalidAPIKey, tc.cause)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil && !tc.check(c) {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

func jwkRSA(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func jwkEd(kid string, k ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": base64.RawURLEncoding.EncodeToString(k)}
}

func jwks(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTokenJWKS(t *testing.T) {
	k := genKeys(t)
	edPub := k.ed.Public().(ed25519.PublicKey)
	file := writeFile(t, "jwks.json", jwks(t,
		jwkRSA("r1", &k.rsa.PublicKey),
		jwkEd("e1", edPub),
		map[string]any{"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"}, // skipped
		map[string]any{"kty": "oct", "kid": "h1", "k": base64.RawURLEncoding.EncodeToString(k.secret)},
	))
	v := newVerifier(t, identity.TokenOptions{KeyFiles: []string{file}})
	tests := []struct {
		name, token string
		ok          bool
	}{
		{"RS256 by kid", sign(t, jwt.SigningMethodRS256, k.rsa, claims(), "r1"), true},
		{"EdDSA by kid", sign(t, jwt.SigningMethodEdDSA, k.ed, claims(), "e1"), true},
		{"HS256 oct key", sign(t, jwt.SigningMethodHS256, k.secret, claims(), "h1"), true},
		{"no kid tries every key of the alg", sign(t, jwt.SigningMethodRS256, k.rsa, claims(), ""), true},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, k.rsa, claims(), "r9"), false},
		{"kid of another alg", sign(t, jwt.SigningMethodEdDSA, k.ed, claims(), "r1"), false},
		{"right kid, wrong key", sign(t, jwt.SigningMethodRS256, k.rsa2, claims(), "r1"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.token)
			if tc.ok != (err == nil) {
				t.Fatalf("Verify = %v, want ok %v", err, tc.ok)
			}
		})
	}
	t.Run("reload rotates keys", func(t *testing.T) {
		old := sign(t, jwt.SigningMethodEdDSA, k.ed, claims(), "e1")
		next := sign(t, jwt.SigningMethodEdDSA, k.ed2, claims(), "e2")
		if err := os.WriteFile(file, jwks(t, jwkEd("e2", k.ed2.Public().(ed25519.PublicKey))), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(next); err == nil {
			t.Fatal("new key accepted before Reload")
		}
		if err := v.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(next); err != nil {
			t.Fatalf("new key after Reload: %v", err)
		}
		if _, err := v.Verify(old); err == nil {
			t.Fatal("retired key still accepted")
		}
		if err := os.WriteFile(file, []byte("{broken"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := v.Reload(); err == nil {
			t.Fatal("broken file reloaded")
		}
		if _, err := v.Verify(next); err != nil {
			t.Fatalf("keys lost after a failed Reload: %v", err)
		}
	})
}

func TestTokenKeyFiles(t *testing.T) {
	k := genKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(k.ed)
	edPub := k.ed.Public().(ed25519.PublicKey)
	withD := jwkEd("e1", edPub)
	withD["d"] = "secret"
	tests := []struct {
		name string
		body []byte
	}{
		{"short secret", []byte("too-short")},
		{"private key PEM", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})},
		{"1024-bit RSA", pemPublic(&small.PublicKey)},
		{"JWKS with a private key", jwks(t, withD)},
		{"JWKS with no usable key", jwks(t, map[string]any{"kty": "EC", "crv": "P-256"})},
		{"JWKS of encryption keys only", jwks(t, map[string]any{"kty": "OKP", "crv": "Ed25519", "use": "enc",
			"x": base64.RawURLEncoding.EncodeToString(edPub)})},
		{"broken PEM", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := identity.NewTokenVerifier(identity.TokenOptions{KeyFiles: []string{writeFile(t, "key", tc.body)}})
			if err == nil {
				t.Fatal("key file accepted")
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := identity.NewTokenVerifier(identity.TokenOptions{KeyFiles: []string{filepath.Join(t.TempDir(), "none")}}); err == nil {
			t.Fatal("missing file accepted")
		}
	})
	t.Run("certificate", func(t *testing.T) {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: tokenNow.Add(-time.Hour), NotAfter: tokenNow.Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, edPub, k.ed)
		if err != nil {
			t.Fatal(err)
		}
		v := newVerifier(t, identity.TokenOptions{KeyFiles: []string{writeFile(t, "cert.pem",
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}})
		if _, err := v.Verify(sign(t, jwt.SigningMethodEdDSA, k.ed, claims(), "")); err != nil {
			t.Fatal(err)
		}
	})
}
