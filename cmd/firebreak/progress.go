package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/firebreak/firebreak/eval"
)

// newProgress returns the run's progress display: a bar with rate and
// ETA on a terminal, plain lines every few seconds otherwise.
func newProgress(mode string, w io.Writer) eval.Progress {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		return &barProgress{w: w}
	case "lines":
		return &lineProgress{w: w, every: 5 * time.Second}
	}
	return nil
}

type barProgress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	mu   sync.Mutex
	errs int
}

func (p *barProgress) Start(total, done int) {
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("eval"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("items"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
	_ = p.bar.Set(done)
}

func (p *barProgress) Done(errored bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if errored {
		p.errs++
		p.bar.Describe(fmt.Sprintf("eval (%d errors)", p.errs))
	}
	_ = p.bar.Add(1)
}

func (p *barProgress) Finish() { _ = p.bar.Exit() }

// lineProgress writes a line every few seconds: for logs and CI.
type lineProgress struct {
	w                 io.Writer
	every             time.Duration
	mu                sync.Mutex
	total, done, errs int
	start, last       time.Time
	startDone         int
}

func (p *lineProgress) Start(total, done int) {
	p.total, p.done, p.startDone = total, done, done
	p.start, p.last = time.Now(), time.Now()
	fmt.Fprintf(p.w, "eval: %d items, %d already done\n", total, done)
}

func (p *lineProgress) Done(errored bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if errored {
		p.errs++
	}
	if time.Since(p.last) >= p.every {
		p.last = time.Now()
		p.line()
	}
}

func (p *lineProgress) line() {
	el := time.Since(p.start)
	rate := float64(p.done-p.startDone) / el.Seconds()
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "eval: %d/%d done, %d errors, %.1f items/s, eta %s\n", p.done, p.total, p.errs, rate, eta)
}

func (p *lineProgress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line()
}
