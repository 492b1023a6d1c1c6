package corpus

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// TestExtSort sorts records through the external sort at budgets that
// hold them all, that make the buffer grow and then spill, and that
// spill from the start: each emits every record once, in order.
func TestExtSort(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	recs := make([]keyRec, 200_000)
	for i := range recs {
		recs[i] = keyRec{Kind: uint32(r.IntN(3)), Hi: r.Uint64N(5000), Lo: r.Uint64(), Ord: uint64(i)}
	}
	files := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	if err := writeKeyRecs(files[0], recs[:120_000]); err != nil {
		t.Fatal(err)
	}
	if err := writeKeyRecs(files[1], recs[120_000:]); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(recs)
	slices.SortFunc(want, cmpKeyRec)
	for _, mem := range []int{len(recs) * keyRecMem, 150_000 * keyRecMem, 5_000 * keyRecMem} {
		var got []keyRec
		if err := extSort(files, dir, mem, cmpKeyRec, func(k keyRec) error { got = append(got, k); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("budget of %d records: sorted output differs", mem/keyRecMem)
		}
	}
}
