package stats

import (
	"encoding/json"
	"math"
)

// Status is a threshold judged on an interval.
type Status string

const (
	Met        Status = "met"            // 符合: the whole interval is on the right side
	NotMet     Status = "not-met"        // 不符合: the whole interval is on the wrong side
	Undecided  Status = "undecided"      // 待定: the interval straddles the threshold, or the sample is too small
	NotApplies Status = "not-applicable" // 不适用: nothing was measured
)

// Chinese returns the status as an assessment report writes it.
func (s Status) Chinese() string {
	switch s {
	case Met:
		return "符合"
	case NotMet:
		return "不符合"
	case Undecided:
		return "待定"
	}
	return "不适用"
}

// Threshold is a rate the standard sets: at least (or at most) Rate,
// measured on at least MinN items.
type Threshold struct {
	Rate    float64 // e.g. 0.95
	AtLeast bool    // true: rate ≥ Rate; false: rate ≤ Rate
	MinN    int     // the standard's smallest sample; 0 for none
}

// Judgement is a threshold judged on k successes of n graded items, with
// e items whose outcome is unknown (errored, unparseable).
type Judgement struct {
	Status Status  `json:"status"`
	K      int     `json:"k"`
	N      int     `json:"n"`
	Errors int     `json:"errors"`
	Rate   float64 `json:"rate"` // k/n
	Lo     float64 `json:"lo"`   // Wilson 95% of k/n
	Hi     float64 `json:"hi"`
	// WorstLo and WorstHi bound the interval when every unknown item is
	// counted as a failure (WorstLo) or a success (WorstHi): the status
	// holds whatever the unknown items were.
	WorstLo float64 `json:"worst_lo"`
	WorstHi float64 `json:"worst_hi"`
	// RuleOfThree is 3/n when k = 0 (or 1 − 3/n when k = n), else 0.
	RuleOfThree float64 `json:"rule_of_three,omitempty"`
	// NeedN is, when Undecided, the number of graded items that would
	// decide the threshold if the observed rate held; 0 when no number
	// would (the rate sits on the threshold) or when decided.
	NeedN int    `json:"need_n,omitempty"`
	Why   string `json:"why"`
}

// Judge judges t on k successes in n graded items plus errs unknown ones.
func Judge(t Threshold, k, n, errs int) Judgement {
	j := Judgement{K: k, N: n, Errors: errs}
	if n+errs == 0 {
		j.Status, j.Why = NotApplies, "no item measured"
		return j
	}
	j.Lo, j.Hi = Wilson(k, n, Z95)
	if n > 0 {
		j.Rate = float64(k) / float64(n)
	}
	switch {
	case n > 0 && k == 0:
		j.RuleOfThree = RuleOfThree(n)
	case n > 0 && k == n:
		j.RuleOfThree = 1 - RuleOfThree(n)
	}
	j.WorstLo, _ = Wilson(k, n+errs, Z95)
	_, j.WorstHi = Wilson(k+errs, n+errs, Z95)
	good := func(x float64) bool {
		if t.AtLeast {
			return x >= t.Rate
		}
		return x <= t.Rate
	}
	// The side of the interval that must clear the threshold, with the
	// unknown items counted against the claim.
	pass, fail := j.WorstLo, j.WorstHi
	if !t.AtLeast {
		pass, fail = j.WorstHi, j.WorstLo
	}
	switch {
	case good(pass):
		j.Status = Met
	case !good(fail) && fail != t.Rate:
		j.Status = NotMet
	default:
		j.Status = Undecided
		if j.NeedN = NeedN(j.Rate, t.Rate); j.NeedN > 0 {
			j.NeedN = max(j.NeedN, t.MinN)
		}
	}
	if j.Status == Met && t.MinN > 0 && n < t.MinN {
		j.Status = Undecided
		j.NeedN = t.MinN
		j.Why = "interval clears the threshold but the sample is below the standard's minimum"
		return j
	}
	j.Why = map[Status]string{
		Met:       "the whole 95% interval clears the threshold",
		NotMet:    "the whole 95% interval is on the wrong side of the threshold",
		Undecided: "the 95% interval contains the threshold",
	}[j.Status]
	if errs > 0 {
		j.Why += ", counting each unknown item against the claim"
	}
	return j
}

// NeedN returns the smallest n at which the Wilson 95% interval around an
// observed rate p excludes the threshold t, or 0 if none up to 10⁸ does.
func NeedN(p, t float64) int {
	if p == t || math.IsNaN(p) {
		return 0
	}
	excludes := func(n int) bool {
		lo, hi := wilsonP(p, float64(n), Z95)
		return t < lo || t > hi
	}
	hi := 1
	for !excludes(hi) {
		if hi *= 2; hi > 1e8 {
			return 0
		}
	}
	lo := hi / 2
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if excludes(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Corrected is a rate corrected for a grader's measured error.
type Corrected struct {
	Rate float64 `json:"rate"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	// Identifiable is false when the grader is no better than chance on
	// some corner of its error intervals: the interval is then [0, 1].
	Identifiable bool `json:"identifiable"`
}

// Estimable reports whether the rate could be estimated: not when the
// grader's measured sensitivity and specificity add up to no more than
// chance (Rate is then NaN).
func (c Corrected) Estimable() bool { return !math.IsNaN(c.Rate) }

// MarshalJSON writes a rate that could not be estimated as null: JSON has
// no NaN.
func (c Corrected) MarshalJSON() ([]byte, error) {
	type plain Corrected
	if c.Estimable() {
		return json.Marshal(plain(c))
	}
	return json.Marshal(struct {
		plain
		Rate *float64 `json:"rate"`
	}{plain: plain(c)})
}

// Correct returns the Rogan–Gladen estimate of the true rate behind an
// observed rate k/n of a grader whose sensitivity (it says pass when the
// humans say pass) is seK of seN and specificity (it says fail when the
// humans say fail) spK of spN. The interval is the range of the estimate
// over the corners of three Wilson intervals at 1 − 0.05/3 each
// (Bonferroni), so it covers the true rate with at least 95% probability
// and is wider than the raw rate's interval.
func Correct(k, n, seK, seN, spK, spN int) Corrected {
	const z = 2.393980 // two-sided 1 − 0.05/3 normal quantile
	c := Corrected{Lo: 0, Hi: 1}
	if n == 0 || seN == 0 || spN == 0 {
		return c
	}
	rg := func(p, se, sp float64) float64 { return (p + sp - 1) / (se + sp - 1) }
	p, se, sp := float64(k)/float64(n), float64(seK)/float64(seN), float64(spK)/float64(spN)
	if se+sp-1 <= 0 {
		c.Rate = math.NaN()
		return c
	}
	c.Rate = clamp01(rg(p, se, sp))
	pl, ph := Wilson(k, n, z)
	sel, seh := Wilson(seK, seN, z)
	spl, sph := Wilson(spK, spN, z)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pp := range []float64{pl, ph} {
		for _, s1 := range []float64{sel, seh} {
			for _, s2 := range []float64{spl, sph} {
				if s1+s2-1 <= 0 {
					return c
				}
				v := rg(pp, s1, s2)
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	c.Lo, c.Hi, c.Identifiable = clamp01(lo), clamp01(hi), true
	return c
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }
