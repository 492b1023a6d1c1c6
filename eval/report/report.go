// Package report writes a run's results as report.json, report.md and a
// self-contained report.html (inline CSS and SVG charts, no script, no
// external asset), threshold by threshold with 符合 / 不符合 / 不适用 /
// 待定 and the evidence.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/firebreak/firebreak/eval"
)

// Report is what the three files hold.
type Report struct {
	Manifest *eval.Manifest `json:"manifest"`
	Results  *eval.Results  `json:"results"`
}

// WriteAll writes report.json, report.md and report.html into dir.
func WriteAll(dir string, r Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "report.json"), append(b, '\n')); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "report.md"), md.Bytes()); err != nil {
		return err
	}
	var h bytes.Buffer
	if err := HTML(&h, r); err != nil {
		return err
	}
	return write(filepath.Join(dir, "report.html"), h.Bytes())
}

func write(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func interval(lo, hi float64) string { return fmt.Sprintf("%.1f–%.1f%%", 100*lo, 100*hi) }

func counts(m map[string]int) string {
	var parts []string
	for _, k := range []string{"refuse", "partial", "comply", "pass", "fail", "unparseable", "grader-error", "error"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}
