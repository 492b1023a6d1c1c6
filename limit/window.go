package limit

import "time"

const (
	// windowSpan is how many one-second buckets a window sums: the current
	// second and the 60 before it, so an event counts for 60 to 61 seconds.
	windowSpan = 61
	ringSize   = 64 // a power of two above windowSpan
	ringMask   = ringSize - 1
)

// window is a sliding sum over the last windowSpan seconds. The zero value
// is an empty window. It is not safe for concurrent use.
type window struct {
	head  int64 // newest second the ring has advanced to
	total int64 // sum of the buckets head-60 .. head
	ring  [ringSize]int64
}

// advance moves the window to second sec, expiring buckets that left it.
// A clock that steps back is treated as standing still.
func (w *window) advance(sec int64) {
	if sec <= w.head {
		return
	}
	if sec-w.head >= windowSpan {
		*w = window{head: sec}
		return
	}
	for s := w.head + 1; s <= sec; s++ {
		w.total -= w.ring[(s-windowSpan)&ringMask] // bucket s-61 leaves
		w.ring[(s-windowSpan)&ringMask] = 0
	}
	w.head = sec
}

// add records n at second sec (after advancing to it).
func (w *window) add(sec, n int64) {
	w.advance(sec)
	if sec < w.head-windowSpan+1 {
		return // already outside the window
	}
	w.ring[sec&ringMask] += n
	w.total += n
}

// admits reports whether one more unit fits under limit.
func (w *window) admits(limit int) bool { return w.total+1 <= int64(limit) }

// retryAfter is how long from now until the window sum drops enough that
// one more unit fits under limit: the oldest buckets leave one by one.
func (w *window) retryAfter(now time.Time, limit int) time.Duration {
	excess := w.total + 1 - int64(limit)
	var gone int64
	for s := w.head - windowSpan + 1; s <= w.head; s++ {
		gone += w.ring[s&ringMask]
		if gone >= excess {
			return roundUp(time.Unix(s+windowSpan, 0).Sub(now))
		}
	}
	return windowSpan * time.Second
}
