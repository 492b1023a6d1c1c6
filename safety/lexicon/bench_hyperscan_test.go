//go:build hyperscan && cgo

package lexicon

import (
	"testing"

	"github.com/firebreak/firebreak/internal/hyperscan"
)

// Hyperscan joins BenchmarkMatch's comparators when built with the tag:
//
//	go test -tags hyperscan -run '^$' -bench Match ./safety/lexicon
func init() {
	comparators = append(comparators, comparator{"hyperscan", func(b *testing.B, terms [][]byte) func([]byte) int {
		m, err := hyperscan.New(terms)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(m.Close)
		return func(data []byte) int {
			n, err := m.Count(data)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}})
}
