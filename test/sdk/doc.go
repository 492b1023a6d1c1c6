// Package sdk holds Firebreak's compatibility tests with the official OpenAI
// SDKs: the Go SDK (github.com/openai/openai-go/v3) in go_test.go and the
// Node SDK (the openai npm package) in compat.mjs, run by node_test.go. Both
// talk to a whole gateway assembled in process (test/stack) in front of a
// scripted upstream, and check what an application sees: answers, streams
// with usage, tool calls, errors with their status, a broken stream as an
// error, a refused prompt as a content_filter completion, and the labels of
// generated content in every placement (label_test.go and compat.mjs).
package sdk
