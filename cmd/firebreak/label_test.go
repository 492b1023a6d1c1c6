package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/label"
)

// labelCLI runs "firebreak label …" and returns stdout and the error.
func labelCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"label"}, args...), &out, io.Discard)
	return out.String(), err
}

// verdict runs "label verify" and returns its verdict and what it says
// was altered.
func verdict(t *testing.T, args ...string) (string, []string, string) {
	t.Helper()
	out, err := labelCLI(t, append([]string{"verify"}, args...)...)
	var v struct {
		Verdict string
		Altered []string
		Record  string
	}
	if jerr := json.Unmarshal([]byte(out), &v); jerr != nil {
		t.Fatalf("verify %v: %v (%v)\n%s", args, jerr, err, out)
	}
	if (err == nil) != (v.Verdict == label.Genuine) {
		t.Errorf("verify %v: verdict %s but error %v", args, v.Verdict, err)
	}
	return v.Verdict, v.Altered, v.Record
}

// TestLabelExportAndVerify: an answer served by the real binary exports to
// Markdown and DOCX that verify as genuine against the signing key and the
// audit record; one changed byte in the text or a field is named; a label
// that cannot be checked is unknown.
func TestLabelExportAndVerify(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data)
	resp, body := s.chat(t, s.key, `{"messages":[{"role":"user","content":"你好"}],"user":"u1"}`)
	if resp.StatusCode != 200 || resp.Header.Get(label.HeaderName) == "" {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	s.stop(t)
	dir := t.TempDir()
	saved := filepath.Join(dir, "answer.json")
	if err := os.WriteFile(saved, body, 0o600); err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Choices []struct{ Message struct{ Content string } }
		AIGC    label.AIGC
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	text, id := answer.Choices[0].Message.Content, answer.AIGC.ProduceID
	if !strings.HasSuffix(text, label.Sep+label.DefaultZh) && !strings.HasSuffix(text, label.Sep+label.DefaultEn) {
		t.Fatalf("answer without the default explicit label: %q", text)
	}
	d := "--data=" + data

	if v, _, rec := verdict(t, saved, d); v != label.Genuine || rec != "matches" {
		t.Errorf("saved response: %s, record %s", v, rec)
	}
	header := resp.Header.Get(label.HeaderName)
	if v, _, rec := verdict(t, header, d); v != label.Genuine || rec != "matches" {
		t.Errorf("header label without the text, record at hand: %s, record %s", v, rec)
	}

	md, docx := filepath.Join(dir, "answer.md"), filepath.Join(dir, "answer.docx")
	if _, err := labelCLI(t, "export", id, "--text", text, "-o", md, d); err != nil {
		t.Fatal(err)
	}
	if _, err := labelCLI(t, "export", id, "--text", text, "--format", "docx", "-o", docx, d); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{md, docx} {
		if v, alt, rec := verdict(t, f, d); v != label.Genuine || rec != "matches" {
			t.Errorf("%s: %s %v, record %s", f, v, alt, rec)
		}
	}
	if _, err := labelCLI(t, "export", id, "--text", text+"!", d); err == nil || !strings.Contains(err.Error(), "SHA-256 differs") {
		t.Errorf("export of another text: %v", err)
	}
	fromResponse, err := labelCLI(t, "export", "--response", saved)
	if err != nil || !strings.Contains(fromResponse, "ProduceID: \""+id+"\"") {
		t.Errorf("export --response: %v\n%s", err, fromResponse)
	}

	// One changed byte, with the audit record at hand and without it.
	doc, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	first := []rune(text)[0]
	changes := map[string][]byte{
		"text":            bytes.Replace(doc, []byte(string(first)), []byte(string(first+1)), 1),
		"ContentProducer": bytes.Replace(doc, []byte(`ContentProducer: "firebreak"`), []byte(`ContentProducer: "firebreal"`), 1),
	}
	for want, changed := range changes {
		if bytes.Equal(changed, doc) {
			t.Fatalf("%s: nothing changed", want)
		}
		f := filepath.Join(dir, want+".md")
		if err := os.WriteFile(f, changed, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, extra := range []string{d, "--no-trail"} {
			args := []string{f, d}
			if extra == "--no-trail" {
				args = append(args, extra)
			}
			if v, alt, _ := verdict(t, args...); v != label.Altered || len(alt) != 1 || alt[0] != want {
				t.Errorf("%s changed (%s): %s %v", want, extra, v, alt)
			}
		}
	}

	// Elsewhere: the public key alone, no database.
	pub, err := labelCLI(t, "public-key", d)
	if err != nil || !strings.HasPrefix(pub, "ed25519:") {
		t.Fatalf("public-key: %q, %v", pub, err)
	}
	pubFile := filepath.Join(dir, "firebreak.pub")
	if err := os.WriteFile(pubFile, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, _, rec := verdict(t, docx, "--public-key", pubFile, "--data="+t.TempDir()); v != label.Genuine || rec != "" {
		t.Errorf("with the public key only: %s, record %q", v, rec)
	}

	// No signature to check and no record: unknown.
	unsigned := strings.Replace(header, answer.AIGC.ReservedCode1, "", 1)
	if v, _, _ := verdict(t, unsigned, "--text", text, "--no-trail", d); v != label.Unknown {
		t.Errorf("unsigned label without the trail: %s", v)
	}
	if v, _, _ := verdict(t, header, "--text", text, "--data="+t.TempDir()); v != label.Unknown {
		t.Errorf("label checked without its key or trail: %s", v)
	}
}
