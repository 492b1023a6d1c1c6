// Package openai holds the wire types of the OpenAI chat API that Firebreak
// reads and writes, the server-sent-events reader and writer, and the
// OpenAI-shaped error type. It is shared by the gateway, the upstream
// client and the evaluator, and knows nothing about policy or storage.
//
// Firebreak passes fields it does not need through untouched: request types
// here decode only what the gateway acts on, and the raw body is kept for
// re-encoding.
package openai
