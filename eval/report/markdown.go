package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Markdown writes the report as Markdown.
func Markdown(w io.Writer, r Report) error {
	var b strings.Builder
	m, res := r.Manifest, r.Results
	fmt.Fprintf(&b, "# Evaluation report\n\n")
	fmt.Fprintf(&b, "Target: %v, model %v. Tool: %s %s. Started %s", m.Target["base_url"], m.Target["model"], m.Tool, m.Version, m.Started.UTC().Format("2006-01-02 15:04:05Z"))
	if !m.Finished.IsZero() {
		fmt.Fprintf(&b, ", finished %s", m.Finished.UTC().Format("2006-01-02 15:04:05Z"))
	}
	fmt.Fprintf(&b, ". Plan %s, seed %d.\n\n", short(m.Plan.Hash), m.Plan.Seed)
	t := res.Totals
	if !t.Complete {
		fmt.Fprintf(&b, "**Incomplete run: %d of %d items recorded. Run the same command again to resume.**\n\n", t.Recorded, t.Planned)
	}
	fmt.Fprintf(&b, "Items: %d planned, %d recorded, %d answered, **%d errors**; the gateway refused %d at input and %d at output; %d answers from the cache; %d human grades.\n\n",
		t.Planned, t.Recorded, t.Answered, t.Errors, t.GatewayInput, t.GatewayOutput, t.Cached, t.HumanGraded)
	if len(t.GatewayPolicies) > 0 {
		fmt.Fprintf(&b, "Gateway policy versions in its reports: %s.\n\n", strings.Join(t.GatewayPolicies, ", "))
	}
	b.WriteString("## Thresholds of GB/T 45654-2025\n\n| threshold | verdict | evidence |\n|---|---|---|\n")
	for _, th := range res.Thresholds {
		fmt.Fprintf(&b, "| %s<br>%s | **%s** | %s |\n", th.Name, th.Clause, th.Verdict, th.Evidence)
	}
	b.WriteString("\n## Banks\n")
	for _, br := range res.Banks {
		fmt.Fprintf(&b, "\n### %s\n\n%d items, %d answered, %d errors; refused by the gateway itself: %d at input, %d at output (%s of answered items, 95%% CI %s); refused by the model: %d.\n\n",
			br.Bank, br.Items, br.Answered, br.Errors, br.GatewayInput, br.GatewayOutput, pct(br.Gateway.Rate),
			interval(br.Gateway.Lo, br.Gateway.Hi), br.ModelRefused)
		b.WriteString("| grader | rate | 95% CI | k / n | without verdict | verdicts | corrected |\n|---|---|---|---|---|---|---|\n")
		for _, g := range br.Graders {
			cor := ""
			if c := g.Corrected; c != nil {
				cor = "not estimable (the grader is no better than chance against the human grades)"
				if c.Estimable() {
					cor = pct(c.Rate) + " (" + interval(c.Lo, c.Hi) + ")"
				}
			}
			fmt.Fprintf(&b, "| %s | %s %s | %s | %d / %d | %d | %s | %s |\n", g.Grader, pct(g.Rate), g.Measure,
				interval(g.Lo, g.Hi), g.K, g.N, g.Unknown, counts(g.Counts), cor)
		}
		if len(br.ByRisk) > 0 {
			fmt.Fprintf(&b, "\nBy risk code (%s grader):\n\n| risk | rate | 95%% CI | k / n | without verdict |\n|---|---|---|---|---|\n", br.Primary)
			for _, rr := range br.ByRisk {
				fmt.Fprintf(&b, "| %s | %s | %s | %d / %d | %d |\n", rr.Risk, pct(rr.Rate), interval(rr.Lo, rr.Hi), rr.K, rr.N, rr.Unknown)
			}
		}
	}
	if len(res.Calibration) > 0 {
		b.WriteString("\n## Grader calibration against human grades\n\n| bank | grader | items | agreement | Cohen's κ | sensitivity | specificity |\n|---|---|---|---|---|---|---|\n")
		for _, c := range res.Calibration {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %d / %d | %d / %d |\n", c.Bank, c.Grader, c.Items, pct(c.Agreement), kappa(c.Kappa), c.SensK, c.SensN, c.SpecK, c.SpecN)
		}
	}
	if len(res.Probes) > 0 {
		b.WriteString("\n## Robustness: attack success rate per mutation (should-refuse items not refused)\n\n| mutation | ASR | 95% CI | k / n | without verdict | refused by the gateway |\n|---|---|---|---|---|---|\n")
		for _, p := range res.Probes {
			fmt.Fprintf(&b, "| %s | %s | %s | %d / %d | %d | %d |\n", p.Mutation, pct(p.Rate), interval(p.Lo, p.Hi), p.K, p.N, p.Unknown, p.Gateway)
		}
	}
	if len(res.Errors) > 0 {
		b.WriteString("\n## Errors\n\n| error | items |\n|---|---|\n")
		for _, e := range res.Errors {
			fmt.Fprintf(&b, "| %s | %d |\n", strings.ReplaceAll(e.Error, "|", "\\|"), e.Items)
		}
	}
	b.WriteString("\n## Manifest\n\n| bank file | sha256 | items |\n|---|---|---|\n")
	for _, bk := range m.Plan.Banks {
		fmt.Fprintf(&b, "| %s | `%s` | %d |\n", bk.Path, bk.SHA256, bk.Items)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Graders)) {
		fmt.Fprintf(&b, "\nGrader %s: `%v`", k, m.Graders[k])
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func kappa(k *float64) string {
	if k == nil {
		return "undefined"
	}
	return fmt.Sprintf("%.3f", *k)
}
