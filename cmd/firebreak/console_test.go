package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserContext starts Debian's headless Chromium for chromedp. Without
// a chromium binary the test fails, unless FIREBREAK_TEST_CHROMIUM=off
// skips it on purpose (scripts/test installs chromium when missing).
func browserContext(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("FIREBREAK_TEST_CHROMIUM") == "off" {
		t.Skip("FIREBREAK_TEST_CHROMIUM=off")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium on PATH (apt-get install chromium, or FIREBREAK_TEST_CHROMIUM=off): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"), chromedp.Flag("accept-lang", "zh-CN,zh"), chromedp.WindowSize(1280, 900)}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 8*time.Minute) // generous: CI runs it under -race
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where the screenshots go: $FIREBREAK_ARTIFACTS/console, by
// default test-artifacts/console at the repository root.
func artifacts(t *testing.T) string {
	dir := os.Getenv("FIREBREAK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", file)
}

// step is one named action of a browser scenario.
type step struct {
	name string
	a    chromedp.Action[chromedp.Void]
}

// runSteps runs what, one step after another, each within timeout. On a
// failure it saves a screenshot as dir/what-failed.png and fails the test
// naming the step.
func runSteps(t *testing.T, ctx context.Context, dir, what string, timeout time.Duration, steps []step) {
	t.Helper()
	for _, st := range steps {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err := chromedp.Do(sctx, st.a)
		cancel()
		if err != nil {
			screenshot(t, ctx, dir, what+"-failed")
			t.Fatalf("%s: %s: %v", what, st.name, err)
		}
	}
}

func (s *server) passwordFile(t *testing.T, pw string) string {
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func browserLogin(ctx context.Context, base, name, pw string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#name", name),
		chromedp.SendKeys("#password", pw),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("nav.main"),
	)
}

func pageText(ctx context.Context, url string) (string, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady("main")); err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Text("main"))
}

// TestConsoleInBrowser is the console's scenario in a real headless
// Chromium: the first admin, made with the CLI and the bootstrap token,
// logs in and creates a reviewer; the reviewer gets the 403 page for staff
// and policy and a 403 from their admin API routes; a policy editor
// publishes with a reason and sees it in the history; an auditor searches
// and verifies the trail; the language switch shows Chinese.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browserContext(t)
	dir := artifacts(t)
	s := startServer(t, "--data", t.TempDir())
	pw := "a long passphrase for the console"
	out, err := run2(s, "staff", "create", "--name", "chief", "--role", "admin", "--password-file", s.passwordFile(t, pw))
	if err != nil || !strings.Contains(out, "created chief (admin)") {
		t.Fatalf("first admin with the bootstrap token: %v %s", err, out)
	}
	for i := range 3 { // a little traffic for the dashboard
		s.chat(t, s.key, `{"messages":[{"role":"user","content":"hello `+strings.Repeat("x", i)+`"}],"user":"u1"}`)
	}

	if err := browserLogin(ctx, s.url, "chief", pw); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text("h1"))
	if err != nil || title != "仪表盘" {
		t.Fatalf("dashboard title %q %v", title, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible("svg.chart")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, dir, "dashboard")

	// The admin creates a reviewer in the staff page.
	runSteps(t, ctx, dir, "create-reviewer", 20*time.Second, []step{
		{"open staff", chromedp.Navigate(s.url + "/console/staff")},
		{"form", chromedp.WaitVisible("#new-staff")},
		{"name", chromedp.SendKeys("#new-name", "rita")},
		{"role", chromedp.SetValue("#new-role", "reviewer")},
		{"password", chromedp.SendKeys("#new-password", pw)},
		{"submit", chromedp.Click("#create-staff")},
		{"member page", chromedp.WaitVisible("#member")},
		{"back to the list", chromedp.Navigate(s.url + "/console/staff")},
		{"list", chromedp.WaitVisible("#staff-list")},
	})
	list, err := chromedp.Run(ctx, chromedp.Text("#staff-list"))
	if err != nil || !strings.Contains(list, "rita") || !strings.Contains(list, "审核员") {
		t.Fatalf("staff list %q %v", list, err)
	}
	screenshot(t, ctx, dir, "staff")
	if err := chromedp.Do(ctx, chromedp.Click("#logout"), chromedp.WaitVisible("#login-form")); err != nil {
		t.Fatal(err)
	}

	// The reviewer: 403 pages for staff and policy, 403 from the admin API.
	if err := browserLogin(ctx, s.url, "rita", pw); err != nil {
		t.Fatalf("reviewer login: %v", err)
	}
	for _, page := range []string{"/console/staff", "/console/policy"} {
		text, err := pageText(ctx, s.url+page)
		if err != nil || !strings.Contains(text, "无权访问") {
			t.Fatalf("reviewer on %s: %v %q", page, err, text)
		}
	}
	screenshot(t, ctx, dir, "forbidden")
	tok := regexp.MustCompile(`: (fbs_\S+)`).FindStringSubmatch(s.mustCLI(t, "staff", "tokens", "create", "rita", "--name", "cli"))
	for _, path := range []string{"/admin/v1/staff", "/admin/v1/policy/history"} {
		req, _ := http.NewRequest("GET", s.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("reviewer's token on %s: %d", path, resp.StatusCode)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/console/"), chromedp.Click("#logout"), chromedp.WaitVisible("#login-form")); err != nil {
		t.Fatal(err)
	}

	// A policy editor publishes an edited bundle with a reason.
	s.mustCLI(t, "staff", "create", "--name", "pat", "--role", "policy", "--password-file", s.passwordFile(t, pw))
	if err := browserLogin(ctx, s.url, "pat", pw); err != nil {
		t.Fatalf("policy editor login: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/console/policy"), chromedp.WaitVisible("#policy-form")); err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(ctx, chromedp.Value(`#policy-form textarea[name="text"]`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(`#policy-form textarea[name="text"]`, first+"\n# reviewed in the console\n"),
		chromedp.SendKeys("#publish-reason", "quarterly review"),
		chromedp.Click("#publish"),
		chromedp.WaitVisible("p.flash"),
	)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	history, err := chromedp.Run(ctx, chromedp.Text("#history"))
	if err != nil || !strings.Contains(history, "quarterly review") || !strings.Contains(history, "pat") {
		t.Fatalf("history %q %v", history, err)
	}
	screenshot(t, ctx, dir, "policy")
	if err := chromedp.Do(ctx, chromedp.Click("#logout"), chromedp.WaitVisible("#login-form")); err != nil {
		t.Fatal(err)
	}

	// An auditor searches the trail and verifies it.
	s.mustCLI(t, "staff", "create", "--name", "audrey", "--role", "auditor", "--password-file", s.passwordFile(t, pw))
	if err := browserLogin(ctx, s.url, "audrey", pw); err != nil {
		t.Fatalf("auditor login: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.url+"/console/audit"),
		chromedp.WaitVisible("#kind"),
		chromedp.SetValue("#kind", "staff"),
		chromedp.Click("#audit-search"),
		chromedp.WaitVisible(`a[href^="/console/audit/records/"]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	results, err := chromedp.Run(ctx, chromedp.Text("#results"))
	if err != nil || !strings.Contains(results, "policy/publish") || !strings.Contains(results, "pat") {
		t.Fatalf("staff actions %q %v", results, err)
	}
	screenshot(t, ctx, dir, "audit")
	if err := chromedp.Do(ctx, chromedp.Click("#audit-verify"), chromedp.WaitVisible("#verify-result")); err != nil {
		t.Fatal(err)
	}
	verified, err := chromedp.Run(ctx, chromedp.Text("#verify-result"))
	if err != nil || !strings.Contains(verified, "哈希链完整") {
		t.Fatalf("verify %q %v", verified, err)
	}
	screenshot(t, ctx, dir, "verify")

	// The language switch: English, then back to Chinese.
	// Wait for the new page (its html element names the language), not for
	// the old page's navigation, which is still visible right after the click.
	if err := chromedp.Do(ctx, chromedp.Click("#lang-en"), chromedp.WaitReady(`html[lang="en"] nav.main`)); err != nil {
		t.Fatal(err)
	}
	if title, err = chromedp.Run(ctx, chromedp.Text("h1")); err != nil || title != "Audit" {
		t.Fatalf("English title %q %v", title, err)
	}
	screenshot(t, ctx, dir, "english")
	if err := chromedp.Do(ctx, chromedp.Click("#lang-zh"), chromedp.WaitReady(`html[lang="zh-CN"] nav.main`)); err != nil {
		t.Fatal(err)
	}
	if title, err = chromedp.Run(ctx, chromedp.Text("h1")); err != nil || title != "审计" {
		t.Fatalf("Chinese title %q %v", title, err)
	}
}

// run2 runs a CLI command with the bootstrap token.
func run2(s *server, args ...string) (string, error) {
	var out strings.Builder
	err := run(context.Background(), append(args, "--server", s.url, "--admin-token", s.bootstrap), &out, io.Discard)
	return out.String(), err
}
