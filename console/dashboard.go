package console

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/staff"
)

// ranges are the dashboard's time ranges and their bucket counts.
var ranges = map[string]struct {
	d       time.Duration
	buckets int
}{"1h": {time.Hour, 60}, "24h": {24 * time.Hour, 24}, "7d": {7 * 24 * time.Hour, 28}, "30d": {30 * 24 * time.Hour, 30}}

type dashboardView struct {
	Range   string
	Ranges  []string
	Summary *audit.Summary
	Chart   template.HTML
	Codes   template.HTML
	Health  []upstreamHealth
	NoTrail bool
}

type upstreamHealth struct {
	Name     string
	Healthy  bool
	Requests int64
	Errors   int64
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	rg := r.URL.Query().Get("range")
	if _, ok := ranges[rg]; !ok {
		rg = "24h"
	}
	v := dashboardView{Range: rg, Ranges: []string{"1h", "24h", "7d", "30d"}, NoTrail: c.opts.Trail == nil}
	if c.opts.Trail != nil {
		spec := ranges[rg]
		to := c.opts.Now().Truncate(spec.d / time.Duration(spec.buckets)).Add(spec.d / time.Duration(spec.buckets))
		s, err := c.opts.Trail.Summary(r.Context(), audit.SummaryQuery{From: to.Add(-spec.d), To: to,
			Buckets: spec.buckets, TenantIDs: p.Member.Tenants})
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		v.Summary = s
		l := localeFor(r, p)
		v.Chart = barChart(s.Buckets, spec.d, l)
		v.Codes = codeChart(s.Codes)
		v.Health = c.health(s)
	}
	c.render(w, r, p, "dashboard", "nav.dashboard", v)
}

// health joins the router's view of each upstream with its requests and
// errors in the range.
func (c *Console) health(s *audit.Summary) []upstreamHealth {
	at := map[string]int{}
	var out []upstreamHealth
	get := func(name string) *upstreamHealth {
		i, ok := at[name]
		if !ok {
			i = len(out)
			at[name] = i
			out = append(out, upstreamHealth{Name: name, Healthy: true})
		}
		return &out[i]
	}
	if c.opts.Catalog != nil {
		for _, h := range c.opts.Catalog.Router().Health() {
			u := get(h.Upstream)
			u.Healthy = u.Healthy && h.Healthy
		}
	}
	for _, t := range s.Upstreams {
		u := get(t.Upstream)
		u.Requests, u.Errors = t.Requests, t.Errors
	}
	return out
}

// barChart draws requests per bucket as stacked bars (allowed, refused,
// other) in SVG. Only numbers and escaped labels go into it.
func barChart(bs []audit.Bucket, span time.Duration, l *locale) template.HTML {
	const W, H, pad = 720, 200, 30
	var peak int64 = 1
	for _, b := range bs {
		peak = max(peak, b.Requests)
	}
	bw := float64(W-pad) / float64(max(len(bs), 1))
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, W, H+20, template.HTMLEscapeString(l.T("dash.chart")))
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, pad, H, W, H)
	fmt.Fprintf(&sb, `<text class="tick" x="0" y="12">%d</text><text class="tick" x="0" y="%d">0</text>`, peak, H)
	format := "15:04"
	if span > 48*time.Hour {
		format = "01-02"
	}
	for i, b := range bs {
		x := float64(pad) + float64(i)*bw
		hAll := float64(b.Requests) / float64(peak) * (H - 20)
		hBad := float64(b.Refused+b.Blocked) / float64(peak) * (H - 20)
		fmt.Fprintf(&sb, `<rect class="bar ok" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %d</title></rect>`,
			x+1, H-hAll, max(bw-2, 1), hAll, b.Start.UTC().Format("2006-01-02 15:04"), b.Requests)
		if hBad > 0 {
			fmt.Fprintf(&sb, `<rect class="bar refused" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+1, H-hBad, max(bw-2, 1), hBad)
		}
		if step := max(len(bs)/6, 1); i%step == 0 {
			fmt.Fprintf(&sb, `<text class="tick" x="%.1f" y="%d">%s</text>`, x, H+16, b.Start.UTC().Format(format))
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // #nosec: numbers and escaped text only
}

// codeChart draws the top risk codes as horizontal bars.
func codeChart(codes []audit.CodeTotal) template.HTML {
	if len(codes) > 10 {
		codes = codes[:10]
	}
	const W, row = 360, 22
	var peak int64 = 1
	for _, c := range codes {
		peak = max(peak, c.Count)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart codes" viewBox="0 0 %d %d">`, W, max(len(codes), 1)*row)
	for i, c := range codes {
		wd := float64(c.Count) / float64(peak) * (W - 120)
		fmt.Fprintf(&sb, `<text class="tick" x="0" y="%d">%s</text><rect class="bar refused" x="50" y="%d" width="%.1f" height="%d"/><text class="tick" x="%.1f" y="%d">%d</text>`,
			i*row+15, template.HTMLEscapeString(c.Code), i*row+4, wd, row-6, 55+wd, i*row+15, c.Count)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // #nosec: numbers and escaped text only
}
