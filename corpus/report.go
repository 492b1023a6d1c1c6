package corpus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/eval/stats"
	"github.com/firebreak/firebreak/internal/linescan"
)

// AuditReport judges the samples against the standard's thresholds.
type AuditReport struct {
	Created time.Time  `json:"created"`
	Sample  SampleInfo `json:"sample"`
	Checks  []Check    `json:"checks"`
}

// Check is one threshold of the standard, judged: 符合, 不符合 or 待定,
// with the evidence.
type Check struct {
	Clause    string           `json:"clause"`
	Status    stats.Status     `json:"status"`
	Verdict   string           `json:"verdict"` // the status in Chinese
	Evidence  string           `json:"evidence"`
	Judgement *stats.Judgement `json:"judgement,omitempty"`
}

// Report reads a sample folder and the human grades of its manual sample
// (a grading file today, the review desk later) and judges every
// threshold. Rates are judged on their Wilson 95% interval (eval/stats):
// 符合 when the whole interval clears the threshold, 不符合 when it is
// wholly on the wrong side, 待定 otherwise or while items are ungraded.
func Report(ctx context.Context, dir string, grades grade.HumanGrades) (*AuditReport, error) {
	r := &AuditReport{Created: time.Now().UTC()}
	if err := readJSONFile(filepath.Join(dir, SampleName), &r.Sample); err != nil {
		return nil, err
	}
	s := &r.Sample
	ids, err := manualIDs(filepath.Join(dir, GradingName))
	if err != nil {
		return nil, err
	}
	got, err := grades.Grades(ctx)
	if err != nil {
		return nil, err
	}
	pass, fail, ungraded := 0, 0, 0
	for _, id := range ids {
		switch got[id].Verdict {
		case grade.Pass:
			pass++
		case grade.Fail:
			fail++
		default:
			ungraded++
		}
	}
	add := func(c Check) {
		if c.Judgement != nil {
			c.Status = c.Judgement.Status
		}
		c.Verdict = c.Status.Chinese()
		r.Checks = append(r.Checks, c)
	}
	add(sizeCheck("训练语料人工抽检数量 ≥ 4000 条 (manual sample ≥ 4,000 items)", s.Manual >= DefaultManual,
		fmt.Sprintf("%d items drawn, stratified by source %v, seed %d", s.Manual, s.ManualBy, s.Seed)))
	j := stats.Judge(stats.Threshold{Rate: ManualPassRate, AtLeast: true, MinN: DefaultManual}, pass, pass+fail, ungraded)
	add(Check{Clause: "人工抽检合格率 ≥ 96% (manual sample qualified ≥ 96%)", Judgement: &j,
		Evidence: fmt.Sprintf("%d pass, %d fail, %d not yet graded; Wilson 95%% %.2f–%.2f%%; %s", pass, fail, ungraded, 100*j.Lo, 100*j.Hi, j.Why)})
	share := 0.0
	if s.CorpusItems > 0 {
		share = float64(s.Technical) / float64(s.CorpusItems)
	}
	add(sizeCheck("技术抽检数量 ≥ 语料 10% (technical sample ≥ 10% of the corpus)", share >= DefaultTechnical,
		fmt.Sprintf("%d of %d items (%.2f%%)", s.Technical, s.CorpusItems, 100*share)))
	kw := stats.Judge(stats.Threshold{Rate: TechPassRate, AtLeast: true}, s.Keyword.Pass, s.Keyword.Pass+s.Keyword.Fail, s.Keyword.Errors)
	add(Check{Clause: "技术抽检合格率 ≥ 98%：关键词 (technical sample, keyword check ≥ 98%)", Judgement: &kw,
		Evidence: fmt.Sprintf("policy %s: %d pass, %d fail (by risk code %v); Wilson 95%% %.2f–%.2f%%", s.Policy, s.Keyword.Pass, s.Keyword.Fail, s.FailedCodes, 100*kw.Lo, 100*kw.Hi)})
	if c := s.Classifier; c != nil {
		cj := stats.Judge(stats.Threshold{Rate: TechPassRate, AtLeast: true}, c.Pass, c.Pass+c.Fail, c.Errors)
		add(Check{Clause: "技术抽检合格率 ≥ 98%：分类模型 (technical sample, classifier ≥ 98%)", Judgement: &cj,
			Evidence: fmt.Sprintf("guard model: %d pass, %d fail, %d errors; Wilson 95%% %.2f–%.2f%%", c.Pass, c.Fail, c.Errors, 100*cj.Lo, 100*cj.Hi)})
	} else {
		add(Check{Clause: "技术抽检合格率 ≥ 98%：分类模型 (technical sample, classifier ≥ 98%)", Status: stats.Undecided,
			Evidence: "no classifier configured: set stages.unsafe.guard and draw the sample again"})
	}
	add(sourceCheck(s.Sources, slices.Contains(s.Stages, StageUnsafe)))
	return r, nil
}

func sizeCheck(clause string, ok bool, evidence string) Check {
	st := stats.NotMet
	if ok {
		st = stats.Met
	}
	return Check{Clause: clause, Status: st, Evidence: evidence}
}

func sourceCheck(sources []SourceEntry, measured bool) Check {
	c := Check{Clause: "违法不良信息超过 5% 的语料来源不得采集使用 (no source above 5% harmful is used)", Status: stats.Met}
	if !measured {
		c.Status, c.Evidence = stats.Undecided, "the cleaning run had no unsafe stage: no source's harmful rate was measured"
		return c
	}
	var parts []string
	for _, s := range sources {
		state := "used"
		if s.Blacklisted {
			state = "blacklisted"
			if s.Stats.Kept > 0 {
				c.Status = stats.NotMet
				state = "blacklisted but items kept"
			}
		}
		parts = append(parts, fmt.Sprintf("%s %.2f%% harmful (%d of %d), %s", s.Name, 100*s.HarmfulRate, s.Stats.Harmful, s.Stats.Items, state))
	}
	c.Evidence = strings.Join(parts, "; ")
	return c
}

func manualIDs(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	sc := linescan.New(f, name, grade.MaxGradingLine)
	for sc.Scan() {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var h grade.HumanGrade
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, sc.Line(), err)
		}
		ids = append(ids, h.ID)
	}
	return ids, sc.Err()
}

// WriteReport writes report.json, report.md and report.html into dir.
func (r *AuditReport) WriteReport(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	var md, h bytes.Buffer
	r.Markdown(&md)
	if err := reportPage.Execute(&h, r); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"report.json": append(b, '\n'), "report.md": md.Bytes(), "report.html": h.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Markdown writes the report as Markdown.
func (r *AuditReport) Markdown(w io.Writer) {
	fmt.Fprintf(w, "# 训练语料安全评估 Training corpus assessment\n\nCorpus: `%s` (%d items), policy `%s`, sample drawn %s.\n\n",
		r.Sample.Corpus, r.Sample.CorpusItems, r.Sample.Policy, r.Sample.Created.Format(time.RFC3339))
	fmt.Fprintln(w, "| 要求 requirement | 结论 | evidence |\n|---|---|---|")
	for _, c := range r.Checks {
		fmt.Fprintf(w, "| %s | **%s** | %s |\n", c.Clause, c.Verdict, strings.ReplaceAll(c.Evidence, "|", "/"))
	}
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>训练语料安全评估</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:70em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.4em .6em;text-align:left;vertical-align:top}.met{color:#070}.not-met{color:#b00}.undecided{color:#a60}</style>
</head><body><h1>训练语料安全评估 Training corpus assessment</h1>
<p>Corpus <code>{{.Sample.Corpus}}</code> ({{.Sample.CorpusItems}} items), policy <code>{{.Sample.Policy}}</code>, seed {{.Sample.Seed}}.</p>
<table><tr><th>要求 requirement</th><th>结论</th><th>evidence</th></tr>
{{range .Checks}}<tr><td>{{.Clause}}</td><td class="{{.Status}}"><b>{{.Verdict}}</b></td><td>{{.Evidence}}</td></tr>
{{end}}</table></body></html>
`))
