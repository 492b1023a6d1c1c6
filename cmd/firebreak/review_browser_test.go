package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/store/storetest"
)

// streamChat sends a streamed chat completion and returns the event stream.
func (s *server) streamChat(t *testing.T, key string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/v1/chat/completions",
		strings.NewReader(`{"model":"general","user":"u1","stream":true,"messages":[{"role":"user","content":"how do I start?"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestReviewDeskInBrowser is the desk's scenario in headless Chromium
// across two replicas on PostgreSQL: a streamed answer on replica A is
// sent to review; the reviewer claims it with the keyboard (j), proposes
// its phrase as a term, decides it with v; the policy editor opens the
// draft, dry-runs it on recorded traffic and publishes; the same answer is
// then stopped on replica B. It prints the time from the exchange to the
// fix in force on B.
func TestReviewDeskInBrowser(t *testing.T) {
	ctx := browserContext(t)
	dir := artifacts(t)
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "Step one: buy the delta-term kit today."}})
	t.Cleanup(up.Close)
	dsn := storetest.PostgresDSN(t)
	shared := t.TempDir()
	cfgFile := filepath.Join(shared, "firebreak.yaml")
	cfg := "audit:\n  keyring: " + filepath.Join(shared, "audit.keys") + "\n" +
		"upstreams:\n  - {name: fake, base_url: " + up.URL + "}\n" +
		"models:\n  - {name: general, targets: [{upstream: fake, model: m}]}\n" +
		"routing:\n  general: general\nreview:\n  dual_share: 0\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--database", dsn, "--config", cfgFile, "--secret-file", filepath.Join(shared, "server.secret")}
	a := startServer(t, append([]string{"--data", t.TempDir()}, common...)...)
	b := startServer(t, append([]string{"--data", t.TempDir()}, common...)...)

	bundle := t.TempDir()
	for name, text := range map[string]string{
		"policy.yaml": "format: 1\nname: desk\nlexicons:\n  - {file: terms.txt}\n",
		"terms.txt":   "delta-term\tA1d\treview\n",
	} {
		if err := os.WriteFile(filepath.Join(bundle, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a.mustCLI(t, "policy", "publish", bundle, "--reason", "the desk's test policy")
	pw := "a long passphrase for the console"
	if out, err := run2(a, "staff", "create", "--name", "chief", "--role", "admin", "--password-file", a.passwordFile(t, pw)); err != nil {
		t.Fatalf("admin: %v %s", err, out)
	}
	exchanged := time.Now()
	if body := a.streamChat(t, a.key); !strings.Contains(body, "delta-term") || strings.Contains(body, "content_filter") {
		t.Fatalf("the answer is delivered and queued: %s", body)
	}
	if err := browserLogin(ctx, a.url, "chief", pw); err != nil {
		t.Fatal(err)
	}
	runSteps(t, ctx, dir, "review", 30*time.Second, []step{
		{"open the desk", chromedp.Navigate(a.url + "/console/review")},
		{"queue", chromedp.WaitVisible("#review-queue")},
		{"claim the next item with j", chromedp.KeyEvent("j")},
		{"item", chromedp.WaitVisible("#review-decide")},
		{"highlighted hit", chromedp.WaitVisible("#review-answer mark")},
		{"phrase", chromedp.SendKeys("#propose-text", "delta-term kit")},
		{"propose", chromedp.Click("#propose")},
		{"proposal measured", chromedp.WaitVisible("#review-proposals")},
		{"corrected answer", chromedp.SendKeys("#review-corrected", "I can't help with that.")},
		{"leave the field", chromedp.Blur("#review-corrected")},
		{"decide violation with v", chromedp.KeyEvent("v")},
		{"back on the desk", chromedp.WaitVisible("#review-queue")},
	})
	screenshot(t, ctx, dir, "review-desk")
	runSteps(t, ctx, dir, "review-publish", 60*time.Second, []step{
		{"open the draft", chromedp.Navigate(a.url + "/console/policy?draft=review")},
		{"draft", chromedp.WaitVisible("#draft-proposals")},
		{"recorded traffic", chromedp.Click("#recorded")},
		{"dry run", chromedp.Click("button#dryrun")},
		{"dry-run report", chromedp.WaitVisible("section#dryrun")},
		{"reason", chromedp.SendKeys("#publish-reason", "review finding: delta-term kit")},
		{"publish", chromedp.Click("#publish")},
		{"published", chromedp.WaitVisible("#history")},
	})
	// The draft's page has the history too: wait for the new version's row,
	// or the publish form's redirect may still be under way when the next
	// page is opened, and abort it (net::ERR_ABORTED).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		history, err := chromedp.Run(tctx, chromedp.Text("#history"))
		cancel()
		if err == nil && strings.Contains(history, "review finding: delta-term kit") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the published version is not in the history: %q %v", history, err)
		}
	}
	var enforced time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if body := b.streamChat(t, a.key); strings.Contains(body, "content_filter") && !strings.Contains(body, "delta-term kit") {
			enforced = time.Now()
			break
		}
	}
	if enforced.IsZero() {
		t.Fatal("replica B still serves the answer")
	}
	timings, err := pageText(ctx, a.url+"/console/review")
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, dir, "review-timings")
	t.Logf("finding to enforced on replica B: %v (exchange to a refusal seen on B, through the browser)", enforced.Sub(exchanged).Round(time.Millisecond))
	if i := strings.Index(timings, "P50"); i >= 0 {
		t.Logf("desk timings: %s", strings.Join(strings.Fields(timings[i:min(len(timings), i+400)]), " "))
	}
}
