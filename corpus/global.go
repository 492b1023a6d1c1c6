package corpus

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Drop is a global step's verdict on one item: dropped as a duplicate of
// the item DupOf.
type Drop struct {
	Ord   uint64
	Kind  uint32 // the key's kind: KindExact, or 1+band
	DupOf uint64
}

// GroupDrops is the rule of both dedup steps for one group of items that
// share a key: the first item (least Ord) is kept, every other one is
// dropped as its duplicate. ords may be in any order and is sorted.
func GroupDrops(kind uint32, ords []uint64) []Drop {
	if len(ords) < 2 {
		return nil
	}
	slices.Sort(ords)
	ords = slices.Compact(ords)
	drops := make([]Drop, 0, len(ords)-1)
	for _, o := range ords[1:] {
		drops = append(drops, Drop{Ord: o, Kind: kind, DupOf: ords[0]})
	}
	return drops
}

// Resolve picks the drop that is recorded for an item several groups
// dropped: an exact duplicate before a near one, then the earliest kept
// item, then the lowest band.
func Resolve(drops []Drop) Drop {
	return slices.MinFunc(drops, func(a, b Drop) int {
		ae, be := a.Kind == KindExact, b.Kind == KindExact
		switch {
		case ae != be:
			if ae {
				return -1
			}
			return 1
		case a.DupOf != b.DupOf:
			return cmp.Compare(a.DupOf, b.DupOf)
		}
		return cmp.Compare(uint64(a.Kind), uint64(b.Kind))
	})
}

// Event is the record of a global drop; shards name the kept item.
func (d Drop) Event(shards []Shard) Event {
	loc := fmt.Sprintf("%d", d.DupOf)
	if s := OrdShard(d.DupOf); s < len(shards) {
		loc = fmt.Sprintf("%s:%d", shards[s].Rel, d.DupOf&(1<<40-1))
	}
	if d.Kind == KindExact {
		return Event{Stage: StageExact, Rule: "exact", Detail: "duplicate of " + loc}
	}
	return Event{Stage: StageNear, Rule: fmt.Sprintf("band_%d", d.Kind-1), Detail: "near duplicate of " + loc}
}

// Finish applies the global verdicts to a per-item result: the drop of
// the dedup steps (nil when none) and whether the item's source is
// blacklisted. It returns the cleaned item (nil when dropped) and the
// record to keep (nil for an item kept unchanged).
func Finish(r *Result, drop *Drop, blacklisted bool, shards []Shard) (*Item, *Record) {
	rec := &Record{ID: r.Item.ID, Source: r.Item.Source, Changes: r.Item.Changes, Evidence: r.Evidence}
	switch {
	case r.Drop != nil:
		rec.Dropped = r.Drop
	case blacklisted:
		rec.Dropped = &Event{Stage: StageProvenance, Rule: "source_blacklist", Detail: r.Item.Source}
	case drop != nil:
		e := drop.Event(shards)
		rec.Dropped = &e
	}
	if rec.Dropped != nil {
		return nil, rec
	}
	if len(rec.Changes) == 0 {
		rec = nil
	}
	return &r.Item, rec
}

// Outcome is an item's final outcome, encoded: the line of the cleaned
// shard (nil when dropped) and the line of the records (nil when kept
// unchanged). It is what a runner hands to the writer of the item's
// output shard.
type Outcome struct {
	Ord       uint64
	Source    string
	Bytes     int  // bytes read
	Harmful   bool // found unsafe
	Item      []byte
	KeptBytes int
	Record    []byte
	Dropped   string // the stage that dropped the item
	Evidence  bool   // a harmful item of a blacklisted source
}

// NewOutcome finishes a result (see Finish) and encodes the outcome.
func NewOutcome(r *Result, drop *Drop, blacklisted bool, shards []Shard) (Outcome, error) {
	item, rec := Finish(r, drop, blacklisted, shards)
	o := Outcome{Ord: r.Item.Ord, Source: r.Item.Source, Bytes: r.Bytes, Harmful: r.Harmful, Evidence: r.Harmful && blacklisted}
	var err error
	if item != nil {
		o.KeptBytes = len(item.Text)
		if o.Item, err = appendItemLine(nil, item); err != nil {
			return o, err
		}
	}
	if rec != nil {
		if rec.Dropped != nil {
			o.Dropped = rec.Dropped.Stage
		}
		if o.Record, err = MarshalLine(rec); err != nil {
			return o, err
		}
	}
	return o, nil
}

// ShardSummary counts what was written for one output shard.
type ShardSummary struct {
	Items   int64                  `json:"items"`
	Kept    int64                  `json:"kept"`
	Sources map[string]SourceStats `json:"sources"`
}

// Write writes an outcome to the shard's items, records and evidence,
// and counts it. Outcomes must come in Ord order.
func (s *ShardSummary) Write(o Outcome, items, records, evidence io.Writer) error {
	if s.Sources == nil {
		s.Sources = map[string]SourceStats{}
	}
	st := s.Sources[o.Source]
	st.Add(o)
	s.Sources[o.Source] = st
	s.Items++
	if o.Item != nil {
		s.Kept++
		if _, err := items.Write(o.Item); err != nil {
			return err
		}
	}
	if o.Record != nil {
		if _, err := records.Write(o.Record); err != nil {
			return err
		}
		if o.Evidence {
			if _, err := evidence.Write(o.Record); err != nil {
				return err
			}
		}
	}
	return nil
}

// MarshalLine encodes a cleaned item or a record as one JSON line.
func MarshalLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
