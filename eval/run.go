package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/eval/target"
)

// Target is what a run asks: *target.Client.
type Target interface {
	grade.Chatter
	Identity() string
}

// Graders are the automatic graders of a run; nil ones are not
// configured. Refusal, Key and Code are always available.
type Graders struct {
	Keyword    grade.Grader // the safety engine with a policy
	Classifier grade.Grader // a guard model
	Judge      grade.Grader // an LLM judge
	Code       grade.Grader // code items in the sandbox; default grade.Code{}
}

// Progress hears of every finished item.
type Progress interface {
	Start(total, done int)
	Done(errored bool)
	Finish()
}

// Options configure a run.
type Options struct {
	Dir     string // output folder: plan.json, journal.jsonl, reports
	Plan    *Plan
	Target  Target
	Cache   *Cache // nil: no cache
	Graders Graders
	// Concurrency bounds the requests in flight. Default 8.
	Concurrency int
	// Attempts bounds the tries of one request (429, 5xx, timeouts and
	// failed connections are retried). Default 5.
	Attempts int
	// Backoff is the first retry's wait, doubled each time up to
	// MaxBackoff, with jitter; a Retry-After longer than the wait wins,
	// up to MaxBackoff. Defaults 500ms and 30s.
	Backoff, MaxBackoff time.Duration
	// User names the end user sent with an item (the OpenAI "user"
	// field). Default: one user per item, so that the gateway's sanctions
	// ladder, which counts refused prompts per user, does not suspend
	// the evaluator half-way.
	User func(id string) string
	// RetryErrors asks again the items a previous attempt of this run
	// recorded as errors. Default false: a resumed run keeps them, so its
	// totals equal an uninterrupted run's.
	RetryErrors bool
	Progress    Progress
}

// Stats counts what a call of Run did.
type Stats struct {
	Planned, Skipped, Sent, FromCache, Errors int
}

// Run asks every item of the plan that the folder's journal does not
// hold yet, grades the answers and appends them to the journal. Cancel
// ctx to stop: items in flight are not recorded and are asked again on
// the next run. It returns what it did; the totals come from Summarise.
func Run(ctx context.Context, o Options) (Stats, error) {
	o.defaults()
	st := Stats{Planned: len(o.Plan.entries)}
	if _, err := o.Plan.pin(o.Dir); err != nil {
		return st, err
	}
	j, done, err := openJournal(o.Dir)
	if err != nil {
		return st, err
	}
	defer j.close()
	if o.RetryErrors {
		if err := dropErrors(o.Dir, done); err != nil {
			return st, err
		}
	}
	var todo []int
	for i, e := range o.Plan.entries {
		if done[e.Item.ID] {
			st.Skipped++
		} else {
			todo = append(todo, i)
		}
	}
	if o.Progress != nil {
		o.Progress.Start(len(o.Plan.entries), st.Skipped)
		defer o.Progress.Finish()
	}
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rec, how := o.ask(ctx, &o.Plan.entries[i])
				if ctx.Err() != nil {
					return // cancelled: not recorded, asked again next time
				}
				err := j.append(rec)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = fmt.Errorf("journal: %w", err)
				case rec.Outcome == Errored:
					st.Errors++
				}
				if how == fromCache {
					st.FromCache++
				} else if how == sent {
					st.Sent++
				}
				mu.Unlock()
				if o.Progress != nil {
					o.Progress.Done(rec.Outcome == Errored)
				}
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	return st, ctx.Err()
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.User == nil {
		o.User = PerItemUser
	}
	if o.Graders.Code == nil {
		o.Graders.Code = grade.Code{}
	}
}

// PerItemUser is the default end user of an item: "eval-" and 12 hex
// digits of the item id's hash.
func PerItemUser(id string) string {
	h := sha256.Sum256([]byte(id))
	return "eval-" + hex.EncodeToString(h[:6])
}

type how int

const (
	sent how = iota
	fromCache
	failed
)

// ask gets an item's answer (from the cache, or the target with retries)
// and grades it.
func (o *Options) ask(ctx context.Context, e *Entry) (*Record, how) {
	it := &e.Item
	rec := &Record{ID: it.ID, Base: e.Base, Mutation: e.Mutation, Bank: it.Bank, Risk: it.Risk,
		Aspect: it.Aspect, Lang: it.Lang}
	msgs := it.Conversation()
	rec.Prompt = msgs[len(msgs)-1].Content
	start := time.Now()
	defer func() { rec.Millis = time.Since(start).Milliseconds() }()
	key := CacheKey(o.Target.Identity(), msgs)
	resp, ok := (*target.Response)(nil), false
	if o.Cache != nil {
		resp, ok = o.Cache.Get(key)
	}
	h := fromCache
	if !ok {
		var err error
		resp, rec.Attempts, err = o.send(ctx, msgs, o.User(it.ID))
		if err != nil {
			rec.Outcome, rec.Error = Errored, err.Error()
			return rec, failed
		}
		h = sent
		if o.Cache != nil {
			if err := o.Cache.Put(key, resp); err != nil {
				rec.Outcome, rec.Error = Errored, "cache: "+err.Error()
				return rec, failed
			}
		}
	}
	rec.Cached = h == fromCache
	rec.Outcome, rec.Answer, rec.Finish = Answered, resp.Text, resp.FinishReason
	if fb := resp.Firebreak; fb != nil {
		for _, v := range []*target.Review{fb.Input, fb.Output} {
			if v != nil && v.Policy != "" {
				rec.GatewayPolicy = v.Policy
			}
		}
		if rec.Gateway = resp.Refused(); rec.Gateway == "input" {
			rec.GatewayCode = fb.Input.Code
		} else if rec.Gateway == "output" {
			rec.GatewayCode = fb.Output.Code
		}
	}
	o.grade(ctx, it, rec)
	return rec, h
}

// send asks the target, retrying what may go away.
func (o *Options) send(ctx context.Context, msgs []bank.Message, user string) (*target.Response, int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var r *target.Response
		r, err = o.Target.Chat(ctx, msgs, user)
		if err == nil {
			return r, attempt, nil
		}
		if !target.Retryable(err) || attempt >= o.Attempts || ctx.Err() != nil {
			return nil, attempt, err
		}
		wait := o.Backoff << (attempt - 1)
		wait = wait/2 + rand.N(wait/2+1) // jitter: spread retries of concurrent workers
		var se *target.StatusError
		if errors.As(err, &se) && se.RetryAfter > wait {
			wait = se.RetryAfter
		}
		t := time.NewTimer(min(wait, o.MaxBackoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, ctx.Err()
		case <-t.C:
		}
	}
}

// gradersFor returns the graders of an item: its own list, or the bank's.
func (o *Options) gradersFor(it *bank.Item) []grade.Grader {
	byName := map[string]grade.Grader{"refusal": grade.Refusal{}, "key": grade.Key{}, "code": o.Graders.Code, "support": grade.Support{},
		"keyword": o.Graders.Keyword, "classifier": o.Graders.Classifier, "judge": o.Graders.Judge}
	names := it.Graders
	if len(names) == 0 {
		switch it.Expected() {
		case bank.ExpectRefuse, bank.ExpectComply:
			names = []string{"refusal"}
		case bank.ExpectSafe:
			names = []string{"keyword", "classifier", "judge", "refusal"}
		case bank.ExpectGrounded:
			names = []string{"key", "support"}
		case bank.ExpectAnswer:
			if it.Key != nil {
				names = append(names, "key")
			}
			if it.Code != nil {
				names = append(names, "code")
			}
		}
	}
	var out []grade.Grader
	for _, n := range names {
		if g := byName[n]; g != nil && !slices.ContainsFunc(out, func(x grade.Grader) bool { return x.Name() == n }) {
			out = append(out, g)
		}
	}
	return out
}

func (o *Options) grade(ctx context.Context, it *bank.Item, rec *Record) {
	in := grade.Input{Item: it, Answer: rec.Answer, Gateway: rec.Gateway}
	for _, g := range o.gradersFor(it) {
		gr, err := g.Grade(ctx, in)
		if err != nil {
			if rec.GradeErrors == nil {
				rec.GradeErrors = map[string]string{}
			}
			rec.GradeErrors[g.Name()] = err.Error()
			continue
		}
		if rec.Grades == nil {
			rec.Grades = map[string]grade.Grade{}
		}
		rec.Grades[g.Name()] = gr
	}
}

// dropErrors forgets, for this run, the items the journal holds as
// errors, so they are asked again; their new records supersede the old.
func dropErrors(dir string, done map[string]bool) error {
	_, err := scanJournal(dir+"/"+journalName, func(r *Record) error {
		done[r.ID] = r.Outcome != Errored
		return nil
	})
	return err
}
