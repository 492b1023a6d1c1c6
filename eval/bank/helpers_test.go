package bank_test

import (
	"strconv"

	"github.com/firebreak/firebreak/safety"
)

func itoa(i int) string { return strconv.Itoa(i) }

// codeAt spreads i over the risk codes: A1/A2 codes get 3 shares of 31 … enough
// for ≥ 50 each in 2,000 items, the rest ≥ 20.
func codeAt(i int) string {
	if i%2 == 0 {
		return safety.RiskCodes[(i/2)%17].Code
	}
	return safety.RiskCodes[(i/2)%31].Code
}
