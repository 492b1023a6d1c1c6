// Package linescan reads the lines of a file of untrusted input with a
// bound on a line's length, so that a file of one enormous line is
// refused with its name, the line and the limit instead of read whole
// into memory or refused as bufio's "token too long".
package linescan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Scanner reads lines of at most a given number of bytes.
type Scanner struct {
	sc   *bufio.Scanner
	name string
	max  int
	line int
}

// New reads lines from r, name naming it in errors ("" for none), each
// at most max bytes long (the line end not counted).
func New(r io.Reader, name string, max int) *Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(max, 64<<10)), max+1)
	return &Scanner{sc: sc, name: name, max: max}
}

// Scan advances to the next line, reporting false at the end or on an
// error (Err says which).
func (s *Scanner) Scan() bool {
	if !s.sc.Scan() {
		return false
	}
	s.line++
	return true
}

// Bytes is the line read, valid until the next Scan.
func (s *Scanner) Bytes() []byte { return s.sc.Bytes() }

// Line is the number of the line read, from 1.
func (s *Scanner) Line() int { return s.line }

// Err is the error that ended Scan, nil at the end of the input. A line
// over the limit is a *TooLongError.
func (s *Scanner) Err() error {
	err := s.sc.Err()
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return &TooLongError{File: s.name, Line: s.line + 1, Max: s.max}
	case err != nil:
		return fmt.Errorf("%s: %w", where(s.name, s.line+1), err)
	}
	return nil
}

// TooLongError is a line over the limit.
type TooLongError struct {
	File string
	Line int
	Max  int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%s: line longer than %d bytes, the limit on a line of this file", where(e.File, e.Line), e.Max)
}

// where is "file:line", or "line N" for input without a name.
func where(name string, line int) string {
	if name == "" {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("%s:%d", name, line)
}
