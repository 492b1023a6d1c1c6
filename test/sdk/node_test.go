package sdk_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/test/stack"
)

// nodeTests is the number of tests compat.mjs declares; the run must pass
// all of them, so a test that silently disappears is noticed.
const nodeTests = 19

// TestNodeSDK runs compat.mjs, the official Node SDK's view of the same
// cases as go_test.go, against a stack started here.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: ./scripts/test installs it, or apt-get install nodejs npm")
	}
	if _, err := os.Stat("node_modules/openai/package.json"); err != nil {
		t.Fatal("the openai npm package is missing: run `npm ci` in test/sdk (./scripts/test does it)")
	}
	s := startStack(t)
	keys, err := json.Marshal(labelKeys(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=tap", "compat.mjs")
	cmd.Env = append(os.Environ(),
		"NO_COLOR=1",
		"FIREBREAK_SDK_BASE_URL="+s.URL,
		"FIREBREAK_SDK_KEY="+s.Key,
		"FIREBREAK_SDK_LIMITED_KEY="+s.LimitedKey,
		"FIREBREAK_SDK_CASES="+casesJSON(t),
		"FIREBREAK_SDK_LABEL_KEYS="+string(keys),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test compat.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if pass, fail := tapCount(out, "pass"), tapCount(out, "fail"); pass != nodeTests || fail != 0 {
		t.Fatalf("node reported %d passed and %d failed, want %d passed:\n%s", pass, fail, nodeTests, out)
	}
	tools := false
	for _, r := range s.Upstream.Requests() {
		for _, m := range r.Messages {
			if m.Content == promptRefused {
				t.Errorf("a refused prompt reached the upstream (request %d)", r.Seq)
			}
			tools = tools || m.Content == promptTools && strings.Contains(string(r.Fields["tools"]), `"name":"`+toolName+`"`)
		}
	}
	if !tools {
		t.Error("the tool definition of the tools scenario did not reach the upstream")
	}
}

// casesJSON is what compat.mjs needs to know of the scripted scenarios.
func casesJSON(t *testing.T) string {
	t.Helper()
	labelledAnswers := map[string]string{}
	for _, pos := range positions {
		labelledAnswers[pos] = labelled(streamAnswer, pos)
	}
	b, err := json.Marshal(map[string]any{
		"labelled":      labelledAnswers,
		"promptJSON":    promptJSON,
		"jsonAnswer":    jsonAnswer,
		"model":         stack.Model,
		"promptChat":    promptChat,
		"promptStream":  promptStream,
		"promptTools":   promptTools,
		"promptDie":     promptDie,
		"promptRefused": promptRefused,
		"chatAnswer":    chatLabelled,
		"streamAnswer":  streamLabelled,
		"toolName":      toolName,
		"toolArgs":      toolArgs,
		"toolCallID":    toolCallID,
		"neverSent":     neverSent,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tapCount reads a "# pass N" or "# fail N" summary line of node's TAP
// reporter; -1 when there is none.
func tapCount(out []byte, what string) int {
	m := regexp.MustCompile(`(?m)^# ` + what + ` (\d+)$`).FindSubmatch(out)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(m[1])))
	return n
}
