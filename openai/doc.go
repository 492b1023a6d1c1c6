// Package openai holds the wire types of the OpenAI chat API that Firebreak
// reads and writes, the server-sent-events reader and writer, and the
// OpenAI-shaped error type. It is shared by the gateway, the upstream
// client and the evaluator, and knows nothing about policy or storage.
//
// Request bodies are parsed strictly (see strict.go): a body that JSON
// parsers could read two ways is refused, and the parsed tree is the only
// copy kept. Fields the gateway does not know pass through in it, and the
// body that goes upstream is that tree encoded again.
package openai
