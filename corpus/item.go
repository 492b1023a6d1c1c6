package corpus

import (
	"encoding/json"
	"fmt"
)

// Item is one document of a corpus.
type Item struct {
	// Ord orders the items of a run: the index of its shard in the sorted
	// shard list in the high 24 bits, its line number (from 1) in the low
	// 40. Both runners derive it the same way, so "the first of a group of
	// duplicates" means the same item in both.
	Ord uint64 `json:"-"`
	// ID is the id field of the line when configured and present,
	// otherwise "<shard>:<line>".
	ID     string `json:"id"`
	Source string `json:"source"`
	Text   string `json:"text"`
	// Meta holds the other fields of a JSON line, unchanged.
	Meta json.RawMessage `json:"meta,omitempty"`
	// Changes lists the stages that changed the text.
	Changes []Event `json:"changes,omitempty"`
}

// Ord builds an item's order key from its shard index and line number.
func Ord(shard int, line int64) uint64 { return uint64(shard)<<40 | uint64(line) }

// OrdShard returns the shard index of an order key.
func OrdShard(ord uint64) int { return int(ord >> 40) }

// Stage names, as they appear in records.
const (
	StageRead       = "read"
	StageNormalise  = "normalise"
	StageUnsafe     = "unsafe"
	StagePII        = "pii"
	StageQuality    = "quality"
	StageLanguage   = "language"
	StageExact      = "exact_dedup"
	StageNear       = "near_dedup"
	StageProvenance = "provenance"
)

// Event says which stage and rule dropped or changed an item.
type Event struct {
	Stage  string `json:"stage"`
	Rule   string `json:"rule"`
	Detail string `json:"detail,omitempty"` // e.g. the risk code, the item kept instead
	Count  int    `json:"count,omitempty"`  // how many spans or lines a change touched
}

func (e Event) String() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s/%s (%s)", e.Stage, e.Rule, e.Detail)
	}
	return e.Stage + "/" + e.Rule
}

// Record is one line of a run's records file: an item dropped, or an item
// kept with changes.
type Record struct {
	ID      string  `json:"id"`
	Source  string  `json:"source"`
	Dropped *Event  `json:"dropped,omitempty"`
	Changes []Event `json:"changes,omitempty"`
	// Evidence is what the unsafe stage found: risk codes and terms (never
	// the item's text).
	Evidence []Finding `json:"evidence,omitempty"`
}

// Finding is one hit of the unsafe stage kept as evidence.
type Finding struct {
	Detector string `json:"detector"`
	Rule     string `json:"rule"`
	Code     string `json:"code"`
	Term     string `json:"term,omitempty"`
}
