package main

import (
	"fmt"
	"io"
	"os"
)

// maxLabelInput bounds a file `label verify` reads (a Markdown or DOCX
// export, a saved chat completion, a text file).
const maxLabelInput = 64 << 20

// readInputFile reads a file named on the command line, refusing one
// larger than max bytes before reading it, so that a huge or endless file
// is an error naming it and the limit, not a process out of memory.
func readInputFile(path string, max int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most %s reads", path, max>>20, what)
	}
	return b, nil
}
