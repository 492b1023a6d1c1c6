//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
)

// TestCorpusCleanMemoryScale runs the real binary's corpus clean at one
// --sort-memory budget over generated corpora of growing size and
// reports, for each, the child's peak resident memory (the kernel's
// high-water mark, from its rusage) and its CPU MB/s per core. It runs
// when FIREBREAK_CORPUS_SCALE lists the sizes in MB, e.g.
// "128,256,512,1024"; FIREBREAK_CORPUS_SCALE_SORT_MB sets the budget
// (default 32, under the keys of the smallest size, so that every run
// spills), FIREBREAK_CORPUS_SCALE_DIR where the corpora are written
// (default a temporary folder). It fails when the peak of the largest
// corpus exceeds that of the smallest by more than a quarter plus 16 MiB:
// memory must not follow the corpus.
func TestCorpusCleanMemoryScale(t *testing.T) {
	spec := os.Getenv("FIREBREAK_CORPUS_SCALE")
	if spec == "" {
		t.Skip("set FIREBREAK_CORPUS_SCALE to corpus sizes in MB, e.g. 128,256,512,1024")
	}
	var sizes []int
	for f := range strings.SplitSeq(spec, ",") {
		mb, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || mb <= 0 {
			t.Fatalf("FIREBREAK_CORPUS_SCALE: %q is not a size in MB", f)
		}
		sizes = append(sizes, mb)
	}
	sortMB := 32
	if s := os.Getenv("FIREBREAK_CORPUS_SCALE_SORT_MB"); s != "" {
		var err error
		if sortMB, err = strconv.Atoi(s); err != nil || sortMB <= 0 {
			t.Fatalf("FIREBREAK_CORPUS_SCALE_SORT_MB: %q", s)
		}
	}
	dir := os.Getenv("FIREBREAK_CORPUS_SCALE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	bin, err := buildBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	var peaks []int64
	for _, mb := range sizes {
		m := cleanOnce(t, bin, dir, mb, sortMB)
		peaks = append(peaks, m.peakRSS)
		t.Logf("FIGURE corpus-scale size_mb=%d sort_memory_mb=%d items=%d read_mb=%.1f peak_rss_mib=%.0f cpu_s=%.1f cpu_mb_per_s=%.1f wall_s=%.1f",
			mb, sortMB, m.items, float64(m.bytes)/1e6, float64(m.peakRSS)/(1<<20), m.cpu, float64(m.bytes)/1e6/m.cpu, m.wall)
	}
	if first, last := peaks[0], peaks[len(peaks)-1]; last > first+first/4+16<<20 {
		t.Errorf("peak RSS grew with the corpus: %d MiB at %d MB, %d MiB at %d MB", first>>20, sizes[0], last>>20, sizes[len(sizes)-1])
	}
}

type cleanMeasure struct {
	items, bytes int64
	peakRSS      int64 // bytes
	cpu, wall    float64
}

// cleanOnce writes a corpus of mb MB (kept in dir for the next run) and
// cleans it with the binary, measuring the child process.
func cleanOnce(t *testing.T, bin, dir string, mb, sortMB int) cleanMeasure {
	t.Helper()
	in := filepath.Join(dir, fmt.Sprintf("in-%d", mb))
	if _, err := os.Stat(in); err != nil {
		if _, err := corpustest.WriteMixed(in, corpustest.MixedOptions{Bytes: int64(mb) << 20, Shards: max(mb/64, 2)}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, fmt.Sprintf("out-%d", mb))
	defer os.RemoveAll(out)
	cmd := exec.Command(bin, "corpus", "clean", in, "--out", out, "--quiet", "--restart", "--sort-memory", strconv.Itoa(sortMB))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("corpus clean %d MB: %v\n%s", mb, err, b)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage for the child")
	}
	var m corpus.Manifest
	b, err := os.ReadFile(filepath.Join(out, corpus.ManifestName))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	if m.Totals.Items == 0 || m.Totals.Kept == 0 {
		t.Fatalf("%d MB: %d items read, %d kept", mb, m.Totals.Items, m.Totals.Kept)
	}
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return cleanMeasure{items: int64(m.Totals.Items), bytes: m.Totals.Bytes, peakRSS: ru.Maxrss << 10, cpu: cpu, wall: m.Seconds}
}
