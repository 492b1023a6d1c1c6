package audit

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func readPublishedFile(t *testing.T, path string) []Checkpoint {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cps, err := ReadCheckpoints(f)
	if err != nil {
		t.Fatal(err)
	}
	return cps
}

// TestPublishedCheckpointsCatchTruncation: someone who can write the
// database removes the newest records, moves the chain head back and
// deletes the checkpoints that named them. The database alone still
// verifies; held to the checkpoints published to a file, it does not.
func TestPublishedCheckpointsCatchTruncation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		signer := testSigner(t)
		pub := signer.Public().(ed25519.PublicKey)
		file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
		tr := newTrail(t, db, Options{Signer: signer, Publishers: []Publisher{&FilePublisher{Path: file}}})
		at := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
		for i := range 8 {
			mustAppend(t, tr, sample(i, at))
		}
		if _, err := tr.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		published := readPublishedFile(t, file)
		if len(published) != 1 || published[0].Seq != 8 {
			t.Fatalf("published %+v, want one checkpoint at seq 8", published)
		}
		mustExec(t, db, `DELETE FROM audit_records WHERE seq > 5`)
		mustExec(t, db, `UPDATE audit_chain SET seq = 5, hash = (SELECT hash FROM audit_records WHERE seq = 5) WHERE id = 1`)
		mustExec(t, db, `DELETE FROM audit_checkpoints WHERE seq > 5`)
		wantOK(t, mustVerify(t, db, pub)) // the database agrees with itself
		rep, err := VerifyPublished(context.Background(), db, published, pub)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.Problems[0].Kind != ProblemRemoved || rep.Problems[0].Seq != 6 {
			t.Fatalf("verify against the published checkpoints: %+v, want records removed from seq 6", rep)
		}
		forged := published[0]
		forged.Seq = 5
		if rep, _ := VerifyPublished(context.Background(), db, []Checkpoint{forged}, pub); rep.OK {
			t.Error("a published checkpoint edited after signing verified")
		}
	})
}

// TestRecoveryCheckpoint: records left without a checkpoint (a crash
// before the next one) are signed as soon as a trail starts on the
// database, and that checkpoint is published.
func TestRecoveryCheckpoint(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		crashed := newTrail(t, db, Options{}) // unsigned, no checkpoint job: nothing covers its records
		at := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
		for i := range 4 {
			mustAppend(t, crashed, sample(i, at))
		}
		signer := testSigner(t)
		file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
		newTrail(t, db, Options{Signer: signer, CheckpointEvery: time.Hour, Publishers: []Publisher{&FilePublisher{Path: file}}})
		published := readPublishedFile(t, file)
		if len(published) != 1 || published[0].Seq != 4 || published[0].Signature == "" {
			t.Fatalf("published %+v, want one signed checkpoint at seq 4", published)
		}
		rep, err := VerifyPublished(context.Background(), db, published, signer.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		wantOK(t, rep)
	})
}
