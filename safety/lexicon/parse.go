package lexicon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLineBytes bounds one line of a lexicon file (a term is at most
// MaxTermRunes characters; the rest of a line is its code, action and
// flags).
const MaxLineBytes = 1 << 20

// ParseOptions configures ParseFile. The zero value accepts any code and
// any action name.
type ParseOptions struct {
	DefaultCode string // risk code for lines that give none
	// ValidCode and ValidAction check the second and third columns; the
	// engine passes its risk-code list and action names here.
	ValidCode   func(code string) error
	ValidAction func(action string) error
}

// ParseFile reads a plain lexicon file: one term per line, optionally
// followed by a tab and a risk code, another tab and an action, and another
// tab and a comma-separated list of flags (pinyin, initials, numerals).
// Lines starting with # and blank lines are ignored. Errors name the file
// and line.
func ParseFile(r io.Reader, name string, opts ParseOptions) ([]Term, error) {
	var terms []Term
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), MaxLineBytes)
	line := 1
	for ; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(strings.TrimSpace(text), "#") {
			continue
		}
		t, err := parseLine(text, opts)
		if err != nil {
			return nil, &LineError{File: name, Line: line, Err: err}
		}
		terms = append(terms, t)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, &LineError{File: name, Line: line, Err: fmt.Errorf("line longer than %d bytes, the limit on a lexicon line", MaxLineBytes)}
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return terms, nil
}

// LineError is a problem with one line of a lexicon file.
type LineError struct {
	File string
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

func parseLine(text string, opts ParseOptions) (Term, error) {
	cols := strings.Split(text, "\t")
	if len(cols) > 4 {
		return Term{}, fmt.Errorf("%d tab-separated columns: want at most 4 (term, code, action, flags)", len(cols))
	}
	t := Term{Text: strings.TrimSpace(cols[0]), Code: opts.DefaultCode}
	if t.Text == "" {
		return Term{}, fmt.Errorf("empty term")
	}
	if len(cols) > 1 && strings.TrimSpace(cols[1]) != "" {
		t.Code = strings.TrimSpace(cols[1])
	}
	if t.Code == "" {
		return Term{}, fmt.Errorf("term %q: no risk code and no default", t.Text)
	}
	if opts.ValidCode != nil {
		if err := opts.ValidCode(t.Code); err != nil {
			return Term{}, fmt.Errorf("term %q: %w", t.Text, err)
		}
	}
	if len(cols) > 2 {
		t.Action = strings.TrimSpace(cols[2])
		if t.Action != "" && opts.ValidAction != nil {
			if err := opts.ValidAction(t.Action); err != nil {
				return Term{}, fmt.Errorf("term %q: %w", t.Text, err)
			}
		}
	}
	if len(cols) > 3 {
		if err := parseFlags(&t, cols[3]); err != nil {
			return Term{}, fmt.Errorf("term %q: %w", t.Text, err)
		}
	}
	return t, nil
}

func parseFlags(t *Term, s string) error {
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "pinyin":
			t.Pinyin = true
		case "initials":
			t.Initials = true
		case "numerals":
			t.Numerals = true
		default:
			return fmt.Errorf("unknown flag %q (want pinyin, initials or numerals)", f)
		}
	}
	return nil
}
