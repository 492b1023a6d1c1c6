// Package eval runs evaluation banks against an OpenAI-compatible target —
// a model directly, or the whole service through the gateway — and turns
// the answers into the numbers GB/T 45654-2025 asks for, with intervals.
//
// A run is a plan (which items, sampled how, mutated how), an append-only
// journal of results in the output folder (so an interrupted run resumes
// with identical totals), a response cache shared between runs, graders
// (eval/grade), statistics (eval/stats) and reports (eval/report).
package eval

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/probe"
)

// PlanOptions say which items a run asks.
type PlanOptions struct {
	// Sample caps the items of each bank type, chosen by seed; a bank
	// type missing from the map (and "*" for all) is run whole.
	Sample map[string]int
	// Seed drives the sampling. Default 0 is a valid seed.
	Seed int64
	// Probes are mutations applied to every should-refuse item, by name
	// (probe.Names, or "all").
	Probes []string
	// Target identifies the target (target.Client.Identity): a folder
	// holds the run of one target.
	Target string
}

// BankRef pins a bank file in a plan and a manifest.
type BankRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Items  int    `json:"items"`
}

// Entry is one item of a plan: a bank item, or a probe made from one.
type Entry struct {
	Item     bank.Item
	Base     string // the original item's id, for a probe
	Mutation string // the probe's mutation, or ""
}

// Plan is the list of items a run asks, in a fixed order.
type Plan struct {
	Banks   []BankRef      `json:"banks"`
	Sample  map[string]int `json:"sample,omitempty"`
	Seed    int64          `json:"seed"`
	Probes  []string       `json:"probes,omitempty"`
	Target  string         `json:"target_sha256"`
	Entries int            `json:"entries"`
	// Hash is the SHA-256 of everything above: a folder holds the run of
	// one plan.
	Hash string `json:"hash"`

	entries []Entry
}

// Items returns the plan's entries in order.
func (p *Plan) Items() []Entry { return p.entries }

// NewPlan builds the plan of a run over the bank files.
func NewPlan(files []*bank.File, o PlanOptions) (*Plan, error) {
	p := &Plan{Sample: o.Sample, Seed: o.Seed, Probes: o.Probes}
	t := sha256.Sum256([]byte(o.Target))
	p.Target = hex.EncodeToString(t[:])
	muts, err := probe.Lookup(o.Probes)
	if err != nil {
		return nil, err
	}
	seen := map[string]string{}
	var items []bank.Item
	for _, f := range files {
		p.Banks = append(p.Banks, BankRef{Path: filepath.Base(f.Path), SHA256: f.SHA256, Items: len(f.Items)})
		for _, it := range f.Items {
			if prev, dup := seen[it.ID]; dup {
				return nil, fmt.Errorf("item id %q is in both %s and %s: ids must be unique in a run", it.ID, prev, f.Path)
			}
			seen[it.ID] = f.Path
			items = append(items, it)
		}
	}
	items = sample(items, o.Sample, o.Seed)
	for _, it := range items {
		p.entries = append(p.entries, Entry{Item: it})
	}
	for _, m := range muts {
		for _, it := range items {
			if it.Bank != bank.ShouldRefuse {
				continue
			}
			if v, ok := probe.Apply(m, it); ok {
				p.entries = append(p.entries, Entry{Item: v, Base: it.ID, Mutation: m.Name})
			}
		}
	}
	p.Entries = len(p.entries)
	b, _ := json.Marshal(p)
	h := sha256.Sum256(b)
	p.Hash = hex.EncodeToString(h[:])
	return p, nil
}

// sample keeps, per bank type, the n items whose seeded hash of the id is
// smallest: the choice depends on the seed and the ids, not on the order
// of the files. The kept items stay in file order.
func sample(items []bank.Item, caps map[string]int, seed int64) []bank.Item {
	if len(caps) == 0 {
		return items
	}
	byBank := map[string][]int{}
	for i, it := range items {
		byBank[it.Bank] = append(byBank[it.Bank], i)
	}
	keep := make([]bool, len(items))
	for b, idx := range byBank {
		n, ok := caps[b]
		if !ok {
			n, ok = caps["*"]
		}
		if !ok || n >= len(idx) {
			for _, i := range idx {
				keep[i] = true
			}
			continue
		}
		sort.Slice(idx, func(a, c int) bool {
			return rank(seed, items[idx[a]].ID) < rank(seed, items[idx[c]].ID)
		})
		for _, i := range idx[:n] {
			keep[i] = true
		}
	}
	out := make([]bank.Item, 0, len(items))
	for i, it := range items {
		if keep[i] {
			out = append(out, it)
		}
	}
	return out
}

func rank(seed int64, id string) string {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seed))
	h := sha256.Sum256(append(s[:], id...))
	return string(h[:])
}

// ErrOtherPlan is returned when an output folder holds a run of another
// plan.
var ErrOtherPlan = errors.New("the output folder holds a run of other banks, sampling, probes or target")

// pin writes plan.json into dir, or checks that the one there is this
// plan's. It reports whether the folder already held the plan.
func (p *Plan) pin(dir string) (resumed bool, err error) {
	path := filepath.Join(dir, "plan.json")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var old Plan
		if err := json.Unmarshal(b, &old); err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
		if old.Hash != p.Hash {
			return false, fmt.Errorf("%w (%s): use another --out", ErrOtherPlan, dir)
		}
		return true, nil
	case !errors.Is(err, os.ErrNotExist):
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	b, _ = json.MarshalIndent(p, "", "  ")
	return false, writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
