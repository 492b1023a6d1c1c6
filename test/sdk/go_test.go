package sdk_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/firebreak/firebreak/test/stack"
)

// client is the official Go SDK pointed at the stack, without retries so
// that an error is seen as the gateway sent it.
func client(s *stack.Stack, key string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(s.URL), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

func userParams(model, prompt string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}
}

func TestGoChat(t *testing.T) {
	s := startStack(t)
	resp, err := client(s, s.Key).Chat.Completions.New(t.Context(), userParams(stack.Model, promptChat))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("choices = %+v", resp.Choices)
	}
	if got := resp.Choices[0].Message.Content; got != chatLabelled {
		t.Errorf("content = %q, want %q", got, chatLabelled)
	}
	if got := resp.Choices[0].FinishReason; got != "stop" {
		t.Errorf("finish_reason = %q", got)
	}
	if resp.Usage.TotalTokens == 0 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestGoStreamWithUsage(t *testing.T) {
	s := startStack(t)
	params := userParams(stack.Model, promptStream)
	params.StreamOptions.IncludeUsage = openai.Bool(true)
	stream := client(s, s.Key).Chat.Completions.NewStreaming(t.Context(), params)
	t.Cleanup(func() { _ = stream.Close() })
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("accumulator refused chunk %d: %s", chunks, stream.Current().RawJSON())
		}
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if len(acc.Choices) != 1 {
		t.Fatalf("accumulated choices = %+v", acc.Choices)
	}
	if got := acc.Choices[0].Message.Content; got != streamLabelled {
		t.Errorf("accumulated content = %q, want %q", got, streamLabelled)
	}
	if got := acc.Choices[0].FinishReason; got != "stop" {
		t.Errorf("finish_reason = %q", got)
	}
	// The fake upstream counts one completion token per delta (4 here).
	if acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens == 0 {
		t.Errorf("accumulated usage = %+v, want 4 completion tokens and some prompt tokens", acc.Usage)
	}
}

func TestGoTools(t *testing.T) {
	tool := openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name:        toolName,
		Description: openai.String("Current weather of a city"),
		Parameters: openai.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}},
			"required":   []string{"city"},
		},
	})
	for _, streamed := range []bool{false, true} {
		t.Run(map[bool]string{false: "complete", true: "stream"}[streamed], func(t *testing.T) {
			s := startStack(t)
			params := userParams(stack.Model, promptTools)
			params.Tools = []openai.ChatCompletionToolUnionParam{tool}
			msg, finish := toolAnswer(t, client(s, s.Key), params, streamed)
			if finish != "tool_calls" {
				t.Errorf("finish_reason = %q, want tool_calls", finish)
			}
			if len(msg.ToolCalls) != 1 {
				t.Fatalf("tool calls = %+v", msg.ToolCalls)
			}
			call := msg.ToolCalls[0]
			if call.ID != toolCallID || call.Function.Name != toolName || call.Function.Arguments != toolArgs {
				t.Errorf("tool call = %+v", call)
			}
			assertToolReachedUpstream(t, s)
		})
	}
}

// toolAnswer sends params and returns the assistant message and finish
// reason, through the accumulator when streamed.
func toolAnswer(t *testing.T, c *openai.Client, params openai.ChatCompletionNewParams, streamed bool) (openai.ChatCompletionMessage, string) {
	t.Helper()
	if !streamed {
		resp, err := c.Chat.Completions.New(t.Context(), params)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Choices[0].Message, string(resp.Choices[0].FinishReason)
	}
	stream := c.Chat.Completions.NewStreaming(t.Context(), params)
	t.Cleanup(func() { _ = stream.Close() })
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if len(acc.Choices) == 0 {
		t.Fatal("no choices accumulated")
	}
	return acc.Choices[0].Message, string(acc.Choices[0].FinishReason)
}

// assertToolReachedUpstream checks that the tool definition the SDK sent is
// the one the model server received.
func assertToolReachedUpstream(t *testing.T, s *stack.Stack) {
	t.Helper()
	reqs := s.Upstream.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(reqs))
	}
	var tools []struct {
		Type     string
		Function struct {
			Name       string
			Parameters map[string]any
		}
	}
	if err := json.Unmarshal(reqs[0].Fields["tools"], &tools); err != nil {
		t.Fatalf("upstream tools %s: %v", reqs[0].Fields["tools"], err)
	}
	if len(tools) != 1 || tools[0].Type != "function" || tools[0].Function.Name != toolName || tools[0].Function.Parameters["type"] != "object" {
		t.Errorf("upstream saw tools %s", reqs[0].Fields["tools"])
	}
}

func TestGoErrors(t *testing.T) {
	s := startStack(t)
	// The limited key's first request uses its one request per minute.
	if _, err := client(s, s.LimitedKey).Chat.Completions.New(t.Context(), userParams(stack.Model, promptChat)); err != nil {
		t.Fatalf("first request of the limited key: %v", err)
	}
	tests := []struct {
		name, key, model string
		status           int
		code             string
		retryAfter       bool
	}{
		{"bad key", "fbk_aaaaaaaa_bbbbbbbb", stack.Model, http.StatusUnauthorized, "invalid_api_key", false},
		{"unknown model", s.Key, "no-such-model", http.StatusNotFound, "model_not_found", false},
		{"rate limited", s.LimitedKey, stack.Model, http.StatusTooManyRequests, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client(s, tt.key).Chat.Completions.New(t.Context(), userParams(tt.model, promptChat))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T), want *openai.Error", err, err)
			}
			if apiErr.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", apiErr.StatusCode, tt.status)
			}
			if apiErr.Message == "" || apiErr.Type == "" || (tt.code != "" && apiErr.Code != tt.code) {
				t.Errorf("error body: code %q type %q message %q, want code %q", apiErr.Code, apiErr.Type, apiErr.Message, tt.code)
			}
			if got := apiErr.Response.Header.Get("Retry-After"); (got != "") != tt.retryAfter {
				t.Errorf("Retry-After = %q, want present=%v", got, tt.retryAfter)
			}
		})
	}
}

func TestGoStreamCutByUpstream(t *testing.T) {
	s := startStack(t)
	stream := client(s, s.Key).Chat.Completions.NewStreaming(t.Context(), userParams(stack.Model, promptDie))
	t.Cleanup(func() { _ = stream.Close() })
	var text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			text.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				t.Errorf("a cut stream reported finish_reason %q", ch.FinishReason)
			}
		}
	}
	err := stream.Err()
	if err == nil {
		t.Fatalf("stream ended cleanly after %q; an upstream that died must surface as an error", text.String())
	}
	if !strings.Contains(err.Error(), "upstream_error") {
		t.Errorf("stream error %q, want the gateway's upstream_error", err)
	}
	if strings.Contains(text.String(), "three") {
		t.Errorf("text after the cut reached the client: %q", text.String())
	}
}

func TestGoRefusedInput(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(map[bool]string{false: "complete", true: "stream"}[streamed], func(t *testing.T) {
			s := startStack(t)
			msg, finish := toolAnswer(t, client(s, s.Key), userParams(stack.Model, promptRefused), streamed)
			if finish != "content_filter" {
				t.Errorf("finish_reason = %q, want content_filter", finish)
			}
			if msg.Content == "" || strings.Contains(msg.Content, neverSent) {
				t.Errorf("content = %q, want the safe reply", msg.Content)
			}
			if n := len(s.Upstream.Requests()); n != 0 {
				t.Errorf("a refused prompt reached the upstream %d times", n)
			}
		})
	}
}
