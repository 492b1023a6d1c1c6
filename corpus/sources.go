package corpus

import "sort"

// SourceStats counts one source's items through a run.
type SourceStats struct {
	Items   int64            `json:"items"`   // lines read
	Bytes   int64            `json:"bytes"`   // bytes read
	Harmful int64            `json:"harmful"` // found unsafe by the unsafe stage
	Kept    int64            `json:"kept"`
	KeptB   int64            `json:"kept_bytes"`
	Changed int64            `json:"changed"`           // kept with changes
	Dropped map[string]int64 `json:"dropped,omitempty"` // by stage
}

// Add counts one item's final outcome.
func (s *SourceStats) Add(o Outcome) {
	s.Items++
	s.Bytes += int64(o.Bytes)
	if o.Harmful {
		s.Harmful++
	}
	switch {
	case o.Item != nil:
		s.Kept++
		s.KeptB += int64(o.KeptBytes)
		if o.Record != nil {
			s.Changed++
		}
	case o.Dropped != "":
		if s.Dropped == nil {
			s.Dropped = map[string]int64{}
		}
		s.Dropped[o.Dropped]++
	}
}

// Merge adds o's counts to s.
func (s *SourceStats) Merge(o SourceStats) {
	s.Items += o.Items
	s.Bytes += o.Bytes
	s.Harmful += o.Harmful
	s.Kept += o.Kept
	s.KeptB += o.KeptB
	s.Changed += o.Changed
	for k, v := range o.Dropped {
		if s.Dropped == nil {
			s.Dropped = map[string]int64{}
		}
		s.Dropped[k] += v
	}
}

// HarmfulRate is the share of items read that the unsafe stage flagged.
func (s SourceStats) HarmfulRate() float64 {
	if s.Items == 0 {
		return 0
	}
	return float64(s.Harmful) / float64(s.Items)
}

// Blacklisted applies the source rule: more than the threshold of a
// source's items are harmful.
func (c BlacklistConfig) Blacklisted(s SourceStats) bool {
	return s.Items >= int64(c.MinItems) && s.HarmfulRate() > c.Threshold
}

// Tally is the per-item part of a source's statistics, known before the
// global steps: what the blacklist rule needs.
type Tally struct {
	Items   int64 `json:"items"`
	Harmful int64 `json:"harmful"`
}

// Blacklist returns the sources the rule drops, sorted.
func (c BlacklistConfig) Blacklist(tallies map[string]Tally) []string {
	var out []string
	for src, t := range tallies {
		if c.Blacklisted(SourceStats{Items: t.Items, Harmful: t.Harmful}) {
			out = append(out, src)
		}
	}
	sort.Strings(out)
	return out
}
