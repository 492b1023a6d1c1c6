package corpus

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/firebreak/firebreak/eval/grade"
)

// The audit of GB/T 45654-2025's training-data chapter: a manual sample
// of at least 4,000 items graded by people, qualified at 96% or more, and
// a technical sample of at least 10% of the corpus graded by the keyword
// check and the classifier, qualified at 98% or more.
const (
	DefaultManual    = 4000
	DefaultTechnical = 0.10
	ManualPassRate   = 0.96
	TechPassRate     = 0.98
)

// SampleOptions configure Sample.
type SampleOptions struct {
	Corpus string // a cleaning run's output folder
	Out    string // the sample folder
	// Manual is the size of the manual sample, stratified by source in
	// proportion to each source's kept items. Default 4,000.
	Manual int
	// Technical is the share of the corpus in the technical sample, taken
	// from each source. Default 0.10.
	Technical float64
	// Seed makes the draw repeatable. Default 1.
	Seed uint64
	// Unsafe grades the technical sample: its policy bundle is the keyword
	// check, its guard model (when configured) the classifier. Default:
	// the cleaning run's own unsafe-stage configuration.
	Unsafe *UnsafeConfig
}

// File names in a sample folder.
const (
	SampleName    = "sample.json"
	GradingName   = "grading.jsonl"   // the manual sample, to grade (eval's human grading format)
	TechnicalName = "technical.jsonl" // the technical sample's grades, one line per item
)

// SampleInfo is sample.json: what was drawn and how the technical sample
// was graded.
type SampleInfo struct {
	Created     time.Time      `json:"created"`
	Corpus      string         `json:"corpus"`
	Seed        uint64         `json:"seed"`
	CorpusItems int64          `json:"corpus_items"`
	Sources     []SourceEntry  `json:"sources"` // from the corpus manifest
	Stages      []string       `json:"stages"`  // the cleaning run's stages
	Manual      int            `json:"manual"`
	ManualBy    map[string]int `json:"manual_by_source"`
	Technical   int            `json:"technical"`
	TechShare   float64        `json:"technical_share"`
	TechBy      map[string]int `json:"technical_by_source"`
	Policy      string         `json:"policy"`
	Keyword     TechGrades     `json:"keyword"`
	Classifier  *TechGrades    `json:"classifier,omitempty"` // nil: no classifier configured
	FailedCodes map[string]int `json:"failed_codes,omitempty"`
}

// TechGrades counts one automatic grader's verdicts.
type TechGrades struct {
	Pass   int `json:"pass"`
	Fail   int `json:"fail"`
	Errors int `json:"errors"`
}

// techLine is one line of technical.jsonl.
type techLine struct {
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	Keyword    string    `json:"keyword"`
	Classifier string    `json:"classifier,omitempty"`
	Findings   []Finding `json:"findings,omitempty"`
}

// Sample draws the manual and technical samples of a cleaned corpus,
// writes the manual sample to grade and grades the technical sample.
func Sample(ctx context.Context, o SampleOptions) (*SampleInfo, error) {
	if o.Manual == 0 {
		o.Manual = DefaultManual
	}
	if o.Technical == 0 {
		o.Technical = DefaultTechnical
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	var m Manifest
	if err := readJSONFile(filepath.Join(o.Corpus, ManifestName), &m); err != nil {
		return nil, fmt.Errorf("corpus manifest: %w", err)
	}
	uc := m.Config.Stages.Unsafe.withDefaults()
	if o.Unsafe != nil {
		uc = o.Unsafe.withDefaults()
	}
	judge, err := newUnsafeStage(uc)
	if err != nil {
		return nil, err
	}
	kept := map[string]int64{}
	for _, s := range m.Sources {
		kept[s.Name] = s.Stats.Kept
	}
	info := &SampleInfo{Created: time.Now().UTC(), Corpus: o.Corpus, Seed: o.Seed, CorpusItems: m.Totals.Kept, Sources: m.Sources, Stages: m.Stages,
		ManualBy: allocate(kept, o.Manual), TechBy: map[string]int{}, TechShare: o.Technical, Policy: judge.engine.Version()}
	for src, n := range kept {
		info.TechBy[src] = int(math.Ceil(o.Technical * float64(n)))
	}
	r := rand.New(rand.NewPCG(o.Seed, 45654))
	manual, tech := pick(r, kept, info.ManualBy), pick(r, kept, info.TechBy)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	gw, err := createShard(filepath.Join(o.Out, GradingName))
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	tw, err := createShard(filepath.Join(o.Out, TechnicalName))
	if err != nil {
		return nil, err
	}
	defer tw.Close()
	if judge.guard != nil {
		info.Classifier = &TechGrades{}
	}
	seen := map[string]int64{}
	err = eachKept(o.Corpus, &m, func(it Item) error {
		i := seen[it.Source]
		seen[it.Source]++
		if manual[it.Source][i] {
			info.Manual++
			b, _ := json.Marshal(grade.HumanGrade{ID: it.ID, Bank: it.Source, Answer: it.Text})
			if _, err := gw.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		if tech[it.Source][i] {
			info.Technical++
			line := info.gradeTech(ctx, judge, it)
			b, _ := json.Marshal(line)
			if _, err := tw.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, c := range []interface{ Close() error }{gw, tw} {
		if err := c.Close(); err != nil {
			return nil, err
		}
	}
	return info, writeJSONFile(filepath.Join(o.Out, SampleName), info)
}

// gradeTech grades one item of the technical sample: the keyword check
// (the policy's engine) and the classifier (the guard model).
func (info *SampleInfo) gradeTech(ctx context.Context, u *unsafeStage, it Item) techLine {
	line := techLine{ID: it.ID, Source: it.Source, Keyword: "pass"}
	found := findings(u.engine.Check(u.dir, it.Text).Hits, u.dropAt)
	if len(found) > 0 {
		line.Keyword, line.Findings = "fail", found
		info.Keyword.Fail++
		if info.FailedCodes == nil {
			info.FailedCodes = map[string]int{}
		}
		info.FailedCodes[found[0].Code]++
	} else {
		info.Keyword.Pass++
	}
	if u.guard != nil {
		v, err := u.guard.Classify(ctx, u.dir, guardMessages(u.dir, it.Text))
		switch {
		case err != nil:
			line.Classifier = "error"
			info.Classifier.Errors++
		case len(findings(v.Hits, u.dropAt)) > 0:
			line.Classifier = "fail"
			info.Classifier.Fail++
		default:
			line.Classifier = "pass"
			info.Classifier.Pass++
		}
	}
	return line
}

// allocate splits n items over sources in proportion to their sizes
// (largest remainder), never more than a source has.
func allocate(sizes map[string]int64, n int) map[string]int {
	var total int64
	names := make([]string, 0, len(sizes))
	for s, k := range sizes {
		total += k
		names = append(names, s)
	}
	sort.Strings(names)
	out := map[string]int{}
	if total == 0 {
		return out
	}
	if int64(n) >= total {
		for _, s := range names {
			out[s] = int(sizes[s])
		}
		return out
	}
	type rem struct {
		name string
		frac float64
	}
	var rems []rem
	left := n
	for _, s := range names {
		exact := float64(n) * float64(sizes[s]) / float64(total)
		out[s] = int(exact)
		left -= out[s]
		rems = append(rems, rem{s, exact - float64(out[s])})
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.frac > b.frac:
			return -1
		case a.frac < b.frac:
			return 1
		}
		return 0
	})
	for i := 0; left > 0; i = (i + 1) % len(rems) {
		if int64(out[rems[i].name]) < sizes[rems[i].name] {
			out[rems[i].name]++
			left--
		}
	}
	return out
}

// pick draws, per source, k of its n item positions uniformly without
// replacement (Floyd's algorithm: memory in k, not n).
func pick(r *rand.Rand, sizes map[string]int64, k map[string]int) map[string]map[int64]bool {
	names := make([]string, 0, len(k))
	for s := range k {
		names = append(names, s)
	}
	sort.Strings(names)
	out := map[string]map[int64]bool{}
	for _, s := range names {
		n, want := sizes[s], int64(k[s])
		set := make(map[int64]bool, want)
		for j := n - want; j < n; j++ {
			t := r.Int64N(j + 1)
			if set[t] {
				t = j
			}
			set[t] = true
		}
		out[s] = set
	}
	return out
}

// eachKept calls fn for every cleaned item of a corpus, shard by shard.
func eachKept(dir string, m *Manifest, fn func(Item) error) error {
	for _, sh := range m.Shards {
		name := filepath.Join(dir, sh.Output)
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = ReadShard(&Shard{Path: name, Rel: sh.Output}, f, 1<<30, 0, func(l Line) error {
			var it Item
			if err := json.Unmarshal(l.Data, &it); err != nil {
				return fmt.Errorf("%s:%d: %w", sh.Output, l.N, err)
			}
			return fn(it)
		})
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
