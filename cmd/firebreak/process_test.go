package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/syncbuf"
)

// proc is the real firebreak binary serving in a process of its own, so
// that what is measured of it (resident memory) or done to it (SIGKILL)
// is the process's alone.
type proc struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	key  string // the first start's API key, if this start printed one
	out  *syncbuf.Buffer
	done chan error
}

// sharedBinary builds the binary into the test's folder (removed with it).
func sharedBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startProc starts bin serve on a free loopback port with args and waits
// until it listens. The process is killed when the test ends.
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	listening := regexp.MustCompile(`Listening on (http://\S+)`)
	deadline := time.Now().Add(2 * time.Minute) // a bound: the default policy compiles at start
	for p.url == "" && time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(p.out.String()); m != nil {
			p.url = m[1]
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited: %v\n%s", err, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if p.url == "" {
		t.Fatalf("serve did not start:\n%s", p.out.String())
	}
	if m := regexp.MustCompile(`API key:\s+(\S+)`).FindStringSubmatch(p.out.String()); m != nil {
		p.key = m[1]
	}
	return p
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
	}
}

// statusKB reads one "Vm…" field of the process's /proc status, in KiB.
func (p *proc) statusKB(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc status", field)
	return 0
}

// resetPeak sets the process's peak resident size (VmHWM) to its current
// size, so the next reading is the peak of what follows.
func (p *proc) resetPeak(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak resident size: %v", err)
	}
}
