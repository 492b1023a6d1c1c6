package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPolicyValidateHostileBundles runs `firebreak policy validate` on
// bundle folders an attacker could hand an operator: each is refused with
// the file, the line where there is one, and the limit, in seconds and
// without reading what it should not.
func TestPolicyValidateHostileBundles(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	validate := func(t *testing.T, dir string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "policy", "validate", dir)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("policy validate still running after 60 s")
		}
		return string(out), err
	}
	newBundle := func(t *testing.T) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "bundle")
		if out, err := exec.Command(bin, "policy", "init", dir).CombinedOutput(); err != nil {
			t.Fatalf("policy init: %v\n%s", err, out)
		}
		return dir
	}
	refused := func(t *testing.T, dir string, want ...string) {
		t.Helper()
		out, err := validate(t, dir)
		if err == nil {
			t.Fatalf("validate passed:\n%s", out)
		}
		if strings.Contains(out, "panic") || strings.Contains(out, "fatal error") {
			t.Fatalf("validate crashed:\n%.2000s", out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output does not say %q:\n%.2000s", w, out)
			}
		}
	}

	t.Run("alias bomb in policy.yaml", func(t *testing.T) {
		// 6 KB of YAML whose aliases expand to 10^9 nodes.
		dir := newBundle(t)
		const n = 1000
		var y strings.Builder
		y.WriteString("format: 1\nlexicons:\n  - &lx {file: lexicons/a1d-terrorism.txt, code: A1d, flags: [")
		y.WriteString(strings.TrimSuffix(strings.Repeat("pinyin,", n), ","))
		y.WriteString("]}\noverlays:\n  route:a: &ov\n    lexicons: [")
		y.WriteString(strings.TrimSuffix(strings.Repeat("*lx,", n), ","))
		y.WriteString("]\n")
		for i := range n {
			fmt.Fprintf(&y, "  route:b%d: *ov\n", i)
		}
		os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(y.String()), 0o600)
		start := time.Now()
		refused(t, dir, "policy.yaml", "aliasing")
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("refused after %v", d)
		}
	})
	t.Run("terabyte file", func(t *testing.T) {
		// Sparse: no disk used; reading it whole would need a terabyte.
		dir := newBundle(t)
		f, err := os.Create(filepath.Join(dir, "lexicons", "huge.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(1 << 40); err != nil {
			t.Skipf("no sparse files here: %v", err)
		}
		f.Close()
		refused(t, dir, "huge.txt", "at most 67108864")
	})
	t.Run("more files than a bundle holds", func(t *testing.T) {
		dir := newBundle(t)
		for i := range 1100 {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("extra-%04d.txt", i)), nil, 0o600)
		}
		refused(t, dir, "at most 1000")
	})
	t.Run("lexicon line of 2 MiB", func(t *testing.T) {
		dir := newBundle(t)
		lex := filepath.Join(dir, "lexicons", "a1d-terrorism.txt")
		old, _ := os.ReadFile(lex)
		lines := strings.Count(string(old), "\n")
		os.WriteFile(lex, append(old, strings.Repeat("x", 2<<20)+"\n"...), 0o600)
		refused(t, dir, fmt.Sprintf("a1d-terrorism.txt:%d", lines+1), "limit on a lexicon line")
	})
	t.Run("term of noise only", func(t *testing.T) {
		// Folding leaves nothing of it to match: refused where it is written.
		dir := newBundle(t)
		lex := filepath.Join(dir, "lexicons", "a1d-terrorism.txt")
		old, _ := os.ReadFile(lex)
		lines := strings.Count(string(old), "\n")
		os.WriteFile(lex, append(old, "\u200b...\n"...), 0o600)
		refused(t, dir, fmt.Sprintf("a1d-terrorism.txt:%d", lines+1), "nothing to match after normalisation")
	})
	t.Run("symlink out of the bundle is not followed", func(t *testing.T) {
		dir := newBundle(t)
		secret := filepath.Join(t.TempDir(), "secret.txt")
		os.WriteFile(secret, []byte("s3cret-outside-the-bundle\tZ9z\n"), 0o600)
		lex := filepath.Join(dir, "lexicons", "a1d-terrorism.txt")
		os.Remove(lex)
		if err := os.Symlink(secret, lex); err != nil {
			t.Skip(err)
		}
		out, _ := validate(t, dir)
		if strings.Contains(out, "s3cret") {
			t.Fatalf("validate read through the symlink:\n%s", out)
		}
		if !strings.Contains(out, `no file "lexicons/a1d-terrorism.txt"`) {
			t.Fatalf("validate does not say the linked file is missing:\n%.2000s", out)
		}
	})
}

// TestLabelVerifyHugeInput runs `label verify` on a sparse terabyte file,
// as the export and as --text-file: refused naming the file and the limit
// (the binary used to die out of memory reading it).
func TestLabelVerifyHugeInput(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(t.TempDir(), "huge.md")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	for _, args := range [][]string{
		{"label", "verify", huge},
		{"label", "verify", `{"Label":"1"}`, "--text-file", huge},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "huge.md: larger than 64 MiB") {
			t.Errorf("%q: %v\n%.2000s", args, err, out)
		}
	}
}
