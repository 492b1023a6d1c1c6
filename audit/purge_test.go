package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestPurgeKeepsChainVerifiable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signer := testSigner(t)
		pub := signer.Public().(ed25519.PublicKey)
		clk := newClock()
		tr := newTrail(t, db, Options{Signer: signer, Now: clk.Now})
		day0 := clk.Now()
		for i := range 30 { // one record a day, checkpointed as the writer does
			mustAppend(t, tr, sample(i, day0.Add(time.Duration(i)*24*time.Hour)))
			if _, err := tr.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			name      string
			olderThan time.Time
			purged    int64
			remaining int64
		}{
			{name: "nothing old enough", olderThan: day0, purged: 0, remaining: 30},
			{name: "first ten days", olderThan: day0.Add(10 * 24 * time.Hour), purged: 10, remaining: 20},
			{name: "again is a no-op", olderThan: day0.Add(10 * 24 * time.Hour), purged: 0, remaining: 20},
			{name: "up to day 25", olderThan: day0.Add(25*24*time.Hour - time.Millisecond), purged: 15, remaining: 5},
			{name: "everything", olderThan: day0.Add(40 * 24 * time.Hour), purged: 5, remaining: 0},
		}
		for _, s := range steps {
			n, err := tr.Purge(ctx, s.olderThan)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			rep := mustVerify(t, db, pub)
			wantOK(t, rep)
			if n != s.purged || rep.Records != s.remaining {
				t.Fatalf("%s: purged %d leaving %d, want %d leaving %d", s.name, n, rep.Records, s.purged, s.remaining)
			}
			if s.purged+s.remaining < 30 && (rep.Anchor == nil || rep.Anchor.Seq != 30-s.remaining) {
				t.Fatalf("%s: anchor %+v, want seq %d", s.name, rep.Anchor, 30-s.remaining)
			}
		}
		// The chain continues after a full purge.
		mustAppend(t, tr, sample(31, clk.Now()))
		rep := mustVerify(t, db, pub)
		wantOK(t, rep)
		if rep.FirstSeq != 31 {
			t.Fatalf("first seq after purge %d, want 31", rep.FirstSeq)
		}
	})
}

func TestPurgeAnchorTampering(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signer := testSigner(t)
		pub := signer.Public().(ed25519.PublicKey)
		clk := newClock()
		tr := newTrail(t, db, Options{Signer: signer, Now: clk.Now})
		for i := range 10 {
			mustAppend(t, tr, sample(i, clk.Now().Add(time.Duration(i)*time.Hour)))
		}
		if _, err := tr.Purge(ctx, clk.Now().Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Moving the anchor forward to hide more deletions breaks its signature.
		mustExec(t, db, `DELETE FROM audit_records WHERE seq = 4`)
		mustExec(t, db, `UPDATE audit_checkpoints SET seq = 4, hash = $1 WHERE kind = 'anchor'`, "00"+strings.Repeat("1", 62))
		rep := mustVerify(t, db, pub)
		if rep.OK || rep.Problems[0].Kind != ProblemSignature {
			t.Fatalf("moved anchor accepted: %+v", rep)
		}
	})
}

func TestRunRetention(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		tr := newTrail(t, db, Options{Now: clk.Now})
		old := clk.Now().Add(-200 * 24 * time.Hour)
		mustAppend(t, tr, sample(1, old), sample(2, old.Add(time.Hour)), sample(3, clk.Now()))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); tr.RunRetention(ctx, time.Hour, 0) }()
		var left []Entry
		for range 500 { // bounded: the first purge runs at once
			var err error
			if left, err = tr.Search(context.Background(), Query{}); err != nil {
				t.Fatal(err)
			}
			if len(left) == 1 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if len(left) != 1 || left[0].RequestID != "req-0003" {
			t.Fatalf("after retention %d records left, want only req-0003", len(left))
		}
		wantOK(t, mustVerify(t, db))
	})
}

func TestForgetAndExportUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(t, db, Options{Keys: testKeyring(t, "a"), Retention: Retention{Clean: ModeHash, Flagged: ModeEncrypted}})
		for i := range 12 {
			mustAppend(t, tr, sample(i, time.Now())) // users u0…u3; i%3==0 flagged
		}
		before, err := tr.ExportUser(ctx, "t1", "u0") // records 0, 4, 8
		if err != nil {
			t.Fatal(err)
		}
		if len(before) != 3 {
			t.Fatalf("export user: %d records, want 3", len(before))
		}
		for _, e := range before {
			flagged := e.Input.Action != 0
			switch {
			case flagged && (e.Stored.Mode != ModeEncrypted || !strings.HasPrefix(e.Content.Prompt, "prompt secret")):
				t.Fatalf("%s: flagged record not decrypted: %+v %+v", e.RequestID, e.Stored, e.Content)
			case !flagged && (e.Stored.Mode != ModeHash || e.Content != Content{} || e.Stored.AnswerSHA256 == ""):
				t.Fatalf("%s: clean record: %+v %+v", e.RequestID, e.Stored, e.Content)
			}
		}
		n, err := tr.ForgetUser(ctx, "t1", "u0", "alice")
		if err != nil || n != 3 {
			t.Fatalf("forget: %d, %v; want 3", n, err)
		}
		rep := mustVerify(t, db)
		wantOK(t, rep)
		if rep.Erased != 3 {
			t.Fatalf("verify counted %d erased, want 3", rep.Erased)
		}
		after, err := tr.ExportUser(ctx, "t1", "u0")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range after {
			if e.Content != (Content{}) || e.Stored.PromptSHA256 != "" || e.Stored.ErasedAt.IsZero() || e.Stored.Digest == "" {
				t.Fatalf("%s after forget: %+v %+v", e.RequestID, e.Stored, e.Content)
			}
		}
		others, _ := tr.ExportUser(ctx, "t1", "u3") // record 3 flagged, 7, 11
		if others[0].Content.Prompt != "prompt secret 3" {
			t.Fatalf("another user's content was touched: %+v", others[0])
		}
		if _, err := tr.ForgetUser(ctx, "", "u0", "alice"); err == nil {
			t.Fatal("forget with no tenant: no error")
		}
	})
}

func TestKeyRotationOnTrail(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		first := newTrail(t, db, Options{Keys: testKeyring(t, "a")})
		r1 := sample(3, time.Now())
		r1.EndUser = "rot"
		mustAppend(t, first, r1)
		rotated := newTrail(t, db, Options{Keys: testKeyring(t, "a", "b")})
		r2 := sample(6, time.Now())
		r2.EndUser = "rot"
		mustAppend(t, rotated, r2)

		cases := []struct {
			name     string
			keys     *Keyring
			want     []string // decrypted prompts, "" where unreadable
			wantKeys []string
		}{
			{name: "both keys", keys: testKeyring(t, "a", "b"), want: []string{"prompt secret 3", "prompt secret 6"}, wantKeys: []string{"a", "b"}},
			{name: "old key retired", keys: testKeyring(t, "b"), want: []string{"", "prompt secret 6"}, wantKeys: []string{"a", "b"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tr := newTrail(t, db, Options{Keys: tc.keys})
				es, err := tr.ExportUser(ctx, "t1", "rot")
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range es {
					if e.Content.Prompt != tc.want[i] || e.Stored.KeyID != tc.wantKeys[i] {
						t.Fatalf("record %d: prompt %q key %q, want %q key %q", i, e.Content.Prompt, e.Stored.KeyID, tc.want[i], tc.wantKeys[i])
					}
				}
			})
		}
		// A different key under the same id is an error, not silence.
		wrong, err := ParseKeyring(strings.NewReader("a:" + b64([]byte("another key of thirty-two bytes!"))))
		if err != nil {
			t.Fatal(err)
		}
		tr := newTrail(t, db, Options{Keys: wrong})
		if _, err := tr.ExportUser(ctx, "t1", "rot"); err == nil || errors.Is(err, ErrUnknownKey) {
			t.Fatalf("export with a wrong key: %v, want an authentication error", err)
		}
	})
}
