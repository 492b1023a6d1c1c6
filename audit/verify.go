package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/firebreak/firebreak/store"
)

// Problem kinds reported by Verify.
const (
	ProblemChanged    = "changed"    // the record's fields no longer match its hash
	ProblemRemoved    = "removed"    // a record is missing: a gap, a broken link, or a truncated tail
	ProblemInserted   = "inserted"   // the record was not in the chain its successor was written after
	ProblemReordered  = "reordered"  // the record links to the one stored after it
	ProblemContent    = "content"    // the stored content does not match its digest
	ProblemCheckpoint = "checkpoint" // a checkpoint names a hash the record at its seq does not have
	ProblemSignature  = "signature"  // a checkpoint or anchor signature does not verify
	ProblemHead       = "head"       // the chain head row does not match the last record
	ProblemSequence   = "sequence"   // links are intact but sequence numbers were changed
	ProblemUnsigned   = "unsigned"   // records with no checkpoint between them span longer than the writer lets pass
	ProblemErased     = "erased"     // content marked erased on request with no erasure recorded after it
)

// MaxUnsignedSpan bounds the time over which records with no checkpoint
// between them were written (after the newest checkpoint that matches, or
// between two). The writer checkpoints the head every
// Options.CheckpointEvery (a minute by default) and at start and stop, so
// a longer stretch means checkpoints were deleted — what an attacker
// without the signing key must do to rewrite a record and recompute the
// hashes after it — or the writer could not write them for that long.
// Either is for the operator to look into.
const MaxUnsignedSpan = 10 * time.Minute

// maxProblems caps Report.Problems.
const maxProblems = 100

// Problem is one finding of Verify.
type Problem struct {
	Kind   string `json:"kind"`
	Seq    int64  `json:"seq"`          // the first bad record's sequence number
	ID     string `json:"id,omitempty"` // its id, when the record is present
	Detail string `json:"detail"`
}

// Report is the result of Verify. Problems are ordered by Seq; the first
// one names the first bad record.
type Report struct {
	OK                bool        `json:"ok"`
	Records           int64       `json:"records"`            // records walked
	FirstSeq          int64       `json:"first_seq"`          // 0 when no record
	LastSeq           int64       `json:"last_seq"`           // 0 when no record
	Head              int64       `json:"head"`               // the chain head's seq
	Anchor            *Checkpoint `json:"anchor,omitempty"`   // the purge anchor the walk started from
	Checkpoints       int         `json:"checkpoints"`        // checkpoints and anchors checked
	SignaturesChecked bool        `json:"signatures_checked"` // false when no public key was given
	Erased            int64       `json:"erased"`             // records whose content was erased on request
	// Unsigned counts the records after the newest checkpoint that
	// matches: no checkpoint vouches for them yet, and a rewrite of them
	// with their hashes recomputed cannot be told (see MaxUnsignedSpan).
	Unsigned  int64     `json:"unsigned"`
	Problems  []Problem `json:"problems,omitempty"`  // at most 100
	Truncated bool      `json:"truncated,omitempty"` // more problems than listed
}

// Verify walks the whole chain in one read snapshot: from the newest purge
// anchor (or the genesis hash), every record's hash must match its stored
// fields, link to the record before it, and the sequence must have no gap;
// stored content must match its digest unless it was erased; every
// checkpoint must match the record at its seq and, when public keys are
// given, carry a valid signature by one of them; the chain head must match
// the last record. With no key, signatures are not checked (see
// Report.SignaturesChecked).
func Verify(ctx context.Context, db *store.DB, pubs ...ed25519.PublicKey) (Report, error) {
	return VerifyPublished(ctx, db, nil, pubs...)
}

// VerifyPublished is Verify that also holds the chain to checkpoints
// published outside the database (Publisher; ReadCheckpoints): each must
// carry a valid signature when keys are given and match the record at
// its seq, so records rewritten together with the database's own
// checkpoints are still found. Published checkpoints of purged records
// are not checked.
func VerifyPublished(ctx context.Context, db *store.DB, published []Checkpoint, pubs ...ed25519.PublicKey) (Report, error) {
	var rep Report
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Dialect() == store.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.Read().BeginTx(ctx, opts)
	if err != nil {
		return rep, fmt.Errorf("verify: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	w, err := newWalker(ctx, tx, pubs, published)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	if err := w.walk(ctx, tx); err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	return w.report(), nil
}

// walker holds the state of one Verify walk.
type walker struct {
	rep       Report
	keys      map[string]ed25519.PublicKey
	cps       []Checkpoint // sorted by seq
	ci        int          // next checkpoint to match
	headSeq   int64
	headHash  string
	expPrev   string // the hash the next record must link to
	expSeq    int64  // the seq the next record must have
	afterPair string // after a reordered pair: what the record after the pair links to
	last      *row
	goodCkpt  int64 // seq of the last checkpoint that matched its record
	// seg is the first record after the last checkpoint that matched
	// (prevGood; nil when none yet); segAfter that checkpoint's seq when
	// seg began; segFrom and segTo bound when the segment's records were
	// written (a record's time is its request's start; it is written
	// TotalMs later).
	seg            *row
	prevGood       int64
	segAfter       int64
	segFrom, segTo int64
	// erased are the records whose content was erased; erasures the seq
	// of the last ActionErase per tenant and end user.
	erased   []*row
	erasures map[[2]string]int64
}

func newWalker(ctx context.Context, tx *sql.Tx, pubs []ed25519.PublicKey, published []Checkpoint) (*walker, error) {
	w := &walker{keys: map[string]ed25519.PublicKey{}, expPrev: genesisHash, expSeq: 1, erasures: map[[2]string]int64{}}
	for _, p := range pubs {
		w.keys[PublicKeyID(p)] = p
	}
	w.rep.SignaturesChecked = len(pubs) > 0
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_chain WHERE id = 1`).Scan(&w.headSeq, &w.headHash)
	if err != nil {
		return nil, fmt.Errorf("read chain head: %w", err)
	}
	if w.cps, err = loadCheckpoints(ctx, tx); err != nil {
		return nil, err
	}
	for i := range w.cps {
		c := &w.cps[i]
		if w.rep.SignaturesChecked {
			if err := c.verify(w.keys); err != nil {
				w.problem(ProblemSignature, c.Seq, "", fmt.Sprintf("%s at seq %d: %v", c.Kind, c.Seq, err))
			}
		}
		if c.Kind == KindAnchor && (w.rep.Anchor == nil || c.Seq > w.rep.Anchor.Seq) {
			w.rep.Anchor = c
		}
	}
	if a := w.rep.Anchor; a != nil {
		w.expPrev, w.expSeq, w.goodCkpt, w.prevGood = a.Hash, a.Seq+1, a.Seq, a.Seq
	}
	for _, c := range published {
		if w.rep.SignaturesChecked {
			if err := c.verify(w.keys); err != nil {
				w.problem(ProblemSignature, c.Seq, "", fmt.Sprintf("published %s at seq %d: %v", c.Kind, c.Seq, err))
			}
		}
		c.Kind = "published " + c.Kind // for the problems' text; only the database's anchors start the walk
		w.cps = append(w.cps, c)
	}
	sort.SliceStable(w.cps, func(i, j int) bool { return w.cps[i].Seq < w.cps[j].Seq })
	w.rep.Checkpoints = len(w.cps)
	return w, nil
}

func loadCheckpoints(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]Checkpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, seq, hash, time_ms, key_id, signature
		FROM audit_checkpoints ORDER BY seq, kind`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		var ms int64
		if err := rows.Scan(&c.Kind, &c.Seq, &c.Hash, &ms, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		c.Time = time.UnixMilli(ms).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return out, nil
}

// walk streams the records after the anchor in seq order, judging each one
// with the next one in view.
func (w *walker) walk(ctx context.Context, tx *sql.Tx) error {
	start := w.expSeq - 1
	rows, err := tx.QueryContext(ctx, `SELECT `+rowColumns+` FROM audit_records WHERE seq > $1 ORDER BY seq`, start)
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	var cur *row
	for rows.Next() {
		next, err := scanRow(rows)
		if err != nil {
			return err
		}
		if cur != nil {
			w.step(cur, next)
		}
		cur = next
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	if cur != nil {
		w.step(cur, nil)
	}
	w.finish()
	return nil
}

// step judges r, given the record stored after it (nil at the end).
func (w *walker) step(r, next *row) {
	w.rep.Records++
	if w.rep.FirstSeq == 0 {
		w.rep.FirstSeq = r.seq
	}
	w.rep.LastSeq, w.last = r.seq, r
	defer w.checkContent(r)
	defer w.matchCheckpoints(r)
	exp, expSeq := w.expPrev, w.expSeq
	w.expPrev, w.expSeq = r.hash, r.seq+1
	if w.afterPair != "" {
		// r closes a reordered pair: the record after the pair links to
		// the pair's first record.
		defer func() { w.expPrev, w.afterPair = w.afterPair, "" }()
	}
	self := chainHash(r.prevHash, r.canonical()) == r.hash
	switch {
	case next != nil && r.prevHash == next.hash:
		w.problem(ProblemReordered, r.seq, r.id, "links to the record stored after it")
		w.expPrev, w.afterPair = exp, r.hash
	case next != nil && next.prevHash == exp:
		w.problem(ProblemInserted, r.seq, r.id, "the next record was chained directly after the one before this")
		w.expPrev = exp
	case !self:
		w.problem(ProblemChanged, r.seq, r.id, "stored fields do not match the record hash")
	case r.prevHash == exp && r.seq != expSeq:
		w.problem(ProblemSequence, r.seq, r.id, fmt.Sprintf("links correctly but has seq %d, want %d", r.seq, expSeq))
	case r.prevHash == exp:
		// Linked as written.
	case r.seq > expSeq:
		w.problem(ProblemRemoved, expSeq, "", fmt.Sprintf("records %d to %d are missing", expSeq, r.seq-1))
	default:
		w.problem(ProblemRemoved, r.seq, r.id,
			"does not link to the record before it: records were removed and renumbered, or the one before was rewritten")
	}
}

// matchCheckpoints compares r with the checkpoints at its seq, and reports
// checkpoints whose record is missing.
func (w *walker) matchCheckpoints(r *row) {
	for ; w.ci < len(w.cps) && w.cps[w.ci].Seq <= r.seq; w.ci++ {
		c := w.cps[w.ci]
		switch {
		case c.Seq == r.seq && c.Hash != r.hash:
			w.problem(ProblemCheckpoint, r.seq, r.id, fmt.Sprintf(
				"the %s of %s names another hash: a record after seq %d, the last checkpoint that matches, was rewritten",
				c.Kind, c.Time.Format(time.RFC3339), w.goodCkpt))
		case c.Seq == r.seq:
			w.goodCkpt = c.Seq
		case c.Seq < r.seq && c.Seq >= w.rep.FirstSeq:
			w.problem(ProblemRemoved, c.Seq, "", fmt.Sprintf("the %s of %s names a missing record", c.Kind, c.Time.Format(time.RFC3339)))
		}
	}
	written := r.timeMs + max(r.totalMs, 0)
	if w.seg == nil {
		w.seg, w.segAfter, w.segFrom, w.segTo = r, w.prevGood, written, written
	} else {
		w.segFrom, w.segTo = min(w.segFrom, written), max(w.segTo, written)
	}
	if w.goodCkpt >= r.seq { // a checkpoint covers r: its segment is closed
		w.checkSegment(r, false)
		w.seg, w.prevGood = nil, w.goodCkpt
	}
}

// checkSegment reports records between two checkpoints, or after the last
// one (tail), written over more than MaxUnsignedSpan: the writer
// checkpoints every minute, so checkpoints between them were deleted.
// Without that check a rewrite with the hashes recomputed, its later
// checkpoints deleted, would be signed by the writer's next checkpoint
// and verify as intact.
func (w *walker) checkSegment(last *row, tail bool) {
	from, to := time.UnixMilli(w.segFrom).UTC(), time.UnixMilli(w.segTo).UTC()
	if to.Sub(from) <= MaxUnsignedSpan {
		return
	}
	where := fmt.Sprintf("lie between the checkpoints of seq %d and %d", w.segAfter, last.seq)
	if tail {
		where = fmt.Sprintf("are covered by no checkpoint after seq %d", w.segAfter)
	}
	w.problem(ProblemUnsigned, w.seg.seq, w.seg.id, fmt.Sprintf(
		"records %d to %d, written from %s to %s, %s: checkpoints were deleted (a rewrite with the hashes recomputed), or none could be written for longer than %s",
		w.seg.seq, last.seq, from.Format(time.RFC3339), to.Format(time.RFC3339), where, MaxUnsignedSpan))
}

// checkTail reports the records after the last checkpoint that matches.
func (w *walker) checkTail() {
	if w.seg == nil {
		return
	}
	w.rep.Unsigned = w.last.seq - w.seg.seq + 1
	w.checkSegment(w.last, true)
}

// checkContent checks stored content against the digest the hash covers,
// and notes erased content and the erasures recorded.
func (w *walker) checkContent(r *row) {
	if r.route == RouteStaff && r.model == ActionErase && r.outcome == OutcomeOK {
		w.erasures[[2]string{r.tenantID, r.upstream}] = r.seq
	}
	switch {
	case r.content != "":
		if sha256Hex(r.content) != r.digest {
			w.problem(ProblemContent, r.seq, r.id, "stored content does not match its digest")
		}
	case r.erasedAt.Valid:
		w.rep.Erased++
		w.erased = append(w.erased, r)
	case r.digest != "":
		w.problem(ProblemContent, r.seq, r.id, "content is missing but was not erased on request")
	}
}

// finish checks what lies after the last record: checkpoints and the head.
func (w *walker) finish() {
	lastSeq, lastHash := int64(0), genesisHash
	if a := w.rep.Anchor; a != nil {
		lastSeq, lastHash = a.Seq, a.Hash
	}
	if w.last != nil {
		lastSeq, lastHash = w.last.seq, w.last.hash
	}
	for ; w.ci < len(w.cps); w.ci++ {
		if c := w.cps[w.ci]; c.Seq > lastSeq {
			w.problem(ProblemRemoved, lastSeq+1, "",
				fmt.Sprintf("the %s of %s names seq %d, after the last record", c.Kind, c.Time.Format(time.RFC3339), c.Seq))
			break
		}
	}
	w.checkTail()
	for _, r := range w.erased {
		if w.erasures[[2]string{r.tenantID, r.endUser}] < r.seq {
			w.problem(ProblemErased, r.seq, r.id, "content is marked erased on request, but no erasure of this end user is recorded after it")
		}
	}
	w.rep.Head = w.headSeq
	switch {
	case w.headSeq > lastSeq:
		w.problem(ProblemRemoved, lastSeq+1, "", fmt.Sprintf("the chain head is at seq %d, the last record is %d", w.headSeq, lastSeq))
	case w.headSeq < lastSeq || w.headHash != lastHash:
		w.problem(ProblemHead, w.headSeq, "", "the chain head does not match the last record")
	}
}

func (w *walker) problem(kind string, seq int64, id, detail string) {
	if len(w.rep.Problems) >= maxProblems {
		w.rep.Truncated = true
		return
	}
	w.rep.Problems = append(w.rep.Problems, Problem{Kind: kind, Seq: seq, ID: id, Detail: detail})
}

func (w *walker) report() Report {
	sort.SliceStable(w.rep.Problems, func(i, j int) bool { return w.rep.Problems[i].Seq < w.rep.Problems[j].Seq })
	w.rep.OK = len(w.rep.Problems) == 0
	return w.rep
}
