package eval

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/eval/target"
)

// Cache keeps targets' answers, keyed by the target (URL, model,
// parameters, a hash of the key) and the conversation, in one
// append-only file: a rerun, a resumed run or a run of another bank with
// the same items asks nothing twice. Only successful answers are kept.
// The index (key → offset) is in memory; answers are read from the file
// when asked for.
type Cache struct {
	mu    sync.Mutex
	f     *os.File
	size  int64
	index map[string]span
}

type span struct{ off, n int64 }

type cacheLine struct {
	Key      string           `json:"k"`
	Response *target.Response `json:"r"`
}

// OpenCache opens (creating) the cache in dir.
func OpenCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "responses.jsonl"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	c := &Cache{f: f, index: map[string]span{}}
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			break // a torn last line is cut below
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		var l struct {
			Key string `json:"k"`
		}
		if json.Unmarshal(b, &l) == nil && l.Key != "" {
			c.index[l.Key] = span{c.size, int64(len(b))}
		}
		c.size += int64(len(b))
	}
	if err := f.Truncate(c.size); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the cache file.
func (c *Cache) Close() error { return c.f.Close() }

// Len returns the number of answers held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}

// CacheKey is the key of a conversation sent to a target.
func CacheKey(targetID string, msgs []bank.Message) string {
	b, _ := json.Marshal(struct {
		T string         `json:"t"`
		M []bank.Message `json:"m"`
	}{targetID, msgs})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Get returns the cached answer for key.
func (c *Cache) Get(key string) (*target.Response, bool) {
	c.mu.Lock()
	s, ok := c.index[key]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	b := make([]byte, s.n)
	if _, err := c.f.ReadAt(b, s.off); err != nil {
		return nil, false
	}
	var l cacheLine
	if err := json.Unmarshal(bytes.TrimSpace(b), &l); err != nil || l.Key != key || l.Response == nil {
		return nil, false
	}
	return l.Response, true
}

// Put stores an answer.
func (c *Cache) Put(key string, r *target.Response) error {
	b, err := json.Marshal(cacheLine{Key: key, Response: r})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.index[key]; ok {
		return nil
	}
	if _, err := c.f.WriteAt(b, c.size); err != nil {
		return err
	}
	c.index[key] = span{c.size, int64(len(b))}
	c.size += int64(len(b))
	return nil
}

// Cached wraps a chat target with the cache (the judge's, for one).
type Cached struct {
	Target interface {
		grade.Chatter
		Identity() string
	}
	Cache *Cache // nil: no caching
}

// Chat implements grade.Chatter.
func (c Cached) Chat(ctx context.Context, msgs []bank.Message, user string) (*target.Response, error) {
	if c.Cache == nil {
		return c.Target.Chat(ctx, msgs, user)
	}
	key := CacheKey(c.Target.Identity(), msgs)
	if r, ok := c.Cache.Get(key); ok {
		return r, nil
	}
	r, err := c.Target.Chat(ctx, msgs, user)
	if err != nil {
		return nil, err
	}
	return r, c.Cache.Put(key, r)
}
