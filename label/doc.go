// Package label builds, places, signs and verifies the labels that the
// Labelling Measures (《人工智能生成合成内容标识办法》) and GB 45438-2025 require
// on AI-generated text.
//
// An answer carries two labels. The explicit label is a visible notice in
// the text ("本内容由人工智能生成"), placed at the start and/or end in the
// answer's language (Answer.Place for a whole text; Stream for a streamed
// one, chunk by chunk); answers whose content clients parse (JSON mode,
// tool calls) carry none. The implicit label is the AIGC metadata object;
// its ProduceID is the answer's audit record id and its ReservedCode1 a
// signature (Signer) over the other members and the SHA-256 of the text as
// delivered, so that Verify can later say whether a label and its text
// are genuine, which of them was altered, or that it cannot tell.
// Markdown and DOCX export a text with both labels and read them back.
//
// The package is pure: no I/O beyond what its callers hand it. The
// gateway applies it to answers, the policy package compiles a bundle's
// labels section into a Policy, and the audit trail keeps each answer's
// Record.
package label
