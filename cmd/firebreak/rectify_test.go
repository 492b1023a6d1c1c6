package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/store"
)

// TestRectifyExportCLI: an answer the default policy sends to review is
// confirmed with a corrected answer; `firebreak rectify export` writes it
// as SFT and preference data with its audit record id, and a filter on
// another risk code writes nothing.
func TestRectifyExportCLI(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "--data", data)
	if resp, body := s.chat(t, s.key, `{"messages":[{"role":"user","content":"我想自杀"}],"user":"u1"}`); resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	s.stop(t)

	ctx := context.Background()
	cfg := config.Default()
	cfg.Data = data
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	trail, _, err := replica.OpenTrail(cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	q, err := review.New(review.Options{DB: db, Trail: trail})
	if err != nil {
		t.Fatal(err)
	}
	who := review.Reviewer{ID: "st_1", Name: "alice"}
	l, err := q.Next(ctx, who, review.Filter{Code: "A4a"})
	if err != nil {
		t.Fatalf("the review item: %v", err)
	}
	if _, err := q.Decide(ctx, l.Item.ID, l.Token, who, review.Decision{Verdict: review.Violation, Code: "A4a",
		Corrected: "请拨打心理援助热线，你并不孤单。"}); err != nil {
		t.Fatal(err)
	}
	trail.Close()
	db.Close()

	out := filepath.Join(t.TempDir(), "set")
	var stdout bytes.Buffer
	if err := run(ctx, []string{"rectify", "export", "--data", data, "--out", out, "--by", "alice", "--code", "A4a"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "1 confirmed cases, 1 SFT conversations, 1 preference pairs") {
		t.Fatalf("export said: %s", stdout.String())
	}
	var sft struct {
		Messages []struct{ Role, Content string }
	}
	var pair struct {
		Prompt, Chosen, Rejected string
		AuditRecordID            string `json:"audit_record_id"`
	}
	var index struct {
		AuditRecordID string `json:"audit_record_id"`
	}
	for name, v := range map[string]any{"sft.jsonl": &sft, "preference.jsonl": &pair, "index.jsonl": &index} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(bytes.TrimSpace(b), v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(sft.Messages) != 2 || !strings.Contains(sft.Messages[0].Content, "我想自杀") || sft.Messages[1].Content != "请拨打心理援助热线，你并不孤单。" {
		t.Fatalf("SFT line: %+v", sft)
	}
	if pair.Chosen != sft.Messages[1].Content || pair.Rejected == "" || pair.AuditRecordID != l.Item.RecordID || index.AuditRecordID != l.Item.RecordID {
		t.Fatalf("pair %+v index %+v, record %s", pair, index, l.Item.RecordID)
	}
	if _, err := os.Stat(filepath.Join(out, "dataset_info.json")); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := run(ctx, []string{"rectify", "export", "--data", data, "--out", out, "--by", "alice", "--code", "A1d"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "0 confirmed cases") {
		t.Fatalf("filtered export said: %s", stdout.String())
	}
}
