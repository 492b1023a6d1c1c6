package sdk_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/replica"
	"github.com/firebreak/firebreak/test/stack"
)

// positions are the explicit label's places the tests cover: the default
// policy's (end) on Stack.Key, and tenants whose overlays place it at the
// start or at both ends.
var positions = []string{"start", "end", "both"}

// labelKeys publishes the default bundle with overlays for tenants
// "label-start" and "label-both" and returns an API key per position.
func labelKeys(t *testing.T, s *stack.Stack) map[string]string {
	t.Helper()
	ctx := context.Background()
	def := policy.Default()
	files := map[string][]byte{}
	for _, n := range def.Names() {
		files[n], _ = def.File(n)
	}
	files[policy.SpecFile] = append(files[policy.SpecFile], []byte(
		"  tenant:label-start:\n    labels: {explicit: {position: start}}\n"+
			"  tenant:label-both:\n    labels: {explicit: {position: both}}\n")...)
	b, err := policy.NewBundle(files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Replica.Policy.Publish(ctx, b, policy.Change{Reason: "label positions per tenant"}); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{"end": s.Key}
	for _, pos := range []string{"start", "both"} {
		tenant, err := s.Replica.Accounts.Tenants.Create(ctx, account.Tenant{Name: "label-" + pos})
		if err != nil {
			t.Fatal(err)
		}
		if _, keys[pos], err = s.Replica.Accounts.Keys.Create(ctx, account.Key{TenantID: tenant.ID, Name: "labels"}); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// labelled is text as a client receives it with the default English
// label at pos.
func labelled(text, pos string) string {
	lbl := label.DefaultEn
	switch pos {
	case "start":
		return lbl + label.Sep + text
	case "both":
		return lbl + label.Sep + text + label.Sep + lbl
	}
	return text + label.Sep + lbl
}

// verifyKeys are the public key the stack signs labels with.
func verifyKeys(t *testing.T, s *stack.Stack) label.Keys {
	t.Helper()
	_, path := replica.AuditFiles(s.Replica.Config)
	priv, err := audit.LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return label.NewKeys(priv.Public().(ed25519.PublicKey))
}

// checkAIGC checks a label from a body or chunk: signed, genuine over the
// text the client received, and the same as the header's.
func checkAIGC(t *testing.T, keys label.Keys, raw, header, text string) {
	t.Helper()
	a, err := label.ParseAIGC([]byte(raw))
	if err != nil {
		t.Fatalf("no AIGC object in %s: %v", raw, err)
	}
	if r := label.Verify(label.Claim{AIGC: a, Text: text}, keys, nil, false); r.Verdict != label.Genuine {
		t.Errorf("label %+v over %q: %+v", a, text, r)
	}
	h, err := label.ParseAIGC([]byte(header))
	if err != nil {
		t.Fatalf("AIGC header %q: %v", header, err)
	}
	if h.ProduceID != a.ProduceID || h.Label != "1" || (h.ReservedCode1 != "" && h != a) {
		t.Errorf("header %+v, body %+v", h, a)
	}
}

// TestGoLabels: every placement, streamed and not, through the official Go
// SDK: the label arrives where the policy puts it, the usage counts are
// the upstream's, streams end properly, and the implicit label verifies.
func TestGoLabels(t *testing.T) {
	s := startStack(t)
	keys, vkeys := labelKeys(t, s), verifyKeys(t, s)
	for _, pos := range positions {
		t.Run(pos+"/complete", func(t *testing.T) {
			var hr *http.Response
			resp, err := client(s, keys[pos]).Chat.Completions.New(t.Context(), userParams(stack.Model, promptStream), option.WithResponseInto(&hr))
			if err != nil {
				t.Fatal(err)
			}
			text := resp.Choices[0].Message.Content
			if text != labelled(streamAnswer, pos) || resp.Choices[0].FinishReason != "stop" {
				t.Errorf("content %q (%s), want %q", text, resp.Choices[0].FinishReason, labelled(streamAnswer, pos))
			}
			if resp.Usage.CompletionTokens != 4 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+4 {
				t.Errorf("usage %+v, want the upstream's 4 completion tokens", resp.Usage)
			}
			checkAIGC(t, vkeys, resp.JSON.ExtraFields[label.FieldName].Raw(), hr.Header.Get(label.HeaderName), text)
		})
		t.Run(pos+"/stream", func(t *testing.T) {
			var hr *http.Response
			params := userParams(stack.Model, promptStream)
			params.StreamOptions.IncludeUsage = openai.Bool(true)
			stream := client(s, keys[pos]).Chat.Completions.NewStreaming(t.Context(), params, option.WithResponseInto(&hr))
			t.Cleanup(func() { _ = stream.Close() })
			var acc openai.ChatCompletionAccumulator
			var last string
			for stream.Next() {
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("accumulator refused %s", stream.Current().RawJSON())
				}
				last = stream.Current().RawJSON()
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream error: %v", err)
			}
			text := acc.Choices[0].Message.Content
			if text != labelled(streamAnswer, pos) || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("content %q (%s), want %q", text, acc.Choices[0].FinishReason, labelled(streamAnswer, pos))
			}
			if acc.Usage.CompletionTokens != 4 {
				t.Errorf("usage %+v, want the upstream's 4 completion tokens", acc.Usage)
			}
			checkAIGC(t, vkeys, last, hr.Header.Get(label.HeaderName), text)
		})
	}
}

// TestGoLabelsParsedContent: JSON-mode and tool-call answers carry only
// the implicit label: the content and the calls still parse.
func TestGoLabelsParsedContent(t *testing.T) {
	s := startStack(t)
	keys, vkeys := labelKeys(t, s), verifyKeys(t, s)
	for _, streamed := range []bool{false, true} {
		t.Run(map[bool]string{false: "json/complete", true: "json/stream"}[streamed], func(t *testing.T) {
			params := userParams(stack.Model, promptJSON)
			params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
			var hr *http.Response
			msg, _, aigc := answerInto(t, client(s, keys["both"]), params, streamed, &hr)
			var v map[string]any
			if err := json.Unmarshal([]byte(msg.Content), &v); err != nil || msg.Content != jsonAnswer {
				t.Errorf("JSON-mode content %q does not parse (%v)", msg.Content, err)
			}
			if got := hr.Header.Get("X-Firebreak-Label"); got != "implicit; json" {
				t.Errorf("X-Firebreak-Label = %q", got)
			}
			checkAIGC(t, vkeys, aigc, hr.Header.Get(label.HeaderName), msg.Content)
		})
	}
	tool := openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: toolName,
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})
	for _, streamed := range []bool{false, true} {
		params := userParams(stack.Model, promptTools)
		params.Tools = []openai.ChatCompletionToolUnionParam{tool}
		var hr *http.Response
		msg, finish, aigc := answerInto(t, client(s, keys["both"]), params, streamed, &hr)
		if finish != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Arguments != toolArgs || msg.Content != "" {
			t.Errorf("tool-call answer (stream %v): %q, %+v, %s", streamed, msg.Content, msg.ToolCalls, finish)
		}
		checkAIGC(t, vkeys, aigc, hr.Header.Get(label.HeaderName), msg.Content)
	}
}

// answerInto is toolAnswer that also keeps the HTTP response and returns
// the AIGC object of the body or of the last chunk.
func answerInto(t *testing.T, c *openai.Client, params openai.ChatCompletionNewParams, streamed bool, hr **http.Response) (openai.ChatCompletionMessage, string, string) {
	t.Helper()
	if !streamed {
		resp, err := c.Chat.Completions.New(t.Context(), params, option.WithResponseInto(hr))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Choices[0].Message, string(resp.Choices[0].FinishReason), resp.JSON.ExtraFields[label.FieldName].Raw()
	}
	stream := c.Chat.Completions.NewStreaming(t.Context(), params, option.WithResponseInto(hr))
	t.Cleanup(func() { _ = stream.Close() })
	var acc openai.ChatCompletionAccumulator
	var last string
	for stream.Next() {
		acc.AddChunk(stream.Current())
		last = stream.Current().RawJSON()
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	return acc.Choices[0].Message, string(acc.Choices[0].FinishReason), last
}
