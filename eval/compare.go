package eval

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/eval/stats"
)

// Comparison is two runs compared item by item.
type Comparison struct {
	A     string           `json:"a"`
	B     string           `json:"b"`
	Banks []BankComparison `json:"banks"`
}

// BankComparison compares one bank's primary rate on the items both runs
// graded, with an exact McNemar test.
type BankComparison struct {
	Bank    string `json:"bank"`
	Grader  string `json:"grader"`
	Measure string `json:"measure"`
	Paired  int    `json:"paired"`
	KA      int    `json:"k_a"`
	KB      int    `json:"k_b"`
	// OnlyA counts items that are a hit in A and a miss in B; OnlyB the
	// reverse. McNemar's test uses only these.
	OnlyA  int              `json:"only_a"`
	OnlyB  int              `json:"only_b"`
	P      float64          `json:"p"`
	ByRisk []RiskComparison `json:"by_risk"`
}

// RiskComparison is the McNemar test of one risk code, with the p-value
// Holm-adjusted across the bank's risk codes.
type RiskComparison struct {
	Risk   string  `json:"risk"`
	Paired int     `json:"paired"`
	OnlyA  int     `json:"only_a"`
	OnlyB  int     `json:"only_b"`
	P      float64 `json:"p"`
	PHolm  float64 `json:"p_holm"`
}

// Compare pairs the items of the runs in dirA and dirB (probes apart) and
// tests, per bank, whether the primary rate differs.
func Compare(dirA, dirB string) (*Comparison, error) {
	ra, err := ReadRecords(dirA)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dirA, err)
	}
	rb, err := ReadRecords(dirB)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dirB, err)
	}
	resA := summarise(ra, nil, 0)
	byID := map[string]*Record{}
	for _, r := range rb {
		byID[r.ID] = r
	}
	cmp := &Comparison{A: dirA, B: dirB}
	for _, br := range resA.Banks {
		if br.Primary == "" {
			continue
		}
		bc := BankComparison{Bank: br.Bank, Grader: br.Primary, Measure: measureOf(br.Primary, nil)}
		type pair struct{ a, b bool }
		risks := map[string][]pair{}
		for _, r := range ra {
			if r.Bank != br.Bank || r.Mutation != "" {
				continue
			}
			o, ok := byID[r.ID]
			if !ok {
				continue
			}
			ga, oka := r.Grades[br.Primary]
			gb, okb := o.Grades[br.Primary]
			if !oka || !okb {
				continue
			}
			ha, ka := success(br.Bank, br.Primary, ga.Verdict)
			hb, kb := success(br.Bank, br.Primary, gb.Verdict)
			if !ka || !kb {
				continue
			}
			risk := r.Risk
			if risk == "" {
				risk = r.Aspect
			}
			if risk == "" {
				risk = "-"
			}
			risks[risk] = append(risks[risk], pair{ha, hb})
		}
		var ps []float64
		for _, risk := range slices.Sorted(maps.Keys(risks)) {
			rc := RiskComparison{Risk: risk}
			for _, p := range risks[risk] {
				rc.Paired++
				bc.Paired++
				if p.a {
					bc.KA++
				}
				if p.b {
					bc.KB++
				}
				switch {
				case p.a && !p.b:
					rc.OnlyA++
				case !p.a && p.b:
					rc.OnlyB++
				}
			}
			bc.OnlyA += rc.OnlyA
			bc.OnlyB += rc.OnlyB
			rc.P = stats.McNemarExact(rc.OnlyA, rc.OnlyB)
			ps = append(ps, rc.P)
			bc.ByRisk = append(bc.ByRisk, rc)
		}
		for i, p := range stats.Holm(ps) {
			bc.ByRisk[i].PHolm = p
		}
		bc.P = stats.McNemarExact(bc.OnlyA, bc.OnlyB)
		cmp.Banks = append(cmp.Banks, bc)
	}
	return cmp, nil
}

// WriteText writes the comparison for people.
func (c *Comparison) WriteText(w io.Writer) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "A: %s\nB: %s\n", c.A, c.B)
	for _, b := range c.Banks {
		rate := func(k int) float64 {
			if b.Paired == 0 {
				return 0
			}
			return 100 * float64(k) / float64(b.Paired)
		}
		fmt.Fprintf(&sb, "\n%s (%s, %s): %d paired items; A %.1f%%, B %.1f%%; only A %d, only B %d; exact McNemar p = %.4g\n",
			b.Bank, b.Grader, b.Measure, b.Paired, rate(b.KA), rate(b.KB), b.OnlyA, b.OnlyB, b.P)
		for _, r := range b.ByRisk {
			if r.OnlyA+r.OnlyB == 0 {
				continue
			}
			fmt.Fprintf(&sb, "  %-10s %4d paired  only A %3d  only B %3d  p %.4g  Holm %.4g\n", r.Risk, r.Paired, r.OnlyA, r.OnlyB, r.P, r.PHolm)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
