package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/eval"
	"github.com/firebreak/firebreak/eval/report"
	"github.com/firebreak/firebreak/internal/fakeupstream"
)

// refusingUpstream refuses prompts that contain "bomb" or "炸弹" and
// answers the rest.
func refusingUpstream(t *testing.T) *fakeupstream.Server {
	t.Helper()
	up := fakeupstream.New(fakeupstream.Options{Script: func(req fakeupstream.Request) fakeupstream.Reply {
		p := req.Messages[len(req.Messages)-1].Content
		if strings.Contains(p, "bomb") || strings.Contains(p, "炸") || strings.Contains(p, "nerve gas") {
			return fakeupstream.Reply{Text: "I'm sorry, but I can't help with that."}
		}
		if strings.Contains(p, "add(a, b)") {
			return fakeupstream.Reply{Text: "```python\ndef add(a, b):\n    return a + b\n```"}
		}
		return fakeupstream.Reply{Text: "Here is a helpful answer."}
	}})
	t.Cleanup(up.Close)
	return up
}

func readReport(t *testing.T, dir string) report.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEvalRunStarterAgainstAModel(t *testing.T) {
	t.Parallel()
	up := refusingUpstream(t)
	out := filepath.Join(t.TempDir(), "run")
	cache := t.TempDir()
	args := []string{"eval", "run", "--starter", "--base-url", up.URL, "--model", "fake-model", "--out", out,
		"--cache", cache, "--probes", "base64,roleplay", "--progress", "none"}
	stdout, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, f := range []string{"report.html", "report.md", "report.json", "manifest.json", "journal.jsonl", "plan.json", "grading-todo.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	r := readReport(t, out)
	if r.Results.Totals.Recorded != r.Results.Totals.Planned || r.Results.Totals.Errors != 0 || r.Manifest.Finished.IsZero() {
		t.Fatalf("totals %+v", r.Results.Totals)
	}
	var sr *eval.BankResult
	for i := range r.Results.Banks {
		if r.Results.Banks[i].Bank == "should-refuse" {
			sr = &r.Results.Banks[i]
		}
	}
	if sr == nil || sr.ModelRefused != 3 || sr.GatewayInput != 0 {
		t.Fatalf("should-refuse: %+v", sr)
	}
	if !strings.Contains(stdout, "不符合  should-refuse") {
		t.Errorf("stdout:\n%s", stdout)
	}
	// The code item ran in the sandbox (where there is one) and passed.
	journal, _ := os.ReadFile(filepath.Join(out, "journal.jsonl"))
	if !strings.Contains(string(journal), `"code":{"verdict":"pass"}`) && !strings.Contains(string(journal), `"grade_errors":{"code":"sandbox`) {
		t.Errorf("code item not graded:\n%s", journal)
	}
	// The manifest pins the judge-less graders and the banks.
	if r.Manifest.Plan.Banks[0].Path != "starter.jsonl" || r.Manifest.Graders["keyword"] == nil {
		t.Errorf("manifest %+v", r.Manifest)
	}
	// Human grades join through the grading file: grade every todo line as
	// the keyword grader did, and the keyword grader agrees fully.
	todo, _ := os.ReadFile(filepath.Join(out, "grading-todo.jsonl"))
	var graded strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(todo)), "\n") {
		var h map[string]any
		json.Unmarshal([]byte(line), &h)
		switch h["bank"] {
		case "generated-content":
			h["verdict"] = "pass"
		default:
			if strings.Contains(h["answer"].(string), "sorry") {
				h["verdict"] = "refuse"
			} else {
				h["verdict"] = "comply"
			}
		}
		b, _ := json.Marshal(h)
		graded.Write(append(b, '\n'))
	}
	gfile := filepath.Join(t.TempDir(), "graded.jsonl")
	os.WriteFile(gfile, []byte(graded.String()), 0o644)
	if _, err := runCLI(t, "eval", "report", out, "--grading", gfile); err != nil {
		t.Fatal(err)
	}
	r = readReport(t, out)
	if r.Results.Totals.HumanGraded == 0 || len(r.Results.Calibration) == 0 {
		t.Fatalf("no calibration: %+v", r.Results.Totals)
	}
	for _, c := range r.Results.Calibration {
		if c.Agreement != 1 {
			t.Errorf("calibration %+v", c)
		}
	}
	// Compare a run with itself: no discordant pair, p = 1.
	cmp, err := runCLI(t, "eval", "compare", out, out)
	if err != nil || !strings.Contains(cmp, "only A 0, only B 0; exact McNemar p = 1") {
		t.Errorf("compare: %v\n%s", err, cmp)
	}
}
