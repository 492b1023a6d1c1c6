package limit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Each subject has three keys sharing one hash tag, so a Redis Cluster
// keeps them on one node: <prefix>{<name>}:r (RPM buckets, a hash of unix
// second → count), :t (TPM buckets, second → tokens) and :c (slots, a
// sorted set of slot id → expiry in unix ms).
//
// acquireScript checks every subject, then, only if all pass, records the
// request and takes the slots. ARGV: now_ms, slot_ttl_ms, slot_id, then
// rpm, tpm, concurrent per subject. It returns {0}, or {kind, subject
// (1-based), retry_ms} where kind is 1 rpm, 2 concurrent, 3 tpm.
var acquireScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local sec = math.floor(now / 1000)
local ttl = tonumber(ARGV[2])
local id = ARGV[3]
local span = 61

local function retry(buckets, total, limit)
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local excess, gone = total + 1 - limit, 0
  for _, b in ipairs(buckets) do
    gone = gone + b[2]
    if gone >= excess then return (b[1] + span) * 1000 - now end
  end
  return span * 1000
end

-- over returns nil when one more unit fits under limit, else the retry.
local function over(key, limit)
  local h = redis.call('HGETALL', key)
  local total, buckets, stale = 0, {}, {}
  for i = 1, #h, 2 do
    local s, n = tonumber(h[i]), tonumber(h[i + 1])
    if s <= sec - span then
      stale[#stale + 1] = h[i]
    else
      total = total + n
      buckets[#buckets + 1] = {s, n}
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  if total + 1 <= limit then return nil end
  return retry(buckets, total, limit)
end

local n = #KEYS / 3
for i = 1, n do
  local rpm, tpm, conc = tonumber(ARGV[3*i+1]), tonumber(ARGV[3*i+2]), tonumber(ARGV[3*i+3])
  if rpm > 0 then
    local w = over(KEYS[3*i-2], rpm)
    if w then return {1, i, w} end
  end
  if tpm > 0 then
    local w = over(KEYS[3*i-1], tpm)
    if w then return {3, i, w} end
  end
  if conc > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3*i], '-inf', now)
    if redis.call('ZCARD', KEYS[3*i]) >= conc then return {2, i, 1000} end
  end
end
for i = 1, n do
  if tonumber(ARGV[3*i+1]) > 0 then
    redis.call('HINCRBY', KEYS[3*i-2], sec, 1)
    redis.call('PEXPIRE', KEYS[3*i-2], (span + 1) * 1000)
  end
  if tonumber(ARGV[3*i+3]) > 0 then
    redis.call('ZADD', KEYS[3*i], now + ttl, id)
    redis.call('PEXPIRE', KEYS[3*i], ttl)
  end
end
return {0}
`)

// releaseScript ends a ticket. ARGV: now_ms, slot_id, then per subject:
// tokens for TPM (0 = none), "1" to free the slot, and the second whose RPM
// count to take back (0 = none, used when undoing a partial acquire).
var releaseScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local sec = math.floor(now / 1000)
local id = ARGV[2]
for i = 1, #KEYS / 3 do
  local tokens, slot, undo = tonumber(ARGV[3*i]), ARGV[3*i+1], tonumber(ARGV[3*i+2])
  if slot == '1' then redis.call('ZREM', KEYS[3*i], id) end
  if tokens > 0 then
    redis.call('HINCRBY', KEYS[3*i-1], sec, tokens)
    redis.call('PEXPIRE', KEYS[3*i-1], 62000)
  end
  if undo > 0 then redis.call('HINCRBY', KEYS[3*i-2], undo, -1) end
end
return 0
`)

// ErrBackoff is the backend error reported while Redis is skipped after a
// failure (see Options.Backoff).
var ErrBackoff = errors.New("redis skipped after a recent failure")

type redisBackend struct {
	c       redis.UniversalClient
	prefix  string
	replica string // makes slot ids unique across replicas
	// perSubject runs one script per subject, because a cluster cannot run
	// one script over keys on different nodes; a refusal then undoes the
	// subjects admitted before it.
	perSubject bool
}

func newRedisBackend(c redis.UniversalClient, prefix, replica string) *redisBackend {
	_, cluster := c.(*redis.ClusterClient)
	return &redisBackend{c: c, prefix: prefix, replica: replica, perSubject: cluster}
}

func (b *redisBackend) appendKeys(dst []string, name string) []string {
	base := b.prefix + "{" + name + "}:"
	return append(dst, base+"r", base+"t", base+"c")
}

// redisAdmit runs the acquire script for the ticket's windowed subjects.
// On a backend failure it fails open (nil error, nothing held) or closed.
func (l *Limiter) redisAdmit(ctx context.Context, t *Ticket) error {
	b := l.redis
	hs := t.holds()
	t.id = l.slotSeq.Add(1)
	id := b.replica + ":" + strconv.FormatUint(t.id, 10)
	var keys []string
	args := []any{t.at.UnixMilli(), l.opts.SlotTTL.Milliseconds(), id}
	var idx []int // position in hs of each scripted subject
	for i, h := range hs {
		if h.Limits.windowed() {
			keys = b.appendKeys(keys, h.Name)
			args = append(args, h.Limits.RPM, h.Limits.TPM, h.Limits.Concurrent)
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	if time.Now().UnixNano() < l.downTil.Load() {
		return l.backendFailed("acquire", ErrBackoff)
	}
	rctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	res, err := l.runAcquire(rctx, keys, args)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("acquire limits: %w", ctx.Err())
		}
		l.downTil.Store(time.Now().Add(l.opts.Backoff).UnixNano())
		return l.backendFailed("acquire", err)
	}
	if res[0] != 0 {
		i := idx[res[1]-1]
		return l.refuse(Kind(res[0]), hs[i].Subject, roundUp(time.Duration(res[2])*time.Millisecond))
	}
	t.redisSlot = id
	return nil
}

// runAcquire runs the acquire script once, or once per subject on a
// cluster, undoing earlier subjects when a later one refuses or fails.
func (l *Limiter) runAcquire(ctx context.Context, keys []string, args []any) ([]int64, error) {
	b := l.redis
	if !b.perSubject {
		return acquireScript.Run(ctx, b.c, keys, args...).Int64Slice()
	}
	for i := 0; i < len(keys)/3; i++ {
		one := append(args[:3:3], args[3+3*i:6+3*i]...)
		res, err := acquireScript.Run(ctx, b.c, keys[3*i:3*i+3], one...).Int64Slice()
		if err == nil && res[0] != 0 {
			res[1] = int64(i + 1)
		}
		if err != nil || res[0] != 0 {
			if i > 0 {
				l.undoAcquire(keys[:3*i], args)
			}
			return res, err
		}
	}
	return []int64{0}, nil
}

// undoAcquire gives back the RPM count and slot taken for the subjects of
// keys, after a later subject refused on a cluster.
func (l *Limiter) undoAcquire(keys []string, args []any) {
	now := args[0].(int64)
	rel := []any{now, args[2]}
	for i := 0; i < len(keys)/3; i++ {
		rpm, conc := args[3+3*i].(int), args[5+3*i].(int)
		slot, undo := "0", int64(0)
		if conc > 0 {
			slot = "1"
		}
		if rpm > 0 {
			undo = now / 1000
		}
		rel = append(rel, 0, slot, undo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
	defer cancel()
	if err := l.runRelease(ctx, keys, rel); err != nil {
		_ = l.backendFailed("undo acquire", err)
	}
}

// redisRelease frees the ticket's slots and records its tokens in Redis.
func (l *Limiter) redisRelease(t *Ticket, tokens int64, now time.Time) {
	var keys []string
	args := []any{now.UnixMilli(), t.redisSlot}
	work := false
	for _, h := range t.holds() {
		if !h.Limits.windowed() {
			continue
		}
		keys = l.redis.appendKeys(keys, h.Name)
		tpm, slot := int64(0), "0"
		if h.Limits.TPM > 0 {
			tpm = tokens
		}
		if h.Limits.Concurrent > 0 {
			slot = "1"
		}
		args = append(args, tpm, slot, 0)
		work = work || tpm > 0 || slot == "1"
	}
	if !work {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
	defer cancel()
	if err := l.runRelease(ctx, keys, args); err != nil {
		_ = l.backendFailed("release", err)
	}
}

func (l *Limiter) runRelease(ctx context.Context, keys []string, args []any) error {
	b := l.redis
	if !b.perSubject {
		return releaseScript.Run(ctx, b.c, keys, args...).Err()
	}
	var errs []error
	for i := 0; i < len(keys)/3; i++ {
		one := append(args[:2:2], args[2+3*i:5+3*i]...)
		errs = append(errs, releaseScript.Run(ctx, b.c, keys[3*i:3*i+3], one...).Err())
	}
	return errors.Join(errs...)
}

// roundUp rounds d up to whole seconds, at least one.
func roundUp(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return max(d, time.Second)
}
