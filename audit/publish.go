package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Publisher keeps a copy of every checkpoint outside the database, so
// that someone who can rewrite the database cannot also rewrite what the
// checkpoints said: `firebreak audit verify --checkpoints` checks the
// chain against such a copy.
type Publisher interface {
	Publish(ctx context.Context, c Checkpoint) error
}

// FilePublisher appends each checkpoint as one JSON line to a file
// (opened for appending only, synced before Publish returns). Point it
// at storage the database's writers cannot change: another disk, an
// append-only mount, a log shipper's input.
type FilePublisher struct {
	Path string
	mu   sync.Mutex
}

// Publish appends c to the file.
func (p *FilePublisher) Publish(_ context.Context, c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	return nil
}

// HTTPPublisher POSTs each checkpoint as JSON to URL, a system the
// operator runs apart from the database (a transparency log, a SIEM);
// any 2xx is success.
type HTTPPublisher struct {
	URL    string
	Client *http.Client // default: a client with a 10 s timeout
}

// Publish sends c.
func (p *HTTPPublisher) Publish(ctx context.Context, c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish checkpoint: %s answered %d", p.URL, resp.StatusCode)
	}
	return nil
}

// ReadCheckpoints reads checkpoints published as JSON lines (a
// FilePublisher's file, or what an HTTP receiver stored one per line).
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if c.Kind != KindCheckpoint && c.Kind != KindAnchor || c.Seq < 0 || c.Hash == "" {
			return nil, fmt.Errorf("line %d: not a checkpoint", line)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no checkpoint in the file")
	}
	return out, nil
}
