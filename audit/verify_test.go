package audit

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// chainOf appends n records and checkpoints the head after
// record cpAt (0: no checkpoint).
func chainOf(t *testing.T, db *store.DB, signer ed25519.PrivateKey, n, cpAt int) *Trail {
	t.Helper()
	tr := newTrail(t, db, Options{Signer: signer, Keys: testKeyring(t, "a")})
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		r := sample(i, base.Add(time.Duration(i)*time.Second))
		mustAppend(t, tr, r)
		if i == cpAt {
			if _, err := tr.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return tr
}

// renumber moves records with seq >= from by delta, in two steps so that
// neither database trips over the primary key half-way.
func renumber(t *testing.T, db *store.DB, from, delta int64) {
	t.Helper()
	mustExec(t, db, `UPDATE audit_records SET seq = -seq WHERE seq >= $1`, from)
	mustExec(t, db, `UPDATE audit_records SET seq = -seq + $1 WHERE seq < 0`, delta)
}

// forge inserts a record at seq that chains properly after prev, as an
// attacker who knows the format would.
func forge(t *testing.T, db *store.DB, seq int64, prev string) {
	t.Helper()
	rec := sample(99, time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC))
	rec.ID = "forged"
	r, err := newRow(&rec, ModeNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.seq, r.prevHash = seq, prev
	r.hash = chainHash(prev, r.canonical())
	mustExec(t, db, `INSERT INTO audit_records (`+rowColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,
		$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32,$33)`, r.appendArgs(nil)...)
}

func hashAt(t *testing.T, db *store.DB, seq int64) string {
	t.Helper()
	var h string
	if err := db.QueryRowContext(context.Background(), `SELECT hash FROM audit_records WHERE seq = $1`, seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVerifyNamesFirstBadRecord(t *testing.T) {
	signer := testSigner(t)
	pub := signer.Public().(ed25519.PublicKey)
	cases := []struct {
		name     string
		cpAt     int // checkpoint after this record
		tamper   func(t *testing.T, db *store.DB)
		wantKind string
		wantSeq  int64
	}{
		{name: "untouched", cpAt: 6},
		{name: "field edited", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET outcome = 'ok', input_action = 'allow' WHERE seq = 6`)
		}, wantKind: ProblemChanged, wantSeq: 6},
		{name: "label edited", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET label = REPLACE(label, '"end"', '"none"') WHERE seq = 5`)
		}, wantKind: ProblemChanged, wantSeq: 5},
		{name: "label removed", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET label = '' WHERE seq = 1`)
		}, wantKind: ProblemChanged, wantSeq: 1},
		{name: "label added", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET label = '{}' WHERE seq = 2`)
		}, wantKind: ProblemChanged, wantSeq: 2},
		{name: "time edited", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET time_ms = time_ms + 1 WHERE seq = 4`)
		}, wantKind: ProblemChanged, wantSeq: 4},
		{name: "content replaced", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET content = (SELECT content FROM audit_records WHERE seq = 2) WHERE seq = 3`)
		}, wantKind: ProblemContent, wantSeq: 3},
		{name: "content removed without erasure", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET content = '' WHERE seq = 5`)
		}, wantKind: ProblemContent, wantSeq: 5},
		{name: "deleted", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `DELETE FROM audit_records WHERE seq IN (5, 6)`)
		}, wantKind: ProblemRemoved, wantSeq: 5},
		{name: "deleted and renumbered", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `DELETE FROM audit_records WHERE seq = 5`)
			renumber(t, db, 6, -1)
			mustExec(t, db, `UPDATE audit_chain SET seq = seq - 1`)
		}, wantKind: ProblemRemoved, wantSeq: 5},
		{name: "tail truncated", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `DELETE FROM audit_records WHERE seq >= 9`)
		}, wantKind: ProblemRemoved, wantSeq: 9},
		{name: "tail truncated and head moved", cpAt: 10, tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `DELETE FROM audit_records WHERE seq >= 9`)
			mustExec(t, db, `UPDATE audit_chain SET seq = 8, hash = $1`, hashAt(t, db, 8))
		}, wantKind: ProblemRemoved, wantSeq: 9},
		{name: "inserted", tamper: func(t *testing.T, db *store.DB) {
			renumber(t, db, 4, 1)
			forge(t, db, 4, hashAt(t, db, 3))
		}, wantKind: ProblemInserted, wantSeq: 4},
		{name: "inserted at the end", cpAt: 10, tamper: func(t *testing.T, db *store.DB) {
			renumber(t, db, 10, 1)
			forge(t, db, 10, hashAt(t, db, 9))
		}, wantKind: ProblemInserted, wantSeq: 10},
		{name: "reordered", tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_records SET seq = -1 WHERE seq = 5`)
			mustExec(t, db, `UPDATE audit_records SET seq = 5 WHERE seq = 6`)
			mustExec(t, db, `UPDATE audit_records SET seq = 6 WHERE seq = -1`)
		}, wantKind: ProblemReordered, wantSeq: 5},
		{name: "edited and re-hashed before a checkpoint", cpAt: 9, tamper: func(t *testing.T, db *store.DB) {
			rehashFrom(t, db, 7)
		}, wantKind: ProblemCheckpoint, wantSeq: 9},
		{name: "checkpoint signature forged", cpAt: 6, tamper: func(t *testing.T, db *store.DB) {
			mustExec(t, db, `UPDATE audit_checkpoints SET time_ms = time_ms + 1000`)
		}, wantKind: ProblemSignature, wantSeq: 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				chainOf(t, db, signer, 10, tc.cpAt)
				wantOK(t, mustVerify(t, db, pub))
				if tc.tamper == nil {
					return
				}
				tc.tamper(t, db)
				rep := mustVerify(t, db, pub)
				if rep.OK || len(rep.Problems) == 0 {
					t.Fatalf("tampering not detected: %+v", rep)
				}
				if p := rep.Problems[0]; p.Kind != tc.wantKind || p.Seq != tc.wantSeq {
					t.Fatalf("first problem %+v, want %s at seq %d (all: %+v)", p, tc.wantKind, tc.wantSeq, rep.Problems)
				}
			})
		})
	}
}

// rehashFrom changes the record at seq and recomputes its hash and every
// later hash and link, as an attacker with database access could.
func rehashFrom(t *testing.T, db *store.DB, seq int64) {
	t.Helper()
	ctx := context.Background()
	mustExec(t, db, `UPDATE audit_records SET status = 500 WHERE seq = $1`, seq)
	rows, err := db.QueryContext(ctx, `SELECT `+rowColumns+` FROM audit_records WHERE seq >= $1 ORDER BY seq`, seq)
	if err != nil {
		t.Fatal(err)
	}
	var rs []*row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	rows.Close()
	prev := hashAt(t, db, seq-1)
	for _, r := range rs {
		r.hash = chainHash(prev, r.canonical())
		mustExec(t, db, `UPDATE audit_records SET prev_hash = $1, hash = $2 WHERE seq = $3`, prev, r.hash, r.seq)
		prev = r.hash
	}
	mustExec(t, db, `UPDATE audit_chain SET hash = $1`, prev)
}

func TestVerifyWithoutKeysSkipsSignatures(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		chainOf(t, db, nil, 3, 2)
		rep := mustVerify(t, db)
		wantOK(t, rep)
		if rep.SignaturesChecked || rep.Checkpoints != 1 {
			t.Fatalf("report %+v: want one unsigned checkpoint, signatures not checked", rep)
		}
		// An unsigned checkpoint fails once a key is required.
		rep = mustVerify(t, db, testSigner(t).Public().(ed25519.PublicKey))
		if rep.OK || rep.Problems[0].Kind != ProblemSignature {
			t.Fatalf("unsigned checkpoint accepted under a key: %+v", rep)
		}
	})
}

func TestCheckpointJob(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		signer := testSigner(t)
		tr, err := New(Options{DB: db, Signer: signer, CheckpointEvery: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, tr, sample(1, time.Now()))
		var n int
		for range 400 { // bounded: the job ticks every 5ms
			if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_checkpoints`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n != 1 {
			t.Fatalf("%d checkpoints after the first append, want 1", n)
		}
		mustAppend(t, tr, sample(2, time.Now()))
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		rep := mustVerify(t, db, signer.Public().(ed25519.PublicKey))
		wantOK(t, rep)
		var last int64
		_ = db.QueryRowContext(context.Background(), `SELECT MAX(seq) FROM audit_checkpoints`).Scan(&last)
		if last != 2 {
			t.Fatalf("last checkpoint at seq %d, want 2 (Close checkpoints the head)", last)
		}
	})
}

// TestRewriteAfterDeletedCheckpointsIsFound rewrites a record the way an
// attacker with database access but without the signing key would:
// the record is edited, every later hash recomputed, and the checkpoints
// that would no longer match are deleted. The chain then links and the
// remaining checkpoints hold, but the records after the last one span
// more time than the writer lets pass without a checkpoint: Verify names
// the first of them, also once the writer's next checkpoint has signed the
// rewritten head. A tail as short as the writer leaves is fine.
func TestRewriteAfterDeletedCheckpointsIsFound(t *testing.T) {
	signer := testSigner(t)
	pub := signer.Public().(ed25519.PublicKey)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		tr := newTrail(t, db, Options{Signer: signer, Keys: testKeyring(t, "a"), Now: clk.Now})
		for i := 1; i <= 40; i++ {
			clk.Add(time.Minute)
			mustAppend(t, tr, sample(i, clk.Now()))
			if i < 40 { // every minute, as the writer does; the newest record is not yet covered
				if _, err := tr.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		rep := mustVerify(t, db, pub)
		wantOK(t, rep)
		if rep.Unsigned != 1 {
			t.Errorf("unsigned records %d, want 1", rep.Unsigned)
		}
		rehashFrom(t, db, 10)
		mustExec(t, db, `DELETE FROM audit_checkpoints WHERE seq >= 10`)
		rep = mustVerify(t, db, pub)
		if rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Kind != ProblemUnsigned || rep.Problems[0].Seq != 10 {
			t.Fatalf("rewrite with the checkpoints deleted: %+v", rep)
		}
		// The live writer then signs the rewritten head: the records
		// between the last true checkpoint and that one are still named.
		if _, err := tr.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		rep = mustVerify(t, db, pub)
		if rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Kind != ProblemUnsigned || rep.Problems[0].Seq != 10 || rep.Unsigned != 0 {
			t.Fatalf("rewrite signed by a later checkpoint: %+v", rep)
		}
	})
}

// TestContentErasedWithoutRequestIsFound erases a record's content the
// way someone with database access could, leaving the chain intact (the
// record hash covers only the content's digest): content emptied and
// marked erased on request. Verify must tell it from an erasure made on
// request, which leaves its own record after the records it erased.
func TestContentErasedWithoutRequestIsFound(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		tr := newTrail(t, db, Options{Keys: testKeyring(t, "a"), Now: clk.Now})
		for i := 1; i <= 12; i++ {
			mustAppend(t, tr, sample(i, clk.Now()))
		}
		if _, err := tr.ForgetUser(ctx, "t1", "u0", "alice"); err != nil { // records 4, 8 and 12
			t.Fatal(err)
		}
		rep := mustVerify(t, db)
		wantOK(t, rep)
		if rep.Erased != 3 {
			t.Fatalf("erased %d, want 3", rep.Erased)
		}
		mustAppend(t, tr, sample(16, clk.Now())) // u0 again, after the erasure: seq 14
		for _, seq := range []int64{3, 14} {
			mustExec(t, db, `UPDATE audit_records SET content = '', content_erased_at = 1 WHERE seq = $1`, seq)
		}
		rep = mustVerify(t, db)
		if rep.OK || len(rep.Problems) != 2 || rep.Problems[0].Kind != ProblemErased || rep.Problems[0].Seq != 3 ||
			rep.Problems[1].Kind != ProblemErased || rep.Problems[1].Seq != 14 {
			t.Fatalf("content erased without a request: %+v", rep)
		}
	})
}
