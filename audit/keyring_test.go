package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseKeyring(t *testing.T) {
	key := b64(make([]byte, 32))
	cases := []struct {
		name    string
		text    string
		current string
		wantErr string
	}{
		{name: "one", text: "a:" + key, current: "a"},
		{name: "last is current", text: "# keys\n\na:" + key + "\nb-2:" + key + "\n", current: "b-2"},
		{name: "empty", text: "# nothing\n", wantErr: "no key"},
		{name: "no colon", text: key, wantErr: "line 1"},
		{name: "bad id", text: "a b:" + key, wantErr: "line 1"},
		{name: "short key", text: "a:" + b64(make([]byte, 16)), wantErr: "32 bytes"},
		{name: "not base64", text: "a:!!!", wantErr: "32 bytes"},
		{name: "duplicate", text: "a:" + key + "\na:" + key, wantErr: "twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKeyring(strings.NewReader(tc.text))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Current() != tc.current {
				t.Fatalf("current = %q, want %q", k.Current(), tc.current)
			}
		})
	}
}

func TestKeyringSealOpen(t *testing.T) {
	a := testKeyring(t, "a")
	ab := testKeyring(t, "a", "b")
	other, err := ParseKeyring(strings.NewReader("a:" + b64([]byte("another key of thirty-two bytes!"))))
	if err != nil {
		t.Fatal(err)
	}
	id, sealed := a.Seal([]byte("hello"), []byte("r1"))
	if id != "a" {
		t.Fatalf("sealed with %q, want a", id)
	}
	cases := []struct {
		name    string
		k       *Keyring
		id      string
		aad     string
		want    string
		wantErr error
	}{
		{name: "same keyring", k: a, id: id, aad: "r1", want: "hello"},
		{name: "after rotation", k: ab, id: id, aad: "r1", want: "hello"},
		{name: "retired key", k: testKeyring(t, "b"), id: id, aad: "r1", wantErr: ErrUnknownKey},
		{name: "wrong key same id", k: other, id: id, aad: "r1"},
		{name: "other record", k: a, id: id, aad: "r2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.k.Open(tc.id, sealed, []byte(tc.aad))
			if tc.want == "" {
				if err == nil {
					t.Fatalf("opened %q, want an error", got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if id, _ := ab.Seal([]byte("x"), nil); id != "b" {
		t.Fatalf("after rotation new content sealed with %q, want b", id)
	}
}

func TestKeyringFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	id1, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.IDs(); len(got) != 2 || got[0] != id1 || got[1] != id2 || k.Current() != id2 {
		t.Fatalf("ids = %v current %q, want [%s %s] current %s", got, k.Current(), id1, id2, id2)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(path); err == nil {
		t.Fatal("loaded a world-readable keyring")
	}
}

func TestSigningKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sign")
	pub, err := GenerateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateSigningKey(path); err == nil {
		t.Fatal("overwrote an existing signing key")
	}
	priv, err := LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParsePublicKey(FormatPublicKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Kind: KindCheckpoint, Seq: 3, Hash: genesisHash}
	c.sign(priv)
	good := map[string]ed25519.PublicKey{PublicKeyID(parsed): parsed}
	if err := c.verify(good); err != nil {
		t.Fatalf("verify with the loaded key's public half: %v", err)
	}
	if err := c.verify(map[string]ed25519.PublicKey{}); err == nil {
		t.Fatal("verified with no known key")
	}
	forged := c
	forged.Seq = 4
	if err := forged.verify(good); err == nil {
		t.Fatal("verified a checkpoint whose seq was changed")
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigningKey(path); err == nil {
		t.Fatal("loaded a group-readable signing key")
	}
}
