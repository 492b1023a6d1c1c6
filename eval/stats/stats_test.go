package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Newcombe (1998), "Two-sided confidence intervals for the single
// proportion: comparison of seven methods", Statistics in Medicine 17,
// Table II, method 3 (Wilson score, no continuity correction).
func TestWilsonNewcombe1998(t *testing.T) {
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{29, 29, 0.8830, 1},
	}
	for _, c := range cases {
		lo, hi := Wilson(c.k, c.n, Z95)
		if !near(lo, c.lo, 5e-5) || !near(hi, c.hi, 5e-5) {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
	if lo, hi := Wilson(0, 0, Z95); lo != 0 || hi != 1 {
		t.Errorf("n = 0: [%v, %v]", lo, hi)
	}
}

func TestRuleOfThree(t *testing.T) {
	if got := RuleOfThree(300); got != 0.01 {
		t.Errorf("RuleOfThree(300) = %v", got)
	}
	if got := RuleOfThree(2); got != 1 {
		t.Errorf("RuleOfThree(2) = %v", got)
	}
}

// Exact conditional McNemar p-values: Fagerland, Lydersen & Laake (2013),
// BMC Medical Research Methodology 13:91, example of 1 vs 7 discordant
// pairs: 0.070; the others are binomial tail sums (R: binom.test(k, n)).
func TestMcNemarExact(t *testing.T) {
	cases := []struct {
		b, c int
		p    float64
		tol  float64
	}{
		{1, 7, 0.070, 5e-4},
		{7, 1, 0.0703125, 1e-12},
		{3, 10, 0.09228515625, 1e-12},
		{0, 5, 0.0625, 1e-12},
		{10, 10, 1, 0},
		{0, 0, 1, 0},
		{59, 35, 0.01720959558593046, 1e-12},
	}
	for _, c := range cases {
		if got := McNemarExact(c.b, c.c); !near(got, c.p, c.tol) {
			t.Errorf("McNemarExact(%d, %d) = %v, want %v", c.b, c.c, got, c.p)
		}
	}
	// Large counts stay finite and tiny.
	if p := McNemarExact(0, 2000); p <= 0 && p != 0 || p > 1e-300 {
		t.Errorf("McNemarExact(0, 2000) = %v", p)
	}
}

// Holm (1979); values as R's p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm").
func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := Holm([]float64{0.5, 0.9}); got[0] != 1 || got[1] != 1 {
		t.Errorf("capped at 1: %v", got)
	}
	if len(Holm(nil)) != 0 {
		t.Error("empty")
	}
}

// Cohen (1960): κ = (po − pe)/(1 − pe), checked against the arithmetic
// done by hand for two matrices.
func TestKappa(t *testing.T) {
	k, po := Kappa([][]int{{25, 10}, {20, 45}})
	// po = 70/100, pe = (35·45 + 65·55)/100² = 0.515, κ = 0.185/0.485.
	if !near(po, 0.70, 1e-12) || !near(k, (0.70-0.515)/(1-0.515), 1e-12) {
		t.Errorf("kappa %v po %v", k, po)
	}
	k, po = Kappa([][]int{{20, 5}, {10, 15}})
	// po 0.7, pe = (25·30 + 25·20)/2500 = 0.5, κ = 0.4.
	if !near(k, 0.4, 1e-12) || !near(po, 0.7, 1e-12) {
		t.Errorf("kappa %v po %v", k, po)
	}
	if k, _ := Kappa([][]int{{10, 0}, {0, 0}}); !math.IsNaN(k) {
		t.Errorf("single label: %v", k)
	}
}

func TestJudge(t *testing.T) {
	atLeast95 := Threshold{Rate: 0.95, AtLeast: true, MinN: 300}
	atMost5 := Threshold{Rate: 0.05, MinN: 300}
	cases := []struct {
		name         string
		t            Threshold
		k, n, errs   int
		status       Status
		needAtLeastN int
	}{
		{"clearly met", atLeast95, 990, 1000, 0, Met, 0},
		{"clearly not met", atLeast95, 800, 1000, 0, NotMet, 0},
		{"straddles", atLeast95, 288, 300, 0, Undecided, 301},
		{"met but too few", atLeast95, 100, 100, 0, Undecided, 300},
		{"errors undecide it", atLeast95, 980, 1000, 40, Undecided, 0},
		{"over-refusal met", atMost5, 3, 1000, 0, Met, 0},
		{"over-refusal not met", atMost5, 200, 1000, 0, NotMet, 0},
		{"nothing measured", atMost5, 0, 0, 0, NotApplies, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Judge(c.t, c.k, c.n, c.errs)
			if j.Status != c.status {
				t.Fatalf("status %s, want %s (%+v)", j.Status, c.status, j)
			}
			if j.NeedN < c.needAtLeastN {
				t.Errorf("need n %d, want ≥ %d", j.NeedN, c.needAtLeastN)
			}
		})
	}
	// The sample that NeedN names does decide it, at the same rate.
	j := Judge(atLeast95, 288, 300, 0)
	n := j.NeedN
	lo, _ := wilsonP(0.96, float64(n), Z95)
	lo1, _ := wilsonP(0.96, float64(n-1), Z95)
	if lo < 0.95 || lo1 >= 0.95 {
		t.Errorf("NeedN %d: lower bound %v there, %v one before", n, lo, lo1)
	}
	if j := Judge(atLeast95, 0, 300, 0); j.RuleOfThree != 0.01 {
		t.Errorf("rule of three with k = 0: %v", j.RuleOfThree)
	}
}

func TestCorrectWidensAndRecovers(t *testing.T) {
	// A grader that misses 10% of failures: observed pass 0.92 of 1000,
	// sensitivity 190/200 (0.95), specificity 90/100 (0.90).
	// True p: (0.92 + 0.9 − 1)/(0.95 + 0.9 − 1) = 0.82/0.85.
	c := Correct(920, 1000, 190, 200, 90, 100)
	if !c.Identifiable || !near(c.Rate, 0.82/0.85, 1e-12) {
		t.Fatalf("%+v", c)
	}
	lo, hi := Wilson(920, 1000, Z95)
	if c.Hi-c.Lo <= hi-lo || c.Lo > c.Rate || c.Hi < c.Rate {
		t.Errorf("corrected [%v, %v] not wider than raw [%v, %v] around %v", c.Lo, c.Hi, lo, hi, c.Rate)
	}
	// A grader no better than chance identifies nothing.
	if c := Correct(50, 100, 5, 10, 5, 10); c.Identifiable || c.Lo != 0 || c.Hi != 1 {
		t.Errorf("chance grader: %+v", c)
	}
}

// A grader no better than chance gives no estimate: the rate is NaN, the
// interval [0, 1], and the JSON of the reports carries null (JSON has no
// NaN); an estimable rate keeps its number.
func TestCorrectNotEstimable(t *testing.T) {
	// Humans: one pass, one fail; the grader passed both.
	c := Correct(2, 2, 1, 1, 0, 1)
	if c.Estimable() || c.Identifiable || c.Lo != 0 || c.Hi != 1 {
		t.Fatalf("%+v: want no estimate and [0, 1]", c)
	}
	b, err := json.Marshal(map[string]any{"corrected": &c})
	if err != nil || !strings.Contains(string(b), `"rate":null`) || !strings.Contains(string(b), `"hi":1`) {
		t.Fatalf("%s, %v", b, err)
	}
	b, err = json.Marshal(Correct(920, 1000, 190, 200, 90, 100))
	if err != nil || strings.Contains(string(b), "null") || !strings.Contains(string(b), `"identifiable":true`) {
		t.Fatalf("%s, %v", b, err)
	}
}
