package label

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// A DOCX export is a minimal WordprocessingML package: the text as one
// paragraph per line, the AIGC object as the value of the custom document
// property "AIGC" (docProps/custom.xml), and an explicit label the export
// adds as a last paragraph in the style "AIGCLabel".
const (
	docxLabelStyle = "AIGCLabel"
	nsW            = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
)

var docxStatic = map[string]string{
	"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
		`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
		`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
		`<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>` +
		`</Types>`,
	"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
		`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/>` +
		`</Relationships>`,
	"word/_rels/document.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
		`</Relationships>`,
	"word/styles.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="` + nsW + `">` +
		`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>` +
		`<w:style w:type="paragraph" w:customStyle="1" w:styleId="` + docxLabelStyle + `"><w:name w:val="AIGC Label"/>` +
		`<w:basedOn w:val="Normal"/><w:rPr><w:i/><w:color w:val="666666"/></w:rPr></w:style>` +
		`</w:styles>`,
}

// docxOrder is the order of the parts in the archive; [Content_Types].xml
// comes first, as readers that stream the archive expect.
var docxOrder = []string{"[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "docProps/custom.xml",
	"word/_rels/document.xml.rels", "word/styles.xml", "word/document.xml"}

// DOCX writes text as a Word document carrying the AIGC object in the
// custom property "AIGC" and the explicit label (added when text has none;
// lbl picks its text, "" for the default in text's language). created is
// the document's creation time.
func DOCX(a AIGC, text, lbl string, created time.Time) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	add, err := exportLabel(text, lbl)
	if err != nil {
		return nil, err
	}
	parts := map[string]string{
		"docProps/core.xml":   coreXML(created),
		"docProps/custom.xml": customXML(a),
		"word/document.xml":   documentXML(text, add),
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range docxOrder {
		body, ok := parts[name]
		if !ok {
			body = docxStatic[name]
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: created})
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func coreXML(created time.Time) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
		`xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<dc:creator>Firebreak</dc:creator>` +
		`<dcterms:created xsi:type="dcterms:W3CDTF">` + created.UTC().Format(time.RFC3339) + `</dcterms:created>` +
		`</cp:coreProperties>`
}

func customXML(a AIGC) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" ` +
		`xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">` +
		`<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="AIGC"><vt:lpwstr>` +
		escape(a.String()) + `</vt:lpwstr></property></Properties>`
}

func documentXML(text, add string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<w:document xmlns:w="` + nsW + `"><w:body>`)
	for line := range strings.SplitSeq(text, "\n") {
		paragraph(&b, line, "")
	}
	if add != "" {
		paragraph(&b, add, docxLabelStyle)
	}
	b.WriteString(`</w:body></w:document>`)
	return b.String()
}

func paragraph(b *strings.Builder, line, style string) {
	b.WriteString("<w:p>")
	if style != "" {
		b.WriteString(`<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`)
	}
	if line != "" {
		b.WriteString(`<w:r><w:t xml:space="preserve">` + escape(line) + `</w:t></w:r>`)
	}
	b.WriteString("</w:p>")
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// ParseDOCX reads what DOCX wrote: the AIGC custom property and the text
// (paragraphs joined by newlines), without a label the export added.
func ParseDOCX(doc []byte) (AIGC, string, error) {
	zr, err := zip.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return AIGC{}, "", fmt.Errorf("docx: %w", err)
	}
	custom, err := readPart(zr, "docProps/custom.xml")
	if err != nil {
		return AIGC{}, "", err
	}
	var props struct {
		Property []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"lpwstr"`
		} `xml:"property"`
	}
	if err := xml.Unmarshal(custom, &props); err != nil {
		return AIGC{}, "", fmt.Errorf("docx custom properties: %w", err)
	}
	var a AIGC
	found := false
	for _, p := range props.Property {
		if p.Name == "AIGC" {
			if a, err = ParseAIGC([]byte(p.Value)); err != nil {
				return AIGC{}, "", fmt.Errorf("docx: %w", err)
			}
			found = true
		}
	}
	if !found {
		return AIGC{}, "", ErrNoAIGC
	}
	body, err := readPart(zr, "word/document.xml")
	if err != nil {
		return AIGC{}, "", err
	}
	text, err := documentText(body)
	return a, text, err
}

func readPart(zr *zip.Reader, name string) ([]byte, error) {
	f, err := zr.Open(name)
	if err != nil {
		return nil, fmt.Errorf("docx: %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPart+1))
	if err == nil && len(b) > maxPart {
		err = fmt.Errorf("docx: %s: larger than %d MiB uncompressed, the most read", name, maxPart>>20)
	}
	return b, err
}

// maxPart bounds one part of a DOCX as decompressed; a larger part is an
// error, not read in part (a text cut short would verify as altered).
const maxPart = 64 << 20

// documentText joins the text of the body's paragraphs by newlines,
// skipping paragraphs in the added label's style.
func documentText(body []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var paras []string
	var cur strings.Builder
	inText, isLabel := false, false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return strings.Join(paras, "\n"), nil
		}
		if err != nil {
			return "", fmt.Errorf("docx document: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != nsW {
				continue
			}
			switch t.Name.Local {
			case "p":
				cur.Reset()
				isLabel = false
			case "pStyle":
				for _, at := range t.Attr {
					isLabel = isLabel || at.Name.Local == "val" && at.Value == docxLabelStyle
				}
			case "t":
				inText = true
			case "tab":
				cur.WriteByte('\t')
			case "br":
				cur.WriteByte('\n')
			}
		case xml.EndElement:
			switch {
			case t.Name.Space == nsW && t.Name.Local == "t":
				inText = false
			case t.Name.Space == nsW && t.Name.Local == "p" && !isLabel:
				paras = append(paras, cur.String())
			}
		case xml.CharData:
			if inText {
				cur.Write(t)
			}
		}
	}
}
