package label

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// An export keeps the explicit label (Labelling Measures Art. 6): when the
// text carries none at its start or end, the export adds one after the
// text, marked so that a verifier knows it is not part of the signed
// text. In Markdown the mark is this comment line, followed by one line:
// the label.
const markdownMark = "<!-- AIGC explicit label -->"

// Labelled reports whether text already carries an explicit label: its
// first or last line complies with CheckExplicit.
func Labelled(text string) bool {
	t := strings.TrimSpace(text)
	if t == "" {
		return false
	}
	first, _, _ := strings.Cut(t, "\n")
	last := t[strings.LastIndexByte(t, '\n')+1:]
	for _, line := range []string{first, last} {
		if line = strings.TrimSpace(line); line != "" && CheckExplicit(En, line) == nil {
			return true
		}
	}
	return false
}

// exportLabel is the explicit label an export adds to text, or "" when
// text carries one. lbl is the operator's choice; "" picks the default
// label in the text's language.
func exportLabel(text, lbl string) (string, error) {
	if Labelled(text) {
		return "", nil
	}
	if lbl == "" {
		lbl = Default().Text(Detect(text))
	}
	if err := CheckExplicit(En, lbl); err != nil {
		return "", err
	}
	return lbl, nil
}

// Markdown writes text as a Markdown document whose YAML front matter
// holds the AIGC object, with the explicit label kept (added when text
// has none; lbl picks its text, "" for the default in text's language).
func Markdown(a AIGC, text, lbl string) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	add, err := exportLabel(text, lbl)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("---\nAIGC:\n")
	for _, f := range a.fields() {
		fmt.Fprintf(&b, "  %s: \"%s\"\n", f.name, *f.v)
	}
	b.WriteString("---\n")
	b.WriteString(text)
	if add != "" {
		b.WriteString(Sep + markdownMark + "\n" + add)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// ParseMarkdown reads what Markdown wrote: the AIGC object of the front
// matter and the text, without a label the export added.
func ParseMarkdown(doc []byte) (AIGC, string, error) {
	s := string(doc)
	rest, ok := strings.CutPrefix(s, "---\n")
	if !ok {
		return AIGC{}, "", errors.New("markdown: no YAML front matter (the file must start with ---)")
	}
	front, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		return AIGC{}, "", errors.New("markdown: the front matter does not end (no --- line)")
	}
	var fm struct {
		AIGC map[string]string `yaml:"AIGC"`
	}
	if err := yaml.Unmarshal([]byte(front), &fm); err != nil {
		return AIGC{}, "", fmt.Errorf("markdown front matter: %w", err)
	}
	if fm.AIGC == nil {
		return AIGC{}, "", ErrNoAIGC
	}
	var a AIGC
	for _, f := range a.fields() {
		*f.v = fm.AIGC[f.name]
	}
	body = strings.TrimSuffix(body, "\n")
	if i := strings.LastIndex(body, Sep+markdownMark+"\n"); i >= 0 {
		if added := body[i+len(Sep+markdownMark+"\n"):]; !strings.Contains(added, "\n") && CheckExplicit(En, added) == nil {
			body = body[:i]
		}
	}
	return a, body, a.Validate()
}
