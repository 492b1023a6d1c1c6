// Package corpus cleans training corpora with Firebreak's safety engine and
// proves the result with the sampling audit of GB/T 45654-2025's training
// data chapter.
//
// The package holds the stage code only: reading shards, the per-item
// stages (normalisation, unsafe content, personal information, quality
// heuristics, language identification), the keys of the global steps (exact
// and near-duplicate removal), the rules that turn a group of keys into
// drops, per-source statistics and the source blacklist, the output records
// and the manifest. Two runners drive the same code: Run, in this process
// (all cores, bounded memory, resumable), and the Apache Beam pipeline in
// the separate module corpus/beam, where every global step is a group by
// key. Sample and Report draw and judge the audit samples.
//
// The order of the stages is fixed, so that every item is checked for
// unsafe content before anything else can drop it and the per-source rate
// of harmful items is measured over everything read:
//
//	normalise → unsafe → pii → quality → language → exact dedup → near dedup → source blacklist
//
// Every item that is dropped or changed carries the stage and rule that
// did it (Event).
package corpus
