package kb

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name, format, in string
		want             []string // substrings of the text
		not              []string // what must be gone
	}{
		{"text", FormatText, "\xef\xbb\xbfLine one.\r\nLine two.", []string{"Line one.\nLine two."}, []string{"\r", "\xef\xbb\xbf"}},
		{"markdown", FormatMarkdown, "# Dosage\n\nTake **two** tablets, see [the leaflet](http://x/y).\n\n```\ncode\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n- item one\n",
			[]string{"Dosage", "Take two tablets, see the leaflet.", "item one", "a   b"}, []string{"**", "http://x/y", "```", "---", "# "}},
		{"html", FormatHTML, `<html><head><title>T</title><style>p{color:red}</style></head><body><script>var x=1;</script><h1>退款规则</h1><p>七天内&amp;无理由退款。</p></body></html>`,
			[]string{"退款规则", "七天内&无理由退款。"}, []string{"color", "var x", "<p>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(tt.format, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("text %q lacks %q", got, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("text %q still holds %q", got, n)
				}
			}
		})
	}
}

func TestExtractPDF(t *testing.T) {
	doc := minimalPDF("Aspirin is taken with food.", "The daily limit is 4 grams.")
	got, err := Extract(FormatPDF, doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Aspirin is taken with food.", "The daily limit is 4 grams."} {
		if !strings.Contains(got, w) {
			t.Errorf("text %q lacks %q", got, w)
		}
	}
}

func TestExtractRefusesBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		format string
		data   []byte
	}{
		"not utf-8":       {FormatText, []byte{0xff, 0xfe, 'a'}},
		"empty":           {FormatMarkdown, []byte("  \n ")},
		"damaged pdf":     {FormatPDF, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer\n%%EOF")},
		"truncated pdf":   {FormatPDF, minimalPDF("hello")[:200]},
		"unknown format":  {"docx", []byte("x")},
		"html, not utf-8": {FormatHTML, []byte("<p>\xff</p>")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Extract(c.format, c.data); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("pdf", minimalPDF("hello world"))
	f.Add("html", []byte("<p>a<b>c</b></p><script>x</script>"))
	f.Add("markdown", []byte("# h\n[a](b) **c**"))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		text, err := Extract(format, data)
		if err == nil && strings.TrimSpace(text) == "" {
			t.Fatal("no error and no text")
		}
	})
}

// minimalPDF writes a one-page PDF with one line of Helvetica text per
// argument, with a correct cross-reference table.
func minimalPDF(lines ...string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) Tj T*\n", l)
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
