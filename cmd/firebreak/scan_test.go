package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/firebreak/firebreak/internal/benchtext"
	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

// TestScanMergesStarterTerms scans with an operator's list that repeats
// terms of the starter lexicon (and one of its own lines): the scan runs,
// the operator's code and action win, and stderr names the merged terms.
func TestScanMergesStarterTerms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lex := filepath.Join(dir, "words.txt")
	os.WriteFile(lex, []byte("冰毒\tA1d\tblock\n冰毒合成\n自制词\tA2i\n自制词\tA2i\trefuse\n"), 0o600)
	in := filepath.Join(dir, "items.txt")
	os.WriteFile(in, []byte("哪里买冰毒\n自制词在这里\n"), 0o600)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"scan", "--lexicon", lex, in}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	res := scanLines(t, out.String())
	if len(res) != 2 {
		t.Fatalf("%d results:\n%s", len(res), out.String())
	}
	if res[0].Decision != "block" || !hasHit(res[0].Hits, "冰毒", "A1d") {
		t.Errorf("starter term with the operator's code and action: %+v", res[0])
	}
	if res[1].Decision != "refuse" || !hasHit(res[1].Hits, "自制词", "A2i") {
		t.Errorf("a term repeated in one list takes its last line: %+v", res[1])
	}
	msg := errOut.String()
	for _, want := range []string{"lexicon " + lex + ": 3 terms were already in the starter lexicon, " + lex,
		"冰毒: A1h review → A1d block", "冰毒合成: A1h refuse → A1h default action", "自制词: A2i default action → A2i refuse"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msg)
		}
	}
}

func hasHit(hits []safety.Hit, term, code string) bool {
	for _, h := range hits {
		if h.Rule == term && h.Code == code {
			return true
		}
	}
	return false
}

func scanLines(t *testing.T, out string) []scanResult {
	t.Helper()
	var res []scanResult
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r scanResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		res = append(res, r)
	}
	return res
}

// TestScanKeepsOrder scans more input than one batch holds, on several
// workers, with CRLF line ends, a line longer than a batch, an empty line
// and no newline at the end: one result per line, in order, with its line
// number and its own hits.
func TestScanKeepsOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lex := filepath.Join(dir, "words.txt")
	os.WriteFile(lex, []byte("违禁词\tA1h\n"), 0o600)
	var in strings.Builder
	const lines = 20_000
	for i := 1; i <= lines; i++ {
		switch {
		case i == 7:
			in.WriteString(strings.Repeat("长", scanBatchBytes) + "违禁词")
		case i == 8:
		case i%3 == 0:
			fmt.Fprintf(&in, "line %d 违禁词 here", i)
		default:
			fmt.Fprintf(&in, "line %d clean text of some length", i)
		}
		if i < lines {
			in.WriteString("\r\n")
		}
	}
	path := filepath.Join(dir, "in.txt")
	os.WriteFile(path, []byte(in.String()), 0o600)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"scan", "--no-starter", "--lexicon", lex, "--workers", "4", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	res := scanLines(t, out.String())
	if len(res) != lines {
		t.Fatalf("%d results for %d lines", len(res), lines)
	}
	for i, r := range res {
		n := i + 1
		wantHit := n%3 == 0 || n == 7
		if r.Line != n || r.File != path || (len(r.Hits) == 1) != wantHit || n == 8 && r.Decision != "allow" {
			t.Fatalf("result %d: %+v", n, r)
		}
	}
	if !strings.Contains(errOut.String(), fmt.Sprintf("scanned %d items", lines)) {
		t.Errorf("summary:\n%s", errOut.String())
	}
}

// TestScanResultEncoding holds appendResult equal to encoding/json.
func TestScanResultEncoding(t *testing.T) {
	t.Parallel()
	hits := []safety.Hit{{Detector: "lexicon", Rule: "违禁词", Term: "违禁词", Code: "A1h", Action: safety.Refuse, Start: 3, End: 12}}
	odd := []safety.Hit{
		{Detector: "lexicon", Rule: "a\u2028b\u2029", Term: "<b>&\x7f", Code: "A1h", Action: safety.Mask, Start: 0, End: 1},
		{Detector: "lexicon", Rule: "bad \xff utf-8 \xe2\x80", Code: "A2i", Action: safety.Review, Start: 10, End: 200},
		{Detector: "guard", Rule: "unsafe", Code: "A4a", Action: safety.Block, Start: 1, End: 2, Score: 0.875},
		{Detector: "pii", Rule: "phone", Term: "é\t\"q\\", Code: "A5b", Action: safety.Allow, Start: 1 << 40, End: 1<<40 + 1},
	}
	cases := []scanResult{
		{File: "in.txt", Line: 1, Decision: "allow"},
		{File: `we"ird\name<>&` + "\x01é", Line: 99, Decision: "refuse", Code: "A1h", Hits: hits},
		{File: "-", Line: 3, Decision: "error", Error: `field "text": not a "string" <&>`},
		{File: "文件.txt", Line: 4, Decision: "review", Code: "A2i", Hits: odd},
	}
	for _, c := range cases {
		want, _ := json.Marshal(scanResult{File: c.File, Line: c.Line, Decision: c.Decision, Code: c.Code,
			Hits: append([]safety.Hit{}, c.Hits...), Error: c.Error})
		quoted, _ := json.Marshal(c.File)
		got := appendResult(nil, string(quoted), c.Line, c.Decision, c.Code, c.Hits, c.Error)
		if string(got) != string(want)+"\n" {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// BenchmarkScan runs `firebreak scan` (output to a file) over the 8 MiB
// benchmark corpus of the lexicon's benchmarks, cut into lines, beside the
// same engine's lexicon (matcher) and Check over the same lines in
// process: on one core (GOMAXPROCS=1) and on every core. Two lexicons: the
// starter one (few hits), and the lexicon benchmark's 10,000 generated
// terms (lexicon=bench10k: a hit every 80 bytes, so the output is larger
// than the input).
//
//	go test -run '^$' -bench Scan -benchtime 3x ./cmd/firebreak
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	lines := corpusLines(benchtext.Corpus(8<<20, 1))
	in := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	terms := filepath.Join(dir, "terms.txt")
	if err := os.WriteFile(terms, []byte(strings.Join(benchtext.Terms(10_000, 2), "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	lexicons := []struct {
		name string
		src  policy.Sources
		args []string
	}{
		{"starter", policy.Sources{Starter: true}, []string{"scan", in}},
		{"bench10k", policy.Sources{Lexicons: []string{terms}}, []string{"scan", "--no-starter", "--lexicon", terms, in}},
	}
	for _, lx := range lexicons {
		b.Run("lexicon="+lx.name, func(b *testing.B) { benchScan(b, lx.src, lx.args, lines, size) })
	}
}

func benchScan(b *testing.B, src policy.Sources, args []string, lines []string, size int) {
	engine, err := scanEngine("", src)
	if err != nil {
		b.Fatal(err)
	}
	// scan compiles its engine before it reads: its own throughput line
	// excludes this, the benchmark's time includes it.
	b.Run("compile", func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		benchBytes(b, 0, func() {
			if _, err := scanEngine("", src); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("matcher/cores=1", func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		lx := engine.Lexicon()
		benchBytes(b, size, func() {
			for _, l := range lines {
				lx.Find(l)
			}
		})
	})
	b.Run("in-process/cores=1", func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		benchBytes(b, size, func() {
			for _, l := range lines {
				engine.Check(safety.Input, l)
			}
		})
	})
	for _, cores := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("scan/cores=%d", cores), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
			out := filepath.Join(b.TempDir(), "out.jsonl")
			benchBytes(b, size, func() {
				f, err := os.Create(out)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				if err := run(context.Background(), args, f, io.Discard); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func benchBytes(b *testing.B, size int, fn func()) {
	b.Helper()
	if size > 0 {
		b.SetBytes(int64(size))
	}
	cpu := cputime.Process()
	for b.Loop() {
		fn()
	}
	cputime.Report(b, cpu, size)
}

// corpusLines cuts text into lines of about 120 bytes or more, after a
// space or a Chinese punctuation mark.
func corpusLines(text string) []string {
	var lines []string
	start := 0
	for i, r := range text {
		if i-start >= 120 && (r == ' ' || strings.ContainsRune("，。！？；", r)) {
			end := i + utf8.RuneLen(r)
			lines = append(lines, text[start:end])
			start = end
		}
	}
	if start < len(text) {
		lines = append(lines, text[start:])
	}
	return lines
}
