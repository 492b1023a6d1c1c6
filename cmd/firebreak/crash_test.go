package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak/firebreak/audit"
)

// TestAuditCrashRecovery kills the real binary with SIGKILL while four
// clients keep it busy, then starts it again on the same data folder:
// every answer a client received in full has its record, the chain
// verifies against the checkpoints published to audit.checkpoint_file,
// and the checkpoint signed at the restart covers the records the crash
// left unsigned (the periodic one had not yet run).
func TestAuditCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := sharedBinary(t)
	data := t.TempDir()
	published := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	cfg := upstreamConfig(t, "audit:\n  checkpoint_file: "+published+"\n")
	p := startProc(t, bin, "--data", data, "--config", cfg)

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", p.url+"/v1/chat/completions",
					strings.NewReader(`{"model":"general","messages":[{"role":"user","content":"hello"}]}`))
				req.Header.Set("Authorization", "Bearer "+p.key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue // the server is gone
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 && bytes.Contains(body, []byte("Hello there.")) {
					mu.Lock()
					acked = append(acked, resp.Header.Get("X-Request-Id"))
					n := len(acked)
					mu.Unlock()
					if n == 120 {
						p.kill() // SIGKILL with requests in flight
					}
				}
			}
		}()
	}
	<-p.done
	close(stop)
	wg.Wait()
	if _, err := os.Stat(published); err == nil {
		before, _ := os.ReadFile(published)
		t.Logf("checkpoints published before the crash:\n%s", before)
	}

	restarted := startProc(t, bin, "--data", data, "--config", cfg)
	restarted.kill()

	f, err := os.Open(published)
	if err != nil {
		t.Fatalf("no checkpoint published after the restart: %v", err)
	}
	cps, err := audit.ReadCheckpoints(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	recovery := cps[len(cps)-1]

	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--data", data, "--checkpoints", published}, &out, io.Discard); err != nil {
		t.Fatalf("audit verify after the crash: %v\n%s", err, out.String())
	}
	var rep audit.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Head != recovery.Seq || recovery.Signature == "" {
		t.Errorf("chain head %d, recovery checkpoint %+v: want a signed checkpoint at the head", rep.Head, recovery)
	}
	if len(cps) > 1 && cps[len(cps)-2].Seq >= recovery.Seq {
		t.Errorf("checkpoints %+v: the last one before the restart already covered the tail", cps)
	}

	out.Reset()
	if err := run(context.Background(), []string{"audit", "export", "--data", data}, &out, io.Discard); err != nil {
		t.Fatalf("audit export: %v", err)
	}
	records := out.String()
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, id := range acked {
		if !strings.Contains(records, `"request_id":"`+id+`"`) {
			missing++
		}
	}
	t.Logf("%d answers acknowledged, %d records, recovery checkpoint at seq %d", len(acked), rep.Records, recovery.Seq)
	if missing > 0 || len(acked) < 120 {
		t.Errorf("%d of %d acknowledged answers have no record", missing, len(acked))
	}
}
