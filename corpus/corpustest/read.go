package corpustest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/firebreak/firebreak/corpus"
)

// Output is a cleaning run's output, read back.
type Output struct {
	Items    map[string]corpus.Item   // cleaned items by id
	Records  map[string]corpus.Record // records by id
	Evidence []corpus.Record
	Manifest corpus.Manifest
}

// ReadOutput reads every cleaned shard, the records, the evidence and
// the manifest under dir. Items or records that appear twice are errors.
func ReadOutput(dir string) (*Output, error) {
	o := &Output{Items: map[string]corpus.Item{}, Records: map[string]corpus.Record{}}
	b, err := os.ReadFile(filepath.Join(dir, corpus.ManifestName))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &o.Manifest); err != nil {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == ".work" {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == corpus.ManifestName:
			return nil
		case strings.HasPrefix(rel, corpus.RecordsDir+"/"):
			return eachLine(p, func(line []byte) error {
				var r corpus.Record
				if err := json.Unmarshal(line, &r); err != nil {
					return err
				}
				if _, dup := o.Records[r.ID]; dup {
					return fmt.Errorf("record %s twice", r.ID)
				}
				o.Records[r.ID] = r
				return nil
			})
		case rel == corpus.EvidenceName:
			return eachLine(p, func(line []byte) error {
				var r corpus.Record
				err := json.Unmarshal(line, &r)
				o.Evidence = append(o.Evidence, r)
				return err
			})
		}
		return eachLine(p, func(line []byte) error {
			var it corpus.Item
			if err := json.Unmarshal(line, &it); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if _, dup := o.Items[it.ID]; dup {
				return fmt.Errorf("item %s twice", it.ID)
			}
			o.Items[it.ID] = it
			return nil
		})
	})
	sort.Slice(o.Evidence, func(i, j int) bool { return o.Evidence[i].ID < o.Evidence[j].ID })
	return o, err
}

func eachLine(name string, fn func([]byte) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := corpus.Decompress(name, f)
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Check compares an output with the small corpus's outcomes and returns
// one line per difference.
func (s *Small) Check(o *Output) []string {
	var diffs []string
	ids := make([]string, 0, len(s.Want))
	for id := range s.Want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		want := s.Want[id]
		item, kept := o.Items[id]
		rec := o.Records[id]
		switch {
		case want.Stage == "" && !kept:
			diffs = append(diffs, fmt.Sprintf("%s: dropped by %v, want kept", id, rec.Dropped))
		case want.Stage != "" && kept:
			diffs = append(diffs, fmt.Sprintf("%s: kept, want dropped by %s/%s", id, want.Stage, want.Rule))
		case want.Stage != "" && (rec.Dropped == nil || rec.Dropped.Stage != want.Stage || (want.Rule != "" && rec.Dropped.Rule != want.Rule)):
			diffs = append(diffs, fmt.Sprintf("%s: dropped by %v, want %s/%s", id, rec.Dropped, want.Stage, want.Rule))
		case want.Change != "" && !hasChange(item.Changes, want.Change):
			diffs = append(diffs, fmt.Sprintf("%s: changes %v, want %s", id, item.Changes, want.Change))
		}
	}
	return diffs
}

func hasChange(evs []corpus.Event, want string) bool {
	for _, e := range evs {
		if e.Stage+"/"+e.Rule == want {
			return true
		}
	}
	return false
}

// Diff compares two outputs item for item and record for record (and
// their totals) and returns the first differences found.
func Diff(a, b *Output) []string {
	var diffs []string
	if len(a.Items) != len(b.Items) || len(a.Records) != len(b.Records) || len(a.Evidence) != len(b.Evidence) {
		diffs = append(diffs, fmt.Sprintf("items %d vs %d, records %d vs %d, evidence %d vs %d",
			len(a.Items), len(b.Items), len(a.Records), len(b.Records), len(a.Evidence), len(b.Evidence)))
	}
	same := func(kind, id string, x, y any) {
		bx, _ := json.Marshal(x)
		by, _ := json.Marshal(y)
		if string(bx) != string(by) && len(diffs) < 10 {
			diffs = append(diffs, fmt.Sprintf("%s %s differs:\n  %s\n  %s", kind, id, bx, by))
		}
	}
	for id, it := range a.Items {
		same("item", id, it, b.Items[id])
	}
	for id, r := range a.Records {
		same("record", id, r, b.Records[id])
	}
	for i := range min(len(a.Evidence), len(b.Evidence)) {
		same("evidence", a.Evidence[i].ID, a.Evidence[i], b.Evidence[i])
	}
	ta, tb := a.Manifest.Totals, b.Manifest.Totals
	same("totals", "", ta, tb)
	same("sources", "", a.Manifest.Sources, b.Manifest.Sources)
	if ta.Kept == 0 {
		diffs = append(diffs, "nothing kept")
	}
	return diffs
}
