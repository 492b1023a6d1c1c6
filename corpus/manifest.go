package corpus

import (
	"sort"
	"strconv"
	"time"
)

// File names in a cleaning run's output folder.
const (
	ManifestName = "manifest.json"
	RecordsDir   = "records"                  // every dropped or changed item, one file per shard
	EvidenceName = "evidence/blacklist.jsonl" // the harmful items of blacklisted sources
)

// Manifest describes a cleaning run's output: what went in, what came
// out, per source and per shard, with the sources' licence and collection
// records and the evidence of each blacklisting.
type Manifest struct {
	Format   int           `json:"format"`
	Created  time.Time     `json:"created"`
	Runner   string        `json:"runner"` // "in-process" or "beam"
	Input    string        `json:"input"`
	Policy   string        `json:"policy,omitempty"` // the unsafe stage's policy version
	Stages   []string      `json:"stages"`           // the stages that ran, in order
	Near     *NearInfo     `json:"near_dedup,omitempty"`
	Config   Config        `json:"config"`
	Totals   SourceStats   `json:"totals"`
	Sources  []SourceEntry `json:"sources"`
	Shards   []ShardEntry  `json:"shards"`
	Records  string        `json:"records"`
	Evidence string        `json:"evidence"`
	Seconds  float64       `json:"seconds,omitempty"`
}

// NearInfo records the near-duplicate parameters and the similarity they
// target.
type NearInfo struct {
	Shingle   int                `json:"shingle"`
	Bands     int                `json:"bands"`
	Rows      int                `json:"rows"`
	Threshold float64            `json:"threshold"` // (1/bands)^(1/rows)
	Curve     map[string]float64 `json:"candidate_probability"`
}

// SourceEntry is one source in the manifest.
type SourceEntry struct {
	SourceConfig
	Stats       SourceStats `json:"stats"`
	HarmfulRate float64     `json:"harmful_rate"`
	Blacklisted bool        `json:"blacklisted"`
}

// ShardEntry is one input shard and its cleaned output.
type ShardEntry struct {
	Input  string `json:"input"`
	Source string `json:"source"`
	Format string `json:"format"`
	Output string `json:"output"`
	Items  int64  `json:"items"`
	Kept   int64  `json:"kept"`
}

// NewManifest builds a manifest from per-source statistics and shards.
func (p *Processor) NewManifest(runner, input string, sources map[string]SourceStats, shards []ShardEntry, blacklisted []string) *Manifest {
	c := p.cfg
	m := &Manifest{Format: 1, Created: time.Now().UTC(), Runner: runner, Input: input, Config: c, Shards: shards,
		Records: RecordsDir, Evidence: EvidenceName}
	st := c.Stages
	for _, s := range []struct {
		name string
		on   bool
	}{{StageNormalise, st.Normalise.On()}, {StageUnsafe, st.Unsafe.On()}, {StagePII, st.PII.On()}, {StageQuality, st.Quality.On()},
		{StageLanguage, st.Language.On()}, {StageExact, st.Exact.On()}, {StageNear, st.Near.On()}} {
		if s.on {
			m.Stages = append(m.Stages, s.name)
		}
	}
	m.Stages = append(m.Stages, StageProvenance)
	if p.unsafe != nil {
		m.Policy = p.unsafe.engine.Version()
	}
	if p.near != nil {
		n := *p.near
		m.Near = &NearInfo{Shingle: n.Shingle, Bands: n.Bands, Rows: n.Rows, Threshold: n.Threshold(), Curve: map[string]float64{}}
		for _, s := range []float64{0.5, 0.6, 0.7, 0.8, 0.9, 0.95} {
			m.Near.Curve[fmtSim(s)] = n.Candidate(s)
		}
	}
	black := map[string]bool{}
	for _, b := range blacklisted {
		black[b] = true
	}
	known := map[string]SourceConfig{}
	for _, s := range c.Sources {
		known[s.Name] = s
	}
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := sources[n]
		sc, ok := known[n]
		if !ok {
			sc = SourceConfig{Name: n}
		}
		m.Sources = append(m.Sources, SourceEntry{SourceConfig: sc, Stats: s, HarmfulRate: s.HarmfulRate(), Blacklisted: black[n]})
		m.Totals.Merge(s)
	}
	return m
}

func fmtSim(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) }

// ShardEntries lists the shards with what was written for each, and the
// per-source statistics summed over them.
func (p *Processor) ShardEntries(shards []Shard, sums []ShardSummary) ([]ShardEntry, map[string]SourceStats) {
	sources := map[string]SourceStats{}
	entries := make([]ShardEntry, len(shards))
	for i, sc := range sums {
		s := shards[i]
		entries[i] = ShardEntry{Input: s.Rel, Source: s.Source, Format: s.Format, Output: OutputName(s.Rel, p.cfg.Output.Compression),
			Items: sc.Items, Kept: sc.Kept}
		for src, st := range sc.Sources {
			t := sources[src]
			t.Merge(st)
			sources[src] = t
		}
	}
	return entries, sources
}

func (r *run) manifest(sums []ShardSummary, black []string) *Manifest {
	entries, sources := r.p.ShardEntries(r.shards, sums)
	return r.p.NewManifest("in-process", r.Input, sources, entries, black)
}
