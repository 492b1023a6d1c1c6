package label_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/label"
)

// exports are the export formats with their readers.
var exports = []struct {
	name  string
	write func(a label.AIGC, text, lbl string) ([]byte, error)
	read  func([]byte) (label.AIGC, string, error)
}{
	{"markdown", label.Markdown, label.ParseMarkdown},
	{"docx", func(a label.AIGC, text, lbl string) ([]byte, error) {
		return label.DOCX(a, text, lbl, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	}, label.ParseDOCX},
}

func TestExportRoundTrip(t *testing.T) {
	texts := map[string]string{
		"labelled":   "第一段。\n\n第二段，含 <标签> & \"引号\"。\n\n本内容由人工智能生成",
		"unlabelled": `{"answer": 42, "note": "JSON mode"}`,
		"english":    "Line one.\n\tIndented line.\n\nAI-generated content",
		"trailing":   "ends with a newline\n",
		"empty":      "",
	}
	for _, ex := range exports {
		for name, text := range texts {
			t.Run(ex.name+"/"+name, func(t *testing.T) {
				_, keys, a := signed(t, text)
				doc, err := ex.write(a, text, "")
				if err != nil {
					t.Fatal(err)
				}
				got, gotText, err := ex.read(doc)
				if err != nil {
					t.Fatal(err)
				}
				if got != a || gotText != text {
					t.Fatalf("read back %+v %q, want %+v %q", got, gotText, a, text)
				}
				if r := label.Verify(label.Claim{AIGC: got, Text: gotText}, keys, nil, false); r.Verdict != label.Genuine {
					t.Fatalf("verify: %+v", r)
				}
				// Exports keep the explicit label: added when the text has none.
				if ex.name == "markdown" && !label.Labelled(text) && !strings.Contains(string(doc), "\n本内容由人工智能生成\n") && !strings.Contains(string(doc), "\nAI-generated content\n") {
					t.Errorf("no explicit label in the export:\n%s", doc)
				}
			})
		}
	}
}

// TestMarkdownOneByteChanged changes one byte of the text and of each
// AIGC member in the exported file: verify names what changed.
func TestMarkdownOneByteChanged(t *testing.T) {
	text := "一个回答。\n\nAI生成"
	_, keys, a := signed(t, text)
	doc, err := label.Markdown(a, text, "")
	if err != nil {
		t.Fatal(err)
	}
	change := func(old, new string) []byte {
		if !bytes.Contains(doc, []byte(old)) {
			t.Fatalf("%q not in the export", old)
		}
		return bytes.Replace(doc, []byte(old), []byte(new), 1)
	}
	tests := map[string][]byte{
		"text":            change("一个回答", "一个回签"),
		"ContentProducer": change(`ContentProducer: "firebreak"`, `ContentProducer: "firebreal"`),
		"ProduceID":       change(a.ProduceID, a.ProduceID[:25]+"1"),
		"Label":           change(`Label: "1"`, `Label: "2"`),
	}
	for want, doc := range tests {
		got, gotText, err := label.ParseMarkdown(doc)
		if err != nil {
			t.Fatal(err)
		}
		if r := label.Verify(label.Claim{AIGC: got, Text: gotText}, keys, nil, false); r.Verdict != label.Altered || !slices.Equal(r.Altered, []string{want}) {
			t.Errorf("%s changed: %+v", want, r)
		}
	}
}

// TestDOCXIndependentReader reads the DOCX export with Python's zipfile
// and xml modules, which share no code with ParseDOCX: the custom property
// AIGC holds the label, the paragraphs hold the text and the label.
func TestDOCXIndependentReader(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed: ./scripts/test installs it, or apt-get install python3")
	}
	text := "第一行 <b>&\n\n第三行"
	_, _, a := signed(t, text)
	doc, err := label.DOCX(a, text, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "answer.docx")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `
import json, sys, zipfile
import xml.etree.ElementTree as ET
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
assert names[0] == "[Content_Types].xml", names
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
VT = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
CP = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
props = {p.get("name"): p.find(VT + "lpwstr").text for p in ET.fromstring(z.read("docProps/custom.xml")).iter(CP + "property")}
paras = []
for p in ET.fromstring(z.read("word/document.xml")).iter(W + "p"):
    style = p.find(W + "pPr/" + W + "pStyle")
    paras.append({"style": style.get(W + "val") if style is not None else "",
                  "text": "".join(t.text or "" for t in p.iter(W + "t"))})
ET.fromstring(z.read("[Content_Types].xml"))
print(json.dumps({"aigc": json.loads(props["AIGC"]), "paragraphs": paras}))
`
	out, err := exec.Command(python, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got struct {
		AIGC       label.AIGC
		Paragraphs []struct{ Style, Text string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.AIGC != a {
		t.Errorf("AIGC property = %+v, want %+v", got.AIGC, a)
	}
	var lines []string
	for _, p := range got.Paragraphs[:len(got.Paragraphs)-1] {
		lines = append(lines, p.Text)
	}
	last := got.Paragraphs[len(got.Paragraphs)-1]
	if strings.Join(lines, "\n") != text || last.Style != "AIGCLabel" || label.CheckExplicit(label.Zh, last.Text) != nil {
		t.Errorf("paragraphs = %+v", got.Paragraphs)
	}
}
