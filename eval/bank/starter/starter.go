// Package starter holds the project's starter bank: a few dozen items in
// Chinese and English for every bank type, written by the project so that
// `firebreak eval run` has something to run before an operator has a bank
// of their own. Every item is marked "starter": true. It is far below the
// sizes GB/T 45654-2025 requires and is not a bank for filing.
package starter

import (
	"bytes"
	_ "embed"

	"github.com/firebreak/firebreak/eval/bank"
)

//go:embed starter.jsonl
var data []byte

// Name is the file name the starter bank is known by in manifests.
const Name = "starter.jsonl"

// JSONL returns the starter bank's bytes.
func JSONL() []byte { return bytes.Clone(data) }

// File returns the starter bank, parsed.
func File() (*bank.File, error) { return bank.Parse(Name, bytes.NewReader(data)) }
