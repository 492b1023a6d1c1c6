// Package corpusbeam runs Firebreak's corpus cleaning as an Apache Beam
// pipeline, for corpora beyond one machine. It drives the same stage code
// as the in-process runner (package corpus): Processor.Process for every
// item, GroupDrops for every group of items sharing an exact or
// near-duplicate key, the blacklist rule over the per-source tallies,
// NewOutcome and ShardSummary.Write for the cleaned shards. The global
// steps are Beam group-by-key steps: the keys of exact and near
// duplicates are grouped with GroupByKey, drops joined to items with
// CoGroupByKey, per-source tallies combined with CombinePerKey, and each
// output shard is written by the worker that its items are grouped to.
//
// The package is its own Go module so that the gateway binary and the
// main test run never compile Beam.
package corpusbeam

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"

	"github.com/firebreak/firebreak/corpus"
)

func init() {
	for _, v := range []any{readFn{}, processFn{}, groupDropsFn{}, finishFn{}, writeFn{}, lineRec{}, dropRec{}, outcomeRec{}, corpus.Tally{}} {
		beam.RegisterType(reflect.TypeOf(v))
	}
	beam.RegisterFunction(mergeTally)
}

// Options configure the pipeline.
type Options struct {
	Input  string // a folder of shards or one shard, visible to every worker
	Output string // the output folder, visible to every worker
	Config corpus.Config
}

// Pipeline is a built cleaning pipeline.
type Pipeline struct {
	*beam.Pipeline
	opts   Options
	p      *corpus.Processor
	shards []corpus.Shard
}

// summariesName is where the shard writers' summaries go, for the
// manifest.
const summariesName = ".work/summaries.jsonl"

// New builds the pipeline. Run it with any Beam runner (beamx.Run, or
// prism.Execute), then call WriteManifest.
func New(o Options) (*Pipeline, error) {
	proc, err := corpus.NewProcessor(o.Config)
	if err != nil {
		return nil, err
	}
	shards, err := corpus.ListShards(o.Input, proc.Config())
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(proc.Config())
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(shards)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{summariesName, corpus.EvidenceName} {
		if err := mkdirLocal(filepath.Join(o.Output, name)); err != nil {
			return nil, err
		}
	}
	p, s := beam.NewPipelineWithRoot()
	idx := make([]int, len(shards))
	for i := range idx {
		idx[i] = i
	}
	env := env{Config: string(cfg), Shards: string(spec)}
	lines := beam.ParDo(s.Scope("read"), &readFn{env: env}, beam.CreateList(s, idx))
	lines = beam.Reshuffle(s, lines)
	results, keys, tallies := beam.ParDo3(s.Scope("stages"), &processFn{env: env}, lines)

	// Global steps: both dedup steps group items by key; the tallies of
	// each source are combined.
	drops := beam.ParDo(s.Scope("dedup"), &groupDropsFn{}, beam.GroupByKey(s, keys))
	perSource := beam.CombinePerKey(s.Scope("source-rates"), mergeTally, tallies)

	joined := beam.CoGroupByKey(s, results, drops)
	outcomes := beam.ParDo(s.Scope("finish"), &finishFn{env: env}, joined, beam.SideInput{Input: perSource})
	summaries, evidence := beam.ParDo2(s.Scope("write"), &writeFn{env: env, Output: o.Output}, beam.GroupByKey(s, outcomes))
	textio.Write(s, filepath.Join(o.Output, summariesName), summaries)
	textio.Write(s, filepath.Join(o.Output, corpus.EvidenceName), evidence)
	return &Pipeline{Pipeline: p, opts: o, p: proc, shards: shards}, nil
}

// WriteManifest writes the manifest of a finished run from the shard
// writers' summaries.
func (pl *Pipeline) WriteManifest(ctx context.Context) (*corpus.Manifest, error) {
	sums := make([]corpus.ShardSummary, len(pl.shards))
	name := filepath.Join(pl.opts.Output, summariesName)
	b, err := readAll(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var s struct {
			Shard int `json:"shard"`
			corpus.ShardSummary
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sums[s.Shard] = s.ShardSummary
	}
	entries, sources := pl.p.ShardEntries(pl.shards, sums)
	tallies := map[string]corpus.Tally{}
	for src, st := range sources {
		tallies[src] = corpus.Tally{Items: st.Items, Harmful: st.Harmful}
	}
	m := pl.p.NewManifest("beam", pl.opts.Input, sources, entries, pl.p.Config().Blacklist.Blacklist(tallies))
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return m, writeAll(ctx, filepath.Join(pl.opts.Output, corpus.ManifestName), append(out, '\n'))
}

func readAll(ctx context.Context, name string) ([]byte, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func writeAll(ctx context.Context, name string, b []byte) error {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return err
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, name)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// env carries the configuration and shard list to the workers, as JSON.
type env struct {
	Config string
	Shards string

	proc   *corpus.Processor
	cfg    corpus.Config
	shards []corpus.Shard
}

func (e *env) setup() error {
	if e.proc != nil {
		return nil
	}
	if err := json.Unmarshal([]byte(e.Config), &e.cfg); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(e.Shards), &e.shards); err != nil {
		return err
	}
	p, err := corpus.NewProcessor(e.cfg)
	e.proc = p
	return err
}

// lineRec is one line read from a shard.
type lineRec struct {
	Shard   int64
	N       int64
	Data    []byte
	TooLong bool
}

// readFn reads the lines of one shard through Beam's file systems.
type readFn struct{ env }

func (f *readFn) Setup() error { return f.setup() }

func (f *readFn) ProcessElement(ctx context.Context, i int, emit func(lineRec)) error {
	s := &f.shards[i]
	fs, err := filesystem.New(ctx, s.Path)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, s.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	return corpus.ReadShard(s, r, f.cfg.Input.MaxLineBytes, 0, func(l corpus.Line) error {
		emit(lineRec{Shard: int64(i), N: l.N, Data: append([]byte(nil), l.Data...), TooLong: l.Err != nil})
		return nil
	})
}

// processFn runs the per-item stages: the result by item, the item's
// keys, and its tally by source.
type processFn struct{ env }

func (f *processFn) Setup() error { return f.setup() }

func (f *processFn) ProcessElement(ctx context.Context, l lineRec, results func(int64, []byte), keys func(string, int64), tallies func(string, corpus.Tally)) {
	line := corpus.Line{Shard: &f.shards[l.Shard], N: l.N, Data: l.Data}
	if l.TooLong {
		line.Err = fmt.Errorf("line too long")
	}
	r := f.proc.Process(ctx, line)
	ord := int64(r.Item.Ord)
	results(ord, corpus.EncodeResult(&r))
	for _, k := range r.Keys {
		keys(string(k.Bytes()), ord)
	}
	t := corpus.Tally{Items: 1}
	if r.Harmful {
		t.Harmful = 1
	}
	tallies(r.Item.Source, t)
}

func mergeTally(a, b corpus.Tally) corpus.Tally {
	return corpus.Tally{Items: a.Items + b.Items, Harmful: a.Harmful + b.Harmful}
}

// dropRec is a dedup drop: the kind of key and the item kept instead.
type dropRec struct {
	Kind  int64
	DupOf int64
}

// groupDropsFn applies GroupDrops to one group of items sharing a key.
type groupDropsFn struct{}

func (groupDropsFn) ProcessElement(key string, ords func(*int64) bool, emit func(int64, dropRec)) {
	var all []uint64
	var o int64
	for ords(&o) {
		all = append(all, uint64(o))
	}
	for _, d := range corpus.GroupDrops(corpus.KeyKind([]byte(key)), all) {
		emit(int64(d.Ord), dropRec{Kind: int64(d.Kind), DupOf: int64(d.DupOf)})
	}
}

// outcomeRec is corpus.Outcome as Beam carries it.
type outcomeRec struct {
	Ord       int64
	Source    string
	Bytes     int64
	Harmful   bool
	Item      []byte
	KeptBytes int64
	Record    []byte
	Dropped   string
	Evidence  bool
}

// finishFn joins an item's result with its drops and its source's
// blacklisting: the outcome, keyed by output shard.
type finishFn struct {
	env
	black map[string]bool
}

func (f *finishFn) Setup() error { return f.setup() }

func (f *finishFn) ProcessElement(ord int64, results func(*[]byte) bool, drops func(*dropRec) bool,
	perSource func(*string, *corpus.Tally) bool, emit func(int64, outcomeRec)) error {
	if f.black == nil {
		tallies := map[string]corpus.Tally{}
		var src string
		var t corpus.Tally
		for perSource(&src, &t) {
			tallies[src] = t
		}
		f.black = map[string]bool{}
		for _, b := range f.cfg.Blacklist.Blacklist(tallies) {
			f.black[b] = true
		}
	}
	var b []byte
	if !results(&b) {
		return nil // drops of an item without a result cannot happen
	}
	r, err := corpus.DecodeResult(b)
	if err != nil {
		return err
	}
	var mine []corpus.Drop
	var d dropRec
	for drops(&d) {
		mine = append(mine, corpus.Drop{Ord: uint64(ord), Kind: uint32(d.Kind), DupOf: uint64(d.DupOf)})
	}
	var drop *corpus.Drop
	if len(mine) > 0 {
		x := corpus.Resolve(mine)
		drop = &x
	}
	o, err := corpus.NewOutcome(&r, drop, f.black[r.Item.Source], f.shards)
	if err != nil {
		return err
	}
	emit(int64(corpus.OrdShard(o.Ord)), outcomeRec{Ord: int64(o.Ord), Source: o.Source, Bytes: int64(o.Bytes), Harmful: o.Harmful,
		Item: o.Item, KeptBytes: int64(o.KeptBytes), Record: o.Record, Dropped: o.Dropped, Evidence: o.Evidence})
	return nil
}

// writeFn writes one output shard and its records from the outcomes of
// its items, in item order; it emits the shard's summary and the lines
// of evidence.
type writeFn struct {
	env
	Output string
}

func (f *writeFn) Setup() error { return f.setup() }

func (f *writeFn) ProcessElement(ctx context.Context, shard int64, outcomes func(*outcomeRec) bool, summaries func(string), evidence func(string)) error {
	var all []outcomeRec
	var o outcomeRec
	for outcomes(&o) {
		all = append(all, o)
	}
	slices.SortFunc(all, func(a, b outcomeRec) int { return cmp.Compare(a.Ord, b.Ord) })
	name := corpus.OutputName(f.shards[shard].Rel, f.cfg.Output.Compression)
	items, err := f.create(ctx, filepath.Join(f.Output, name))
	if err != nil {
		return err
	}
	defer items.Close()
	records, err := f.create(ctx, filepath.Join(f.Output, corpus.RecordsDir, name))
	if err != nil {
		return err
	}
	defer records.Close()
	var ev evidenceLines
	var sum corpus.ShardSummary
	for _, o := range all {
		out := corpus.Outcome{Ord: uint64(o.Ord), Source: o.Source, Bytes: int(o.Bytes), Harmful: o.Harmful, Item: o.Item,
			KeptBytes: int(o.KeptBytes), Record: o.Record, Dropped: o.Dropped, Evidence: o.Evidence}
		if err := sum.Write(out, items, records, &ev); err != nil {
			return err
		}
	}
	if err := items.Close(); err != nil {
		return err
	}
	if err := records.Close(); err != nil {
		return err
	}
	b, err := json.Marshal(struct {
		Shard int64 `json:"shard"`
		corpus.ShardSummary
	}{shard, sum})
	if err != nil {
		return err
	}
	summaries(string(b))
	for _, l := range ev {
		evidence(l)
	}
	return nil
}

// evidenceLines collects evidence lines (without their line ends).
type evidenceLines []string

func (e *evidenceLines) Write(p []byte) (int, error) {
	*e = append(*e, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (f *writeFn) create(ctx context.Context, name string) (io.WriteCloser, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := mkdirLocal(name); err != nil {
		return nil, err
	}
	w, err := fs.OpenWrite(ctx, name)
	if err != nil {
		return nil, err
	}
	return corpus.NewShardWriter(name, w)
}
