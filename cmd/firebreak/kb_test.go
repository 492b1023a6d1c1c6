package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/kb"
)

// TestKBCommands adds, lists, searches and removes a knowledge base and
// grounds a route through a real server.
func TestKBCommands(t *testing.T) {
	s := startServer(t, "--data", t.TempDir())
	corpus := filepath.Join("..", "..", "kb", "testdata", "corpus")
	md, html := filepath.Join(corpus, "二甲双胍.md"), filepath.Join(corpus, "hypertension.html")
	out := s.mustCLI(t, "kb", "add", "med", md, html, "--route", "med-bot")
	if !strings.Contains(out, "Created knowledge base med for med-bot, all tenants.") || strings.Count(out, "Added ") != 2 {
		t.Fatalf("kb add:\n%s", out)
	}
	if out, err := s.cli(t, "kb", "add", "med", md); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("the same file again: %v\n%s", err, out)
	}
	if _, err := s.cli(t, "kb", "add", "med", md, "--tenant", "x"); err == nil || !strings.Contains(err.Error(), "only apply to a new one") {
		t.Fatalf("--tenant on an existing base: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "broken.pdf")
	if err := os.WriteFile(bad, []byte("not a pdf"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cli(t, "kb", "add", "med", bad); err == nil || !strings.Contains(err.Error(), "PDF") {
		t.Fatalf("a broken PDF: %v", err)
	}
	if rows := tableRows(s.mustCLI(t, "kb", "list", "med")); len(rows) != 2 {
		t.Fatalf("kb list med: %q", rows)
	}
	out = s.mustCLI(t, "kb", "search", "med", "二甲双胍每日最大剂量", "-k", "1")
	if !strings.HasPrefix(out, "[1] 二甲双胍.md") || !strings.Contains(out, "2000毫克") {
		t.Fatalf("kb search:\n%s", out)
	}
	var ps []kb.Passage
	s.cliJSON(t, &ps, "kb", "search", "med", "how much salt a day")
	if len(ps) == 0 || ps[0].Title != "hypertension.html" {
		t.Fatalf("kb search --json: %+v", ps)
	}
	out = s.mustCLI(t, "kb", "ground", "med-bot", "--action", "refuse", "--top-k", "3")
	if !strings.Contains(out, "Route med-bot is grounded: top 3 passages") {
		t.Fatalf("kb ground: %s", out)
	}
	if _, err := s.cli(t, "kb", "ground", "med-bot", "--action", "shout"); err == nil {
		t.Fatal("a bad action was taken")
	}
	out = s.mustCLI(t, "kb", "list")
	if !strings.Contains(out, "med ") || !strings.Contains(out, "refuse") {
		t.Fatalf("kb list:\n%s", out)
	}
	if _, err := s.cli(t, "kb", "remove", "med"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("remove without --yes: %v", err)
	}
	s.mustCLI(t, "kb", "unground", "med-bot")
	if out := s.mustCLI(t, "kb", "remove", "med", "--yes"); out != "Removed knowledge base med.\n" {
		t.Fatalf("kb remove: %q", out)
	}
	if _, err := s.cli(t, "kb", "search", "med", "x"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("search a removed base: %v", err)
	}
}
