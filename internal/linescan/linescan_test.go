package linescan

import (
	"errors"
	"strings"
	"testing"
)

func TestScanner(t *testing.T) {
	s := New(strings.NewReader("a\r\nbb\n\n"+strings.Repeat("x", 11)+"\nlast"), "f.jsonl", 10)
	var got []string
	for s.Scan() {
		got = append(got, string(s.Bytes()))
	}
	if strings.Join(got, "|") != "a|bb|" || s.Line() != 3 {
		t.Fatalf("lines %q, at line %d", got, s.Line())
	}
	var tl *TooLongError
	if err := s.Err(); !errors.As(err, &tl) || err.Error() != "f.jsonl:4: line longer than 10 bytes, the limit on a line of this file" {
		t.Fatalf("error %v", err)
	}
	s = New(strings.NewReader(strings.Repeat("y", 10)), "g", 10)
	if !s.Scan() || s.Err() != nil || s.Scan() || s.Err() != nil {
		t.Fatalf("a line of exactly the limit: %v", s.Err())
	}
}
