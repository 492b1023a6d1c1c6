package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/policy"
	"github.com/firebreak/firebreak/safety"
)

func newScanCmd() *cobra.Command {
	var src policy.Sources
	var field, direction, bundle string
	var noStarter bool
	cmd := &cobra.Command{
		Use:   "scan [FILE …]",
		Short: "Run the safety engine over text or JSONL files",
		Long: `Scan runs the safety engine over each item of the input — one item per line,
or with --field the named string field of each JSON line — and writes one
JSON object per item to stdout: its decision and hits, each hit with its
risk code, term and byte offsets into the item. A summary by risk code, with
the throughput, goes to stderr. With no FILE, or FILE "-", it reads stdin.

The engine is a policy bundle (--policy DIR), or for quick use the starter
lexicon plus any --lexicon files; a --lexicon file has one term per line,
optionally a tab and a risk code (A1a … A5b), optionally another tab and
an action.`,
		Example: `  firebreak scan --lexicon words.txt logs.txt
  firebreak scan --field prompt --pii dataset.jsonl > hits.jsonl
  firebreak scan --policy mypolicy --direction output answers.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Starter = !noStarter
			dir := safety.Input
			switch direction {
			case "input":
			case "output":
				dir = safety.Output
			default:
				return fmt.Errorf("--direction %q: want input or output", direction)
			}
			engine, err := scanEngine(bundle, src)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			s := &scanner{engine: engine, dir: dir, field: field, out: bufio.NewWriter(cmd.OutOrStdout()),
				codes: map[string]int{}, decisions: map[string]int{}}
			start := time.Now()
			for _, name := range args {
				if err := s.file(name, cmd.InOrStdin()); err != nil {
					return err
				}
			}
			if err := s.out.Flush(); err != nil {
				return err
			}
			s.summary(cmd.ErrOrStderr(), time.Since(start))
			return nil
		},
	}
	cmd.Flags().StringVar(&bundle, "policy", "", "policy bundle folder (its base engine, no overlays)")
	cmd.Flags().StringArrayVar(&src.Lexicons, "lexicon", nil, "plain lexicon file (repeatable)")
	cmd.Flags().BoolVar(&noStarter, "no-starter", false, "leave out the starter lexicon")
	cmd.Flags().BoolVar(&src.PII, "pii", false, "also detect personal information")
	cmd.Flags().StringVar(&src.DefaultCode, "code", "A1h", "risk code of lexicon lines that name none")
	cmd.Flags().StringVar(&field, "field", "", "scan this string field of each JSON line (dots for nesting: a.b)")
	cmd.Flags().StringVar(&direction, "direction", "input", "review as a prompt (input) or an answer (output)")
	return cmd
}

// scanEngine compiles the bundle in dir, or else the quick sources.
func scanEngine(dir string, src policy.Sources) (*safety.Engine, error) {
	if dir == "" {
		return policy.Compile(src)
	}
	if len(src.Lexicons) > 0 || src.PII {
		return nil, fmt.Errorf("--policy carries its own lexicons and PII settings: drop --lexicon and --pii")
	}
	b, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := policy.CompileBundle(b)
	if err != nil {
		return nil, err
	}
	return c.Base(), nil
}

type scanner struct {
	engine    *safety.Engine
	dir       safety.Direction
	field     string
	out       *bufio.Writer
	items     int
	bytes     int64
	codes     map[string]int
	decisions map[string]int
}

// scanResult is one output line of `firebreak scan`.
type scanResult struct {
	File     string       `json:"file"`
	Line     int          `json:"line"`
	Decision string       `json:"decision"`
	Code     string       `json:"code,omitempty"`
	Hits     []safety.Hit `json:"hits"`
	Error    string       `json:"error,omitempty"`
}

func (s *scanner) file(name string, stdin io.Reader) error {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReaderSize(r, 1<<20)
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if len(text) > 0 {
			if werr := s.item(name, line, strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

func (s *scanner) item(file string, line int, text string) error {
	res := scanResult{File: file, Line: line, Hits: []safety.Hit{}}
	if s.field != "" {
		v, err := jsonField(text, s.field)
		if err != nil {
			res.Decision, res.Error = "error", err.Error()
			return s.write(res)
		}
		text = v
	}
	s.items++
	s.bytes += int64(len(text))
	d := s.engine.Check(s.dir, text)
	res.Decision, res.Code = d.Action.String(), d.Code
	if d.Hits != nil {
		res.Hits = d.Hits
	}
	s.decisions[res.Decision]++
	for _, h := range d.Hits {
		s.codes[h.Code]++
	}
	return s.write(res)
}

func (s *scanner) write(res scanResult) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	s.out.Write(b)
	return s.out.WriteByte('\n')
}

// jsonField returns the string at a dotted path of a JSON object.
func jsonField(line, path string) (string, error) {
	var v any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		return "", fmt.Errorf("not a JSON line: %v", err)
	}
	for _, key := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("field %q: not an object", path)
		}
		if v, ok = obj[key]; !ok {
			return "", fmt.Errorf("field %q: missing", path)
		}
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("field %q: not a string", path)
	}
	return str, nil
}

func (s *scanner) summary(w io.Writer, d time.Duration) {
	fmt.Fprintf(w, "scanned %d items, %.1f MB in %v (%.1f MB/s), policy %s\n",
		s.items, float64(s.bytes)/1e6, d.Round(time.Millisecond), float64(s.bytes)/1e6/d.Seconds(), s.engine.Version())
	for _, name := range []string{"allow", "mask", "review", "refuse", "block", "error"} {
		if n := s.decisions[name]; n > 0 {
			fmt.Fprintf(w, "  %-8s %d\n", name, n)
		}
	}
	codes := make([]string, 0, len(s.codes))
	for c := range s.codes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if len(codes) > 0 {
		fmt.Fprintln(w, "hits by risk code:")
	}
	for _, c := range codes {
		fmt.Fprintf(w, "  %-4s %6d  %s\n", c, s.codes[c], safety.CodeName(c))
	}
}
