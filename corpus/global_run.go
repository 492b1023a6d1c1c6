package corpus

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// phaseB runs the global steps: the keys of all shards sorted so that
// each group of items sharing a key is contiguous, GroupDrops over each
// group, and the drops sorted by item, with each shard's range of them.
func (r *run) phaseB(ctx context.Context) error {
	done := filepath.Join(r.work, "b.done")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	r.prog.phase("global steps")
	sortDir := filepath.Join(r.work, "sort")
	if err := os.MkdirAll(sortDir, 0o755); err != nil {
		return err
	}
	var files []string
	for i := range r.shards {
		files = append(files, r.path("a", i, ".keys"))
	}
	unsorted := filepath.Join(r.work, "drops.unsorted")
	dw, err := createShard(unsorted)
	if err != nil {
		return err
	}
	var group []uint64
	var cur keyRec
	var rec [keyRecSize]byte
	flush := func() {
		for _, d := range GroupDrops(cur.Kind, group) {
			dw.Write(keyRec{Kind: d.Kind, Hi: d.DupOf, Ord: d.Ord}.append(rec[:0]))
		}
		group = group[:0]
	}
	n := 0
	err = extSort(files, sortDir, r.SortMemory, cmpKeyRec, func(k keyRec) error {
		if n++; n%(1<<20) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(group) > 0 && (k.Kind != cur.Kind || k.Hi != cur.Hi || k.Lo != cur.Lo) {
			flush()
		}
		cur = k
		group = append(group, k.Ord)
		return nil
	})
	if err != nil {
		dw.Close()
		return err
	}
	flush()
	if err := dw.Close(); err != nil {
		return err
	}
	sorted, err := createShard(filepath.Join(r.work, "drops"))
	if err != nil {
		return err
	}
	ranges := make([][2]int64, len(r.shards))
	var at int64
	err = extSort([]string{unsorted}, sortDir, r.SortMemory, cmpByOrd, func(k keyRec) error {
		s := OrdShard(k.Ord)
		if ranges[s][1] == 0 {
			ranges[s][0] = at
		}
		at++
		ranges[s][1] = at
		_, err := sorted.Write(k.append(rec[:0]))
		return err
	})
	if err != nil {
		sorted.Close()
		return err
	}
	if err := sorted.Close(); err != nil {
		return err
	}
	os.Remove(unsorted)
	if err := writeJSONFile(filepath.Join(r.work, "drops.ranges"), ranges); err != nil {
		return err
	}
	return os.WriteFile(done, nil, 0o644)
}

// phaseC writes each shard's cleaned items and its records, shards in
// parallel, then the records, the evidence and the manifest.
func (r *run) phaseC(ctx context.Context, black []string) (*Manifest, error) {
	r.prog.phase("writing")
	var ranges [][2]int64
	if err := readJSONFile(filepath.Join(r.work, "drops.ranges"), &ranges); err != nil {
		return nil, err
	}
	isBlack := map[string]bool{}
	for _, b := range black {
		isBlack[b] = true
	}
	results := make([]ShardSummary, len(r.shards))
	errs := make([]error, len(r.shards))
	next := make(chan int)
	var wg sync.WaitGroup
	for range r.Workers {
		wg.Go(func() {
			for i := range next {
				results[i], errs[i] = r.shardC(i, ranges[i], isBlack)
			}
		})
	}
	for i := range r.shards {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	if err := r.concat(".evidence", filepath.Join(r.Output, EvidenceName)); err != nil {
		return nil, err
	}
	return r.manifest(results, black), nil
}

func (r *run) shardC(i int, rng [2]int64, black map[string]bool) (ShardSummary, error) {
	var sum ShardSummary
	if err := readJSONFile(r.path("c", i, ".done"), &sum); err == nil {
		return sum, nil
	}
	s := &r.shards[i]
	name := OutputName(s.Rel, r.p.cfg.Output.Compression)
	drops, err := r.readDrops(rng)
	if err != nil {
		return sum, err
	}
	f, err := os.Open(r.path("a", i, ".res"))
	if err != nil {
		return sum, err
	}
	defer f.Close()
	var files []io.WriteCloser
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range []string{filepath.Join(r.Output, name), filepath.Join(r.Output, RecordsDir, name), r.path("c", i, ".evidence")} {
		w, err := createShard(p)
		if err != nil {
			return sum, err
		}
		files = append(files, w)
	}
	rr := newResultReader(f)
	for {
		res, err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("shard %s: %w", s.Rel, err)
		}
		var mine []Drop
		for len(drops) > 0 && drops[0].Ord == res.Item.Ord {
			mine = append(mine, drops[0])
			drops = drops[1:]
		}
		var drop *Drop
		if len(mine) > 0 {
			d := Resolve(mine)
			drop = &d
		}
		o, err := NewOutcome(&res, drop, black[res.Item.Source], r.shards)
		if err != nil {
			return sum, err
		}
		if err := sum.Write(o, files[0], files[1], files[2]); err != nil {
			return sum, err
		}
	}
	for _, w := range files {
		if err := w.Close(); err != nil {
			return sum, err
		}
	}
	files = nil
	return sum, writeJSONFile(r.path("c", i, ".done"), sum)
}

func (r *run) readDrops(rng [2]int64) ([]Drop, error) {
	if rng[1] <= rng[0] {
		return nil, nil
	}
	f, err := os.Open(filepath.Join(r.work, "drops"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(rng[0]*keyRecSize, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	drops := make([]Drop, 0, rng[1]-rng[0])
	var b [keyRecSize]byte
	for range rng[1] - rng[0] {
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, err
		}
		k := decodeKeyRec(b[:])
		drops = append(drops, Drop{Ord: k.Ord, Kind: k.Kind, DupOf: k.Hi})
	}
	slices.SortStableFunc(drops, func(a, b Drop) int { return cmp.Compare(a.Ord, b.Ord) })
	return drops, nil
}

// concat joins the shards' part files of phase C into one file.
func (r *run) concat(ext, name string) error {
	w, err := createShard(name)
	if err != nil {
		return err
	}
	for i := range r.shards {
		f, err := os.Open(r.path("c", i, ext))
		if err != nil {
			w.Close()
			return err
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}
