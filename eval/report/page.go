package report

// pageHTML is the report page. Numbers carry data- attributes so that
// tools (and the tests) can read them back.
const pageHTML = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Firebreak evaluation report · 评估报告</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.met{background:#e5f5e0}.notmet{background:#fee0d2}.undecided{background:#fff7bc}
.warn{background:#fee0d2;padding:.5em 1em;border-left:4px solid #cb181d}
code{font-size:12px;word-break:break-all}
</style></head><body>
<h1>Evaluation report · 评估报告</h1>
{{with .Manifest}}<p>Target <code>{{.Target.base_url}}</code>, model <code>{{.Target.model}}</code>.
{{.Tool}} {{.Version}}. Started {{.Started.UTC.Format "2006-01-02 15:04:05Z"}}{{if not .Finished.IsZero}}, finished {{.Finished.UTC.Format "2006-01-02 15:04:05Z"}}{{end}}.
Plan <code>{{short .Plan.Hash}}</code>, seed {{.Plan.Seed}}.</p>{{end}}
{{with .Results.Totals}}
{{if not .Complete}}<p class="warn" data-incomplete="1">Incomplete run: {{.Recorded}} of {{.Planned}} items recorded. Run the same command again to resume.</p>{{end}}
<table id="totals"><tr><th>planned</th><th>recorded</th><th>answered</th><th>errors</th><th>gateway refused (input)</th><th>gateway refused (output)</th><th>from cache</th><th>human grades</th></tr>
<tr><td data-total="planned">{{.Planned}}</td><td data-total="recorded">{{.Recorded}}</td><td data-total="answered">{{.Answered}}</td><td data-total="errors">{{.Errors}}</td><td data-total="gateway-input">{{.GatewayInput}}</td><td data-total="gateway-output">{{.GatewayOutput}}</td><td data-total="cached">{{.Cached}}</td><td data-total="human">{{.HumanGraded}}</td></tr></table>
{{with .GatewayPolicies}}<p>Gateway policy versions in its reports: {{range $i, $p := .}}{{if $i}}, {{end}}<code>{{$p}}</code>{{end}}</p>{{end}}
{{end}}
<h2>Thresholds of GB/T 45654-2025 · 标准阈值</h2>
<table id="thresholds"><tr><th>threshold</th><th>verdict</th><th>evidence</th></tr>
{{range .Results.Thresholds}}<tr class="{{statusClass .Verdict}}" data-threshold="{{.Bank}}" data-grader="{{.Grader}}" data-status="{{.Status}}" data-k="{{.Judgement.K}}" data-n="{{.Judgement.N}}" data-unknown="{{.Judgement.Errors}}">
<td>{{.Name}}<br><small>{{.Clause}}</small></td><td><strong>{{.Verdict}}</strong></td><td>{{.Evidence}}{{if .Judgement.N}}<br>{{thresholdChart .}}{{end}}</td></tr>
{{end}}</table>
<h2>Banks · 题库</h2>
{{range .Results.Banks}}<h3>{{.Bank}}</h3>
<p data-bank="{{.Bank}}" data-items="{{.Items}}" data-answered="{{.Answered}}" data-errors="{{.Errors}}" data-gateway-input="{{.GatewayInput}}" data-gateway-output="{{.GatewayOutput}}" data-model-refused="{{.ModelRefused}}">
{{.Items}} items, {{.Answered}} answered, {{.Errors}} errors; refused by the gateway itself: {{.GatewayInput}} at input, {{.GatewayOutput}} at output ({{pct .Gateway.Rate}} of answered items, 95% CI {{interval .Gateway.Lo .Gateway.Hi}}); refused by the model: {{.ModelRefused}}.</p>
<table><tr><th>grader</th><th>rate</th><th>95% CI</th><th>k / n</th><th>without verdict</th><th>verdicts</th><th>corrected for grader error</th></tr>
{{$bank := .Bank}}{{range .Graders}}<tr data-grader-row="{{$bank}}/{{.Grader}}" data-k="{{.K}}" data-n="{{.N}}" data-unknown="{{.Unknown}}">
<td>{{.Grader}}</td><td>{{pct .Rate}} {{.Measure}}</td><td>{{interval .Lo .Hi}}{{if .RuleOfThree}} (rule of three {{pct .RuleOfThree}}){{end}}</td><td>{{.K}} / {{.N}}</td><td>{{.Unknown}}</td><td>{{counts .Counts}}</td>
<td>{{with .Corrected}}{{if .Estimable}}{{pct .Rate}} ({{interval .Lo .Hi}}){{else}}not estimable{{end}}{{end}}</td></tr>
{{end}}</table>
{{if .ByRisk}}<p>By risk code ({{.Primary}} grader):</p>{{riskChart .}}
<table><tr><th>risk</th><th>rate</th><th>95% CI</th><th>k / n</th><th>without verdict</th></tr>
{{range .ByRisk}}<tr data-risk="{{$bank}}/{{.Risk}}" data-k="{{.K}}" data-n="{{.N}}"><td>{{.Risk}}</td><td>{{pct .Rate}}</td><td>{{interval .Lo .Hi}}</td><td>{{.K}} / {{.N}}</td><td>{{.Unknown}}</td></tr>
{{end}}</table>{{end}}
{{end}}
{{with .Results.Calibration}}<h2>Grader calibration · 评分器校准</h2>
<table><tr><th>bank</th><th>grader</th><th>items graded by both</th><th>agreement</th><th>Cohen's κ</th><th>sensitivity</th><th>specificity</th></tr>
{{range .}}<tr data-calibration="{{.Bank}}/{{.Grader}}"><td>{{.Bank}}</td><td>{{.Grader}}</td><td>{{.Items}}</td><td>{{pct .Agreement}}</td><td>{{kappa .Kappa}}</td><td>{{.SensK}} / {{.SensN}}</td><td>{{.SpecK}} / {{.SpecN}}</td></tr>
{{end}}</table>{{end}}
{{with .Results.Probes}}<h2>Robustness · 越狱鲁棒性</h2>
<p>Attack success rate: the share of mutated should-refuse items that were not refused ("none": the items as written).</p>
{{probeChart .}}
<table><tr><th>mutation</th><th>ASR</th><th>95% CI</th><th>k / n</th><th>without verdict</th><th>refused by the gateway</th></tr>
{{range .}}<tr data-probe="{{.Mutation}}" data-k="{{.K}}" data-n="{{.N}}"><td>{{.Mutation}}</td><td>{{pct .Rate}}</td><td>{{interval .Lo .Hi}}</td><td>{{.K}} / {{.N}}</td><td>{{.Unknown}}</td><td>{{.Gateway}}</td></tr>
{{end}}</table>{{end}}
{{with .Results.Errors}}<h2>Errors · 错误</h2>
<table><tr><th>error</th><th>items</th></tr>{{range .}}<tr data-error-items="{{.Items}}"><td><code>{{.Error}}</code></td><td>{{.Items}}</td></tr>{{end}}</table>{{end}}
<h2>Manifest · 清单</h2>
<table><tr><th>bank file</th><th>sha256</th><th>items</th></tr>
{{range .Manifest.Plan.Banks}}<tr><td>{{.Path}}</td><td><code>{{.SHA256}}</code></td><td>{{.Items}}</td></tr>{{end}}</table>
{{with .Manifest.Graders}}<table><tr><th>grader</th><th>pinned</th></tr>{{range $k, $v := .}}<tr><td>{{$k}}</td><td><code>{{$v}}</code></td></tr>{{end}}</table>{{end}}
</body></html>
`
