package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
)

// TestCorpusCleanCLI runs `firebreak corpus clean` on the small corpus
// and checks every item's outcome.
func TestCorpusCleanCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	small, err := corpustest.WriteSmall(dir)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "out")
	if err := run(context.Background(), []string{"corpus", "clean", small.Dir, "--out", out, "--config", small.Config, "--quiet"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "forum") || !strings.Contains(stdout.String(), "BLACKLISTED") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	o, err := corpustest.ReadOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range small.Check(o) {
		t.Error(d)
	}
	if _, err := os.Stat(filepath.Join(out, ".work")); !os.IsNotExist(err) {
		t.Errorf("work folder left behind: %v", err)
	}
	err = run(context.Background(), []string{"corpus", "clean", small.Dir, "--out", out, "--config", filepath.Join(dir, "missing.yaml")}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing config: %v", err)
	}
}

// TestCorpusCleanResume kills the real binary in the middle of a run
// (SIGKILL: no chance to tidy up), runs the same command again, and
// checks that the second run resumed (it says so) and that its output is
// the same, item for item and record for record, as that of a run that
// was never interrupted.
func TestCorpusCleanResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "firebreak")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	in := filepath.Join(dir, "in")
	if _, err := corpustest.WriteMixed(in, corpustest.MixedOptions{Bytes: 12 << 20, Shards: 2, Sources: 2, Suffix: ".zst"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"corpus", "clean", in, "--out", out, "--workers", "2"}
	cmd := exec.Command(bin, args...)
	var firstErr bytes.Buffer
	cmd.Stderr = &firstErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Kill once the first shard has a checkpoint: some of its batches
	// written, the rest not.
	ckpt := filepath.Join(out, ".work", "a", "0.ckpt")
	killed := false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !killed; {
		select {
		case err := <-exited:
			t.Fatalf("the run finished before it could be interrupted (%v): make the corpus bigger\n%s", err, firstErr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if b, err := os.ReadFile(ckpt); err == nil && bytes.Contains(b, []byte(`"lines"`)) {
			cmd.Process.Kill()
			<-exited
			killed = true
		}
	}
	if !killed {
		t.Fatal("no checkpoint within two minutes")
	}
	if _, err := os.Stat(filepath.Join(out, corpus.ManifestName)); !os.IsNotExist(err) {
		t.Fatalf("manifest written before the kill: %v", err)
	}
	second, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, second)
	}
	if !strings.Contains(string(second), "resuming ") {
		t.Errorf("the second run did not resume:\n%s", second)
	}
	ref := filepath.Join(dir, "ref")
	if _, err := corpus.Run(context.Background(), corpus.RunOptions{Input: in, Output: ref, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	assertSameOutput(t, ref, out)
}

func assertSameOutput(t *testing.T, want, got string) {
	t.Helper()
	a, err := corpustest.ReadOutput(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := corpustest.ReadOutput(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range corpustest.Diff(a, b) {
		t.Error(d)
	}
}
