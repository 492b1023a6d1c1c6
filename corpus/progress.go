package corpus

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints one line now and then: the phase, the bytes of input
// done, the rate and the time left.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	total int64
	done_ int64
	seen  int64 // bytes done in this process (the rate)
	start time.Time
	last  time.Time
	sizes []int64
	name  string
}

func newProgress(w io.Writer, shards []Shard) *progress {
	p := &progress{w: w, start: time.Now(), name: "stages", sizes: make([]int64, len(shards))}
	for i, s := range shards {
		if st, err := os.Stat(s.Path); err == nil {
			p.sizes[i] = st.Size()
			p.total += st.Size()
		}
	}
	return p
}

func (p *progress) skip(shard int) {
	p.mu.Lock()
	p.done_ += p.sizes[shard]
	p.mu.Unlock()
}

func (p *progress) add(_ int, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done_ += n
	p.seen += n
	if p.w != nil && time.Since(p.last) >= time.Second {
		p.last = time.Now()
		p.print()
	}
}

func (p *progress) print() {
	el := time.Since(p.start).Seconds()
	rate := float64(p.seen) / 1e6 / max(el, 1e-9)
	pct := 100 * float64(p.done_) / float64(max(p.total, 1))
	eta := ""
	if rate > 0 {
		eta = fmt.Sprintf(", %s left", (time.Duration(float64(p.total-p.done_)/1e6/rate) * time.Second).Round(time.Second))
	}
	bar := make([]byte, 30)
	for i := range bar {
		bar[i] = '.'
		if float64(i) < pct*0.3 {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r%s [%s] %5.1f%% %s/%s, %.1f MB/s%s   ", p.name, bar, pct, mb(p.done_), mb(p.total), rate, eta)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func (p *progress) phase(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w != nil {
		p.print()
		fmt.Fprintf(p.w, "\n%s …\n", name)
	}
	p.name = name
}

func (p *progress) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w != nil {
		fmt.Fprintf(p.w, "\n%s\n", msg)
	}
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprintf(p.w, "done in %s\n", time.Since(p.start).Round(time.Millisecond))
	}
}
