// Package stats holds the statistics of the evaluator: Wilson score
// intervals, the rule of three, thresholds judged on an interval with the
// sample size that would decide them, the exact McNemar test, Holm's
// step-down correction, Cohen's kappa, and rates corrected for a grader's
// measured error. Everything is exact or closed-form; nothing is sampled.
package stats

import (
	"math"
	"sort"
)

// Z95 is the two-sided 95% normal quantile.
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval for k successes in n trials at
// normal quantile z (Z95 for 95%). With n = 0 it returns [0, 1].
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	return wilsonP(float64(k)/float64(n), float64(n), z)
}

func wilsonP(p, n, z float64) (lo, hi float64) {
	z2 := z * z
	centre := (p + z2/(2*n)) / (1 + z2/n)
	half := z / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	lo, hi = math.Max(0, centre-half), math.Min(1, centre+half)
	// Exact ends: the interval reaches 0 (1) exactly when k = 0 (k = n).
	if p == 0 {
		lo = 0
	}
	if p == 1 {
		hi = 1
	}
	return lo, hi
}

// RuleOfThree returns the approximate 95% upper bound 3/n on a rate of
// which none of n trials showed an event (n > 0).
func RuleOfThree(n int) float64 {
	if n <= 0 {
		return 1
	}
	return math.Min(1, 3/float64(n))
}

// McNemarExact returns the two-sided exact (conditional binomial) p-value
// of McNemar's test for b and c discordant pairs:
// min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b+c, ½). With no discordant
// pair it returns 1.
func McNemarExact(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	// Sum the binomial probabilities in log space: n may be large.
	sum := 0.0
	for i := 0; i <= k; i++ {
		sum += math.Exp(logChoose(n, i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*sum)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Holm returns Holm's step-down adjusted p-values, in the order given:
// sorted ascending, the i-th (0-based) of m is multiplied by m−i, made
// monotone, and capped at 1.
func Holm(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*p[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// Kappa returns Cohen's kappa of a square confusion matrix (rows: one
// rater, columns: the other) and the observed agreement. When the
// expected agreement is 1 (both raters always gave the same single label)
// kappa is undefined and returned as NaN.
func Kappa(m [][]int) (kappa, agreement float64) {
	total := 0
	rows := make([]int, len(m))
	cols := make([]int, len(m))
	diag := 0
	for i := range m {
		for j := range m[i] {
			total += m[i][j]
			rows[i] += m[i][j]
			cols[j] += m[i][j]
			if i == j {
				diag += m[i][j]
			}
		}
	}
	if total == 0 {
		return math.NaN(), math.NaN()
	}
	po := float64(diag) / float64(total)
	pe := 0.0
	for i := range rows {
		pe += float64(rows[i]) * float64(cols[i]) / float64(total) / float64(total)
	}
	if pe == 1 {
		return math.NaN(), po
	}
	return (po - pe) / (1 - pe), po
}
