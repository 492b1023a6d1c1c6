package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
)

// The signing algorithms a TokenVerifier accepts, one per key type.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algEdDSA = "EdDSA"
)

// minSecret and minRSABits bound the strength of verification keys.
const (
	minSecret  = 32
	minRSABits = 2048
)

// verifyKey is one key and the algorithm it verifies: []byte for HS256,
// *rsa.PublicKey for RS256, ed25519.PublicKey for EdDSA. Keeping the
// algorithm with the key is what stops algorithm confusion: an RSA public
// key is never offered as an HMAC secret.
type verifyKey struct {
	kid string
	alg string
	key any
}

// loadKeys reads every key file.
func loadKeys(files []string) ([]verifyKey, error) {
	var all []verifyKey
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read key file: %w", err)
		}
		keys, err := parseKeyFile(bytes.TrimSpace(b))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", f, err)
		}
		all = append(all, keys...)
	}
	if len(all) == 0 {
		return nil, errors.New("no verification keys")
	}
	return all, nil
}

// parseKeyFile tells the three file kinds apart: a JWKS JSON object, PEM
// blocks, or else the raw bytes of an HS256 secret.
func parseKeyFile(b []byte) ([]verifyKey, error) {
	switch {
	case bytes.HasPrefix(b, []byte("{")):
		return parseJWKS(b)
	case bytes.Contains(b, []byte("-----BEGIN")):
		return parsePEM(b)
	case len(b) < minSecret:
		return nil, fmt.Errorf("HS256 secret shorter than %d bytes", minSecret)
	}
	return []verifyKey{{alg: algHS256, key: bytes.Clone(b)}}, nil
}

func parsePEM(b []byte) ([]verifyKey, error) {
	var keys []verifyKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		var (
			pub any
			err error
		)
		switch blk.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
				pub = c.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE (never a private key)", blk.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", blk.Type, err)
		}
		k, err := publicKey("", pub)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block")
	}
	return keys, nil
}

func publicKey(kid string, pub any) (verifyKey, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return verifyKey{}, fmt.Errorf("RSA key of %d bits: want at least %d", k.N.BitLen(), minRSABits)
		}
		return verifyKey{kid: kid, alg: algRS256, key: k}, nil
	case ed25519.PublicKey:
		return verifyKey{kid: kid, alg: algEdDSA, key: k}, nil
	}
	return verifyKey{}, fmt.Errorf("unsupported public key type %T: want RSA or Ed25519", pub)
}

// jwk is the subset of RFC 7517/8037 members Firebreak reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	K   string `json:"k"`
	D   string `json:"d"`
}

// parseJWKS reads {"keys": [...]}. Keys for encryption, and key types the
// verifier does not use (EC), are skipped; a private key is an error.
func parseJWKS(b []byte) ([]verifyKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var keys []verifyKey
	for i, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		k, ok, err := j.key()
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, j.Kid, err)
		}
		if ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no RSA, Ed25519 or HS256 signing key")
	}
	return keys, nil
}

func (j *jwk) key() (verifyKey, bool, error) {
	want := map[string]string{"RSA": algRS256, "OKP": algEdDSA, "oct": algHS256}[j.Kty]
	if want == "" || j.Kty == "OKP" && j.Crv != "Ed25519" {
		return verifyKey{}, false, nil
	}
	if j.Alg != "" && j.Alg != want {
		return verifyKey{}, false, nil
	}
	if j.D != "" {
		return verifyKey{}, false, errors.New("private key in a verification file")
	}
	switch j.Kty {
	case "RSA":
		n, err1 := b64int(j.N)
		e, err2 := b64int(j.E)
		if err1 != nil || err2 != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
			return verifyKey{}, false, errors.New("bad RSA n or e")
		}
		k, err := publicKey(j.Kid, &rsa.PublicKey{N: n, E: int(e.Int64())})
		return k, err == nil, err
	case "OKP":
		x, err := base64.RawURLEncoding.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return verifyKey{}, false, errors.New("bad Ed25519 x")
		}
		return verifyKey{kid: j.Kid, alg: algEdDSA, key: ed25519.PublicKey(x)}, true, nil
	}
	k, err := base64.RawURLEncoding.DecodeString(j.K)
	if err != nil || len(k) < minSecret {
		return verifyKey{}, false, fmt.Errorf("oct key must be base64url of at least %d bytes", minSecret)
	}
	return verifyKey{kid: j.Kid, alg: algHS256, key: k}, true, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}
