package eval

import (
	"os"
	"path/filepath"
	"testing"
)

// A kill in the middle of a write leaves a torn last line: opening the
// journal cuts it off and the item is asked again.
func TestJournalCutsATornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, journalName)
	os.WriteFile(path, []byte(`{"id":"a","bank":"x","lang":"en","outcome":"answered","attempts":1,"ms":1}`+"\n"+`{"id":"b","bank":"x","la`), 0o644)
	j, done, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !done["a"] || done["b"] || len(done) != 1 {
		t.Fatalf("done %v", done)
	}
	if err := j.append(&Record{ID: "b", Bank: "x", Lang: "en", Outcome: Answered}); err != nil {
		t.Fatal(err)
	}
	j.close()
	recs, err := ReadRecords(dir)
	if err != nil || len(recs) != 2 || recs[1].ID != "b" {
		t.Fatalf("%v %+v", err, recs)
	}
	// A corrupt line in the middle is an error, not silently skipped.
	os.WriteFile(path, []byte("{not json}\n"+`{"id":"a"}`+"\n"), 0o644)
	if _, err := ReadRecords(dir); err == nil {
		t.Error("corrupt journal read without error")
	}
}
