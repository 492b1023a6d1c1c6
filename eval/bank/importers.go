package bank

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/internal/linescan"
)

// Formats are the public datasets Import reads.
var Formats = []string{"xstest", "flames", "cvalues", "safetybench"}

// Import reads the files of a public dataset and returns its items as bank
// items. The mapping of each dataset's categories to banks, risk codes and
// aspects is documented in docs/eval.md; the datasets carry no GB/T 45654
// codes of their own, so the codes are the project's best reading.
func Import(format string, files []string) ([]Item, error) {
	if len(files) == 0 {
		return nil, errors.New("no input files")
	}
	var items []Item
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var got []Item
		switch format {
		case "xstest":
			got, err = importXSTest(b)
		case "flames":
			got, err = importFlames(b)
		case "cvalues":
			got, err = importCValues(b)
		case "safetybench":
			// Questions and answer key come as two files; they are joined
			// once both are read.
			continue
		default:
			return nil, fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		items = append(items, got...)
	}
	if format == "safetybench" {
		return importSafetyBench(files)
	}
	for i := range items {
		if err := items[i].Validate(); err != nil {
			return nil, fmt.Errorf("item %s: %w", items[i].ID, err)
		}
	}
	return items, nil
}

// xstestRisk maps XSTest's unsafe prompt types to risk codes.
var xstestRisk = map[string]string{
	"contrast_discr":               "A2i",
	"contrast_privacy":             "A4e",
	"contrast_historical_events":   "A1f",
	"contrast_homonyms":            "A1f",
	"contrast_figurative_language": "A1f",
	"contrast_safe_targets":        "A1f",
	"contrast_safe_contexts":       "A1h",
	"contrast_definitions":         "A1h",
}

func importXSTest(b []byte) ([]Item, error) {
	r := csv.NewReader(bytes.NewReader(b))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || !slices.Equal(rows[0][:4], []string{"id", "prompt", "type", "label"}) {
		return nil, errors.New("not the XSTest CSV: want a header id,prompt,type,label,…")
	}
	var items []Item
	for _, row := range rows[1:] {
		id, prompt, typ, label := row[0], row[1], row[2], row[3]
		it := Item{ID: "xstest-" + id, Lang: "en", Prompt: prompt, Source: "XSTest id " + id,
			License: "CC-BY-4.0", Tags: []string{"xstest:" + typ}}
		switch label {
		case "safe":
			it.Bank = ShouldNotRefuse
			if typ == "historical_events" {
				it.Aspect = "history"
			}
		case "unsafe":
			it.Bank, it.Risk = ShouldRefuse, xstestRisk[typ]
			if it.Risk == "" {
				it.Risk = "A1h"
			}
		default:
			return nil, fmt.Errorf("id %s: label %q: want safe or unsafe", id, label)
		}
		items = append(items, it)
	}
	return items, nil
}

// flamesRisk maps Flames subcomponents to risk codes.
var flamesRisk = map[string]string{
	"Bias and discrimination":    "A2i",
	"Toxic language":             "A1h",
	"Physical harm":              "A4a",
	"Mental harm":                "A4a",
	"Property safety":            "A4g",
	"Non-anthropomorphism":       "A5b",
	"Chinese values":             "A1h",
	"Disobey social norm":        "A1h",
	"Non-environmental friendly": "A1h",
	"Personal data":              "A4f",
	"Sensitive information":      "A4e",
	"Law violation":              "A1h",
}

func importFlames(b []byte) ([]Item, error) {
	var items []Item
	err := eachJSONLine(b, func(n int, line []byte) error {
		var row struct{ Dimension, Subcomponent, Prompt string }
		if err := json.Unmarshal(line, &row); err != nil {
			return err
		}
		risk := flamesRisk[row.Subcomponent]
		if risk == "" {
			risk = "A1h"
		}
		items = append(items, Item{ID: "flames-" + strconv.Itoa(n), Bank: GeneratedContent, Risk: risk, Lang: "zh",
			Prompt: row.Prompt, Source: "Flames-1k-Chinese line " + strconv.Itoa(n), License: "Apache-2.0",
			Tags: []string{"flames:" + row.Dimension, "flames:" + row.Subcomponent}})
		return nil
	})
	return items, err
}

// cvaluesAspect maps CValues domains to should-not-refuse aspects where
// one fits; the others name none.
var cvaluesAspect = map[string]string{
	"psychology":   "health",
	"barrier_free": "health",
	"law":          "system",
}

func importCValues(b []byte) ([]Item, error) {
	var items []Item
	err := eachJSONLine(b, func(n int, line []byte) error {
		var row struct {
			ID       int    `json:"id_"`
			Prompt   string `json:"prompt"`
			DomainEN string `json:"domain_en"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return err
		}
		id := strconv.Itoa(row.ID)
		items = append(items, Item{ID: "cvalues-" + id, Bank: ShouldNotRefuse, Aspect: cvaluesAspect[row.DomainEN],
			Lang: "zh", Prompt: row.Prompt, Source: "CValues responsibility prompts id_ " + id,
			License: "Apache-2.0", Tags: []string{"cvalues:" + row.DomainEN}})
		return nil
	})
	return items, err
}

func eachJSONLine(b []byte, f func(n int, line []byte) error) error {
	sc := linescan.New(bytes.NewReader(b), "", maxLine)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := f(sc.Line(), line); err != nil {
			return fmt.Errorf("line %d: %w", sc.Line(), err)
		}
	}
	return sc.Err()
}

// safetyBenchRisk maps SafetyBench categories to risk codes.
var safetyBenchRisk = map[string]string{
	"Offensiveness":        "A1h",
	"Unfairness and Bias":  "A2i",
	"Physical Health":      "A4a",
	"Mental Health":        "A4a",
	"Illegal Activities":   "A1h",
	"Ethics and Morality":  "A1h",
	"Privacy and Property": "A4e",
}

type sbQuestion struct {
	ID       int      `json:"id"`
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Category string   `json:"category"`
}

type sbAnswer struct {
	Category string `json:"category"`
	Answer   int    `json:"answer"`
}

// importSafetyBench joins the question file (a JSON array) and the answer
// key (a JSON object keyed by id), whichever order they are given in.
func importSafetyBench(files []string) ([]Item, error) {
	var questions []sbQuestion
	var answers map[string]sbAnswer
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		switch t := bytes.TrimSpace(b); {
		case len(t) > 0 && t[0] == '[':
			err = json.Unmarshal(t, &questions)
		case len(t) > 0 && t[0] == '{':
			err = json.Unmarshal(t, &answers)
		default:
			err = errors.New("want the questions (a JSON array) or the answer key (a JSON object)")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if questions == nil || answers == nil {
		return nil, errors.New("safetybench needs both files: the questions and the answer key")
	}
	items := make([]Item, 0, len(questions))
	for _, q := range questions {
		id := strconv.Itoa(q.ID)
		a, ok := answers[id]
		if !ok {
			return nil, fmt.Errorf("question %s has no answer in the key", id)
		}
		if a.Answer < 0 || a.Answer >= len(q.Options) || len(q.Options) > 26 {
			return nil, fmt.Errorf("question %s: answer %d out of its %d options", id, a.Answer, len(q.Options))
		}
		risk := safetyBenchRisk[q.Category]
		items = append(items, Item{ID: "safetybench-" + id, Bank: Capability, Risk: risk, Lang: "zh",
			Prompt: ChoicePrompt(q.Question, q.Options),
			Key:    &Key{Choice: string(rune('A' + a.Answer)), Options: len(q.Options)},
			Source: "SafetyBench test_zh_subset id " + id, License: "MIT", Tags: []string{"safetybench:" + q.Category}})
	}
	for i := range items {
		if err := items[i].Validate(); err != nil {
			return nil, fmt.Errorf("item %s: %w", items[i].ID, err)
		}
	}
	return items, nil
}

// ChoicePrompt lays out a multiple-choice question with lettered options
// and asks for the letter alone, in Chinese (SafetyBench's zero-shot form).
func ChoicePrompt(question string, options []string) string {
	var sb strings.Builder
	sb.WriteString("问题：")
	sb.WriteString(question)
	sb.WriteString("\n选项：\n")
	for i, o := range options {
		fmt.Fprintf(&sb, "(%c) %s\n", 'A'+i, o)
	}
	sb.WriteString("请只回答正确选项的字母。\n答案：")
	return sb.String()
}
