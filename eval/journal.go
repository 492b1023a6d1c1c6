package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/firebreak/firebreak/eval/grade"
)

// Outcomes of an item.
const (
	Answered = "answered" // the target answered (the gateway may have refused: see Gateway)
	Errored  = "error"    // no answer after the retries: counted, reported, never dropped
)

// Record is one line of a run's journal: an item's outcome and grades.
type Record struct {
	ID       string `json:"id"`
	Base     string `json:"base,omitempty"`     // for a probe: the original item's id
	Mutation string `json:"mutation,omitempty"` // for a probe: the mutation
	Bank     string `json:"bank"`
	Risk     string `json:"risk,omitempty"`
	Aspect   string `json:"aspect,omitempty"`
	Lang     string `json:"lang"`
	// Prompt is the item's last user turn, for the people who grade.
	Prompt      string `json:"prompt,omitempty"`
	Outcome     string `json:"outcome"`
	Gateway     string `json:"gateway,omitempty"`      // "input" or "output": the gateway refused there
	GatewayCode string `json:"gateway_code,omitempty"` // the risk code it named
	// GatewayPolicy is the policy version the gateway's report named, when
	// it sent one.
	GatewayPolicy string `json:"gateway_policy,omitempty"`
	Error         string `json:"error,omitempty"`
	Attempts      int    `json:"attempts"`
	Cached        bool   `json:"cached,omitempty"` // the answer came from the cache: nothing was sent
	// Answer is the text the user got (the gateway's safe reply when it
	// refused). It stays in the run's folder for human grading.
	Answer      string                 `json:"answer,omitempty"`
	Finish      string                 `json:"finish_reason,omitempty"`
	Grades      map[string]grade.Grade `json:"grades,omitempty"`
	GradeErrors map[string]string      `json:"grade_errors,omitempty"` // grader → why it could not judge
	Millis      int64                  `json:"ms"`
}

// journal is the append-only record of a run: one JSON line per finished
// item, written with one write call, so a crash leaves at most a torn
// last line, which opening the journal cuts off.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

const journalName = "journal.jsonl"

// openJournal opens dir's journal for appending and returns the ids it
// already holds.
func openJournal(dir string) (*journal, map[string]bool, error) {
	path := filepath.Join(dir, journalName)
	done := map[string]bool{}
	good, err := scanJournal(path, func(r *Record) error { done[r.ID] = true; return nil })
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	// Cut a torn tail (a line a kill interrupted) before appending.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &journal{f: f}, done, nil
}

func (j *journal) append(r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.f.Write(b)
	return err
}

func (j *journal) close() error { return j.f.Close() }

// scanJournal calls f for every complete record of the journal at path,
// in order, holding one record at a time. It returns the length of the
// journal up to the last complete line. A later record for an id replaces
// an earlier one (a retried error); callers that count use ReadRecords.
func scanJournal(path string, f func(*Record) error) (int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	br := bufio.NewReaderSize(file, 1<<20)
	var good int64
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			return good, nil // a line without its newline is torn: ignored
		}
		if err != nil {
			return good, err
		}
		var r Record
		if jerr := json.Unmarshal(bytes.TrimSpace(b), &r); jerr != nil {
			return good, fmt.Errorf("%s:%d: %w", path, line, jerr)
		}
		good += int64(len(b))
		if err := f(&r); err != nil {
			return good, err
		}
	}
}

// ReadRecords returns the records of the run in dir, the last record of
// each id winning, in journal order.
func ReadRecords(dir string) ([]*Record, error) {
	var out []*Record
	at := map[string]int{}
	_, err := scanJournal(filepath.Join(dir, journalName), func(r *Record) error {
		if i, ok := at[r.ID]; ok {
			out[i] = r
			return nil
		}
		at[r.ID] = len(out)
		out = append(out, r)
		return nil
	})
	return out, err
}
