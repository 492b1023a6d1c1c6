package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func run(ctx context.Context, argv []string, program string, l Limits) (Result, error) {
	interp, err := interpreter(argv[0])
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "firebreak-sandbox-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "program")
	if err := os.WriteFile(file, []byte(program), 0o644); err != nil {
		return Result{}, err
	}
	// The shell sets the limits on itself, then becomes the interpreter.
	// The CPU soft limit sends SIGXCPU; the hard one, a second later, SIGKILL.
	cpu := int64((l.CPU + time.Second - 1) / time.Second)
	script := fmt.Sprintf("ulimit -S -t %d && ulimit -H -t %d && ulimit -v %d && ulimit -f %d && ulimit -n 64 && ulimit -p %d && exec \"$@\"",
		cpu, cpu+1, l.Memory/1024, max(1, l.Output/512), l.Procs)
	args := append([]string{"-c", script, "sandbox", interp}, argv[1:]...)
	args = append(args, file)
	ctx, cancel := context.WithTimeout(ctx, l.Wall)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8"}
	out := &capped{max: l.Output}
	cmd.Stdout, cmd.Stderr = out, out
	uid, gid := os.Getuid(), os.Getgid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:     true,
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err = cmd.Start()
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) {
			return Result{}, fmt.Errorf("%w: %v", ErrNoIsolation, err)
		}
		return Result{}, err
	}
	err = cmd.Wait()
	res := Result{Elapsed: time.Since(start), Output: out.String(), ExitCode: cmd.ProcessState.ExitCode()}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.Reason, res.ExitCode = "wall-clock limit", -1
	case err == nil:
		res.Passed, res.Reason = true, "ok"
	default:
		res.Reason = describe(cmd.ProcessState, l.CPU)
	}
	return res, nil
}

func describe(ps *os.ProcessState, cpu time.Duration) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch {
		case ws.Signal() == syscall.SIGXCPU, ws.Signal() == syscall.SIGKILL && ps.UserTime()+ps.SystemTime() >= cpu:
			return "CPU limit"
		case ws.Signal() == syscall.SIGXFSZ:
			return "file size limit"
		}
		return "killed by signal " + strings.ToLower(ws.Signal().String())
	}
	return fmt.Sprintf("exit status %d", ps.ExitCode())
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int64
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - int64(c.Len()); room > 0 {
		c.Buffer.Write(p[:min(int64(len(p)), room)])
	}
	return len(p), nil
}

// interpreter finds the interpreter in the system folders first: a PATH
// entry may be a wrapper (pyenv's shims) that needs the environment the
// sandbox takes away.
func interpreter(name string) (string, error) {
	for _, dir := range []string{"/usr/bin", "/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	return p, nil
}
