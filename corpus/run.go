package corpus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// RunOptions configures an in-process cleaning run.
type RunOptions struct {
	Input  string // a folder of shards, or one shard
	Output string // folder for cleaned shards, records and the manifest
	Config Config
	// Workers is the number of goroutines running stages. Default: all
	// cores (GOMAXPROCS).
	Workers int
	// SortMemory bounds the bytes of keys held in memory by the global
	// steps' sort. Default 128 MiB.
	SortMemory int
	// Progress receives a progress line now and then. Default: none.
	Progress io.Writer
	// Restart discards the work of an earlier, different run in Output.
	// An interrupted run with the same input and configuration resumes
	// without it. Default false.
	Restart bool
	// KeepWork keeps the work folder (Output/.work) after a run.
	KeepWork bool
}

// run is one in-process run's state.
type run struct {
	RunOptions
	p      *Processor
	shards []Shard
	work   string
	prog   *progress
}

// Run cleans a corpus in this process: the per-item stages over each
// shard on all cores, then the global steps as external sorts of keys
// (bounded memory), then the cleaned shards, records and manifest. Work
// in progress lives in Output/.work; a run interrupted at any point and
// started again with the same input and configuration resumes there.
func Run(ctx context.Context, o RunOptions) (*Manifest, error) {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.SortMemory <= 0 {
		o.SortMemory = 128 << 20
	}
	p, err := NewProcessor(o.Config)
	if err != nil {
		return nil, err
	}
	shards, err := ListShards(o.Input, p.cfg)
	if err != nil {
		return nil, err
	}
	r := &run{RunOptions: o, p: p, shards: shards, work: filepath.Join(o.Output, ".work")}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	start := time.Now()
	r.prog = newProgress(o.Progress, shards)
	tallies, err := r.phaseA(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.phaseB(ctx); err != nil {
		return nil, err
	}
	black := r.p.cfg.Blacklist.Blacklist(tallies)
	m, err := r.phaseC(ctx, black)
	if err != nil {
		return nil, err
	}
	m.Seconds = time.Since(start).Seconds()
	if err := writeJSONFile(filepath.Join(o.Output, ManifestName), m); err != nil {
		return nil, err
	}
	r.prog.done()
	if !o.KeepWork {
		os.RemoveAll(r.work)
	}
	return m, nil
}

// runID identifies a run by its configuration and input shards (path,
// size, modification time), so that a resume never mixes two runs.
func (r *run) runID() string {
	h := sha256.New()
	cfg, _ := json.Marshal(r.p.cfg)
	h.Write(cfg)
	for _, s := range r.shards {
		st, err := os.Stat(s.Path)
		if err == nil {
			fmt.Fprintf(h, "\n%s %d %d", s.Rel, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r *run) prepare() error {
	id := r.runID()
	idFile := filepath.Join(r.work, "run-id")
	if old, err := os.ReadFile(idFile); err == nil && string(old) != id {
		if !r.Restart {
			return fmt.Errorf("%s holds the work of a run with another input or configuration: run with --restart to discard it", r.work)
		}
		if err := os.RemoveAll(r.work); err != nil {
			return err
		}
	}
	for _, d := range []string{"a", "c"} {
		if err := os.MkdirAll(filepath.Join(r.work, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(idFile, []byte(id), 0o644)
}

func (r *run) path(phase string, shard int, ext string) string {
	return filepath.Join(r.work, phase, strconv.Itoa(shard)+ext)
}

// checkpoint is how far phase A got in one shard: every line up to Lines
// is in the work files, whose sizes it gives.
type checkpoint struct {
	Lines    int64            `json:"lines"`
	Bytes    int64            `json:"bytes"`
	ResSize  int64            `json:"res_size"`
	KeysSize int64            `json:"keys_size"`
	Tally    map[string]Tally `json:"tally"`
}

func writeJSONFile(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func readJSONFile(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// phaseA runs the per-item stages over every shard not yet done and
// returns the tallies of all shards.
func (r *run) phaseA(ctx context.Context) (map[string]Tally, error) {
	tallies := map[string]Tally{}
	for i := range r.shards {
		var ck checkpoint
		if err := readJSONFile(r.path("a", i, ".done"), &ck); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			if ck, err = r.shardA(ctx, &r.shards[i]); err != nil {
				return nil, err
			}
		} else {
			r.prog.skip(i)
		}
		for src, t := range ck.Tally {
			s := tallies[src]
			s.Items += t.Items
			s.Harmful += t.Harmful
			tallies[src] = s
		}
	}
	return tallies, nil
}

// batch is a run of lines of one shard, processed by one worker.
type batch struct {
	seq   int
	lines []Line
	res   []byte
	keys  []byte
	tally map[string]Tally
	last  int64
	bytes int64 // read from the file, compressed
	size  int   // of the lines
}

func (r *run) shardA(ctx context.Context, s *Shard) (checkpoint, error) {
	var ck checkpoint
	ckFile := r.path("a", s.Index, ".ckpt")
	if err := readJSONFile(ckFile, &ck); err != nil && !errors.Is(err, os.ErrNotExist) {
		return ck, err
	}
	if ck.Tally == nil {
		ck.Tally = map[string]Tally{}
	}
	if ck.Lines > 0 {
		r.prog.note(fmt.Sprintf("resuming %s after line %d", s.Rel, ck.Lines))
	}
	res, err := openAt(r.path("a", s.Index, ".res"), ck.ResSize)
	if err != nil {
		return ck, err
	}
	defer res.Close()
	keys, err := openAt(r.path("a", s.Index, ".keys"), ck.KeysSize)
	if err != nil {
		return ck, err
	}
	defer keys.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	in, out := make(chan *batch, r.Workers), make(chan *batch, r.Workers)
	var wg sync.WaitGroup
	for range r.Workers {
		wg.Go(func() {
			for b := range in {
				r.processBatch(ctx, b)
				select {
				case out <- b:
				case <-ctx.Done():
				}
			}
		})
	}
	readErr := make(chan error, 1)
	go func() {
		readErr <- r.readBatches(ctx, s, ck.Lines, in)
		close(in)
		wg.Wait()
		close(out)
	}()
	pending := map[int]*batch{}
	next := 0
	for b := range out {
		if ctx.Err() != nil {
			continue // drain; nothing after a failed write is written
		}
		pending[b.seq] = b
		for b := pending[next]; b != nil; b = pending[next] {
			delete(pending, next)
			next++
			if err := ck.write(b, res, keys); err != nil {
				cancel(err)
				break
			}
			if err := writeJSONFile(ckFile, ck); err != nil {
				cancel(err)
				break
			}
			r.prog.add(s.Index, b.bytes)
		}
	}
	if err := <-readErr; err != nil {
		return ck, err
	}
	if err := context.Cause(ctx); err != nil {
		return ck, err
	}
	return ck, os.Rename(ckFile, r.path("a", s.Index, ".done"))
}

// openAt opens a work file for appending after its first size bytes,
// dropping what a killed run wrote past its last checkpoint.
func openAt(name string, size int64) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (ck *checkpoint) write(b *batch, res, keys *os.File) error {
	if _, err := res.Write(b.res); err != nil {
		return err
	}
	if _, err := keys.Write(b.keys); err != nil {
		return err
	}
	ck.ResSize += int64(len(b.res))
	ck.KeysSize += int64(len(b.keys))
	ck.Lines = b.last
	ck.Bytes += b.bytes
	for src, t := range b.tally {
		c := ck.Tally[src]
		c.Items += t.Items
		c.Harmful += t.Harmful
		ck.Tally[src] = c
	}
	return nil
}

const (
	batchLines = 1024
	batchBytes = 4 << 20
)

// readBatches reads a shard after line skip into batches.
func (r *run) readBatches(ctx context.Context, s *Shard, skip int64, in chan<- *batch) error {
	f, err := os.Open(s.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	b := &batch{}
	size := 0
	send := func() error {
		b.bytes = cr.n
		cr.n = 0
		select {
		case in <- b:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		b = &batch{seq: b.seq + 1}
		size = 0
		return nil
	}
	err = ReadShard(s, cr, r.p.cfg.Input.MaxLineBytes, skip, func(l Line) error {
		l.Data = append([]byte(nil), l.Data...)
		b.lines = append(b.lines, l)
		size += len(l.Data)
		b.size = size
		if len(b.lines) == batchLines || size >= batchBytes {
			return send()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(b.lines) > 0 || cr.n > 0 {
		return send()
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (r *run) processBatch(ctx context.Context, b *batch) {
	b.tally = map[string]Tally{}
	// Room for what the batch will append, so that it grows once: the
	// texts and about 64 bytes of fields per item, and the keys.
	keys := 0
	if r.p.exact {
		keys++
	}
	if r.p.near != nil {
		keys += r.p.near.Bands
	}
	b.res = make([]byte, 0, b.size+len(b.lines)*64)
	b.keys = make([]byte, 0, len(b.lines)*keys*keyRecSize)
	for _, l := range b.lines {
		res := r.p.Process(ctx, l)
		b.res = appendResult(b.res, &res)
		for _, k := range res.Keys {
			b.keys = keyRec{Kind: k.Kind, Hi: k.Hi, Lo: k.Lo, Ord: res.Item.Ord}.append(b.keys)
		}
		t := b.tally[res.Item.Source]
		t.Items++
		if res.Harmful {
			t.Harmful++
		}
		b.tally[res.Item.Source] = t
		b.last = l.N
	}
	b.lines = nil
}
