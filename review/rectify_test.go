package review_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// The export holds exactly the confirmed cases with a corrected answer,
// in the OpenAI chat SFT and the TRL / LLaMA-Factory preference shapes,
// each with its audit record id; filters narrow it; it is recorded.
func TestRectifyExport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, review.Options{})
		ctx := context.Background()
		r := d.recorder(t, review.Sampling{})
		type want struct {
			code, verdict, corrected string
			route                    string
		}
		cases := []want{
			{"A1d", "violation", "I can't help with weapons.", "chat"},
			{"A5a", "violation", "Please ask a doctor.", "health"},
			{"A5a", "no_violation", "not used", "chat"},
			{"A1d", "violation", "", "chat"},
		}
		var confirmed []string
		for i, c := range cases {
			rec := d.exchange(t, r, "t1", "u"+string(rune('a'+i)), safety.Review, c.code, "prompt "+string(rune('a'+i)))
			items, _ := d.queue.List(ctx, review.Filter{State: review.StateOpen})
			var id string
			for _, it := range items {
				if it.RecordID == rec.ID {
					id = it.ID
				}
			}
			if _, err := db.ExecContext(ctx, `UPDATE review_items SET route = $1 WHERE id = $2`, c.route, id); err != nil {
				t.Fatal(err)
			}
			dec := review.Decision{Verdict: review.Verdict(c.verdict), Corrected: c.corrected}
			if c.verdict == "violation" {
				dec.Code = c.code
			}
			decide(t, d.queue, id, alice, dec)
			if c.verdict == "violation" && c.corrected != "" {
				confirmed = append(confirmed, rec.ID)
			}
			d.clock.Add(time.Hour)
		}
		d.exchange(t, r, "t1", "open", safety.Review, "A1d", "still open") // not decided: not exported

		var sft, pairs, index bytes.Buffer
		x, err := d.queue.Rectify(ctx, review.RectifyFilter{System: "You are a careful assistant."}, "alice",
			review.RectifyFiles{SFT: &sft, Pairs: &pairs, Index: &index})
		if err != nil {
			t.Fatal(err)
		}
		if x.Items != 2 || x.SFT != 2 || x.Pairs != 2 {
			t.Fatalf("export counts %+v, want 2 items, 2 SFT lines, 2 pairs", x)
		}
		var gotIDs []string
		for i, line := range jsonLines(t, sft.Bytes()) {
			msgs, ok := line["messages"].([]any)
			if !ok || len(line) != 1 || len(msgs) != 3 {
				t.Fatalf("SFT line %d: %v", i, line)
			}
			roles := []string{}
			for _, m := range msgs {
				mm := m.(map[string]any)
				roles = append(roles, mm["role"].(string))
				if s, _ := mm["content"].(string); s == "" {
					t.Fatalf("SFT line %d: empty content", i)
				}
			}
			if strings.Join(roles, ",") != "system,user,assistant" {
				t.Fatalf("SFT roles %v", roles)
			}
		}
		for _, line := range jsonLines(t, index.Bytes()) {
			gotIDs = append(gotIDs, line["audit_record_id"].(string))
		}
		if !slices.Equal(gotIDs, confirmed) {
			t.Fatalf("exported records %v, want the confirmed cases %v", gotIDs, confirmed)
		}
		for _, line := range jsonLines(t, pairs.Bytes()) {
			p, _ := line["prompt"].(string)
			c, _ := line["chosen"].(string)
			rj, _ := line["rejected"].(string)
			if p == "" || c == "" || rj == "" || c == rj || !strings.HasPrefix(rj, "answer to ") || line["audit_record_id"] == "" {
				t.Fatalf("preference line %v", line)
			}
		}
		for _, tc := range []struct {
			name string
			f    review.RectifyFilter
			want int
		}{
			{"code", review.RectifyFilter{Code: "A5a"}, 1},
			{"route", review.RectifyFilter{Route: "chat"}, 1},
			{"time", review.RectifyFilter{From: d.clock.Now().Add(-2 * time.Hour)}, 0},
		} {
			cs, err := d.queue.Cases(ctx, tc.f)
			if err != nil || len(cs) != tc.want {
				t.Errorf("%s: %v, %d cases, want %d", tc.name, err, len(cs), tc.want)
			}
		}
		xs, err := d.queue.Exports(ctx, 10)
		if err != nil || len(xs) != 1 || xs[0].Digest != x.Digest || xs[0].Actor != "alice" {
			t.Fatalf("recorded exports: %v %+v", err, xs)
		}
		es, _ := d.trail.Search(ctx, audit.Query{Route: audit.RouteStaff, Limit: 1000})
		found := false
		for _, e := range es {
			if a, ok := e.Action(); ok && a.Name == "review rectify export" && a.Target == x.ID {
				found = true
			}
		}
		if !found {
			t.Fatal("the export is not on the audit trail")
		}
		if t.Name() == "TestRectifyExport/sqlite" {
			checkWithPython(t, sft.Bytes(), pairs.Bytes())
		}
	})
}

// checkWithPython reads the files with Python as LLaMA-Factory does:
// dataset_info.json names each file and maps its columns (ranking: true
// for the preference file; sharegpt with role/content tags for SFT), and
// every mapped column must be a non-empty string or message list.
func checkWithPython(t *testing.T, sft, pairs []byte) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: the independent reader is skipped")
		return
	}
	dir := t.TempDir()
	info, err := review.DatasetInfo("sft.jsonl", "preference.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"sft.jsonl": sft, "preference.jsonl": pairs, "dataset_info.json": info} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := `
import json, sys, os
d = sys.argv[1]
info = json.load(open(os.path.join(d, "dataset_info.json")))
n = 0
for name, spec in info.items():
    rows = [json.loads(l) for l in open(os.path.join(d, spec["file_name"]), encoding="utf-8") if l.strip()]
    assert rows, name
    for r in rows:
        if spec.get("ranking"):
            for col in ("prompt", "chosen", "rejected"):
                v = r[spec["columns"][col]]
                assert isinstance(v, str) and v, (name, col)
        else:
            tags = spec["tags"]
            msgs = r[spec["columns"]["messages"]]
            assert msgs[-1][tags["role_tag"]] == tags["assistant_tag"], name
            for m in msgs:
                assert m[tags["role_tag"]] in (tags["user_tag"], tags["assistant_tag"], tags["system_tag"]), name
                assert isinstance(m[tags["content_tag"]], str) and m[tags["content_tag"]], name
        n += 1
print(n)
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "4" {
		t.Fatalf("python reader: %v: %s", err, out)
	}
}
