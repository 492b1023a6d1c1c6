package kb

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/net/html"

	"github.com/firebreak/firebreak/clienterr"
)

// Formats a document may come in.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
	FormatPDF      = "pdf"
)

// MaxDocumentBytes bounds one document as uploaded.
const MaxDocumentBytes = 32 << 20

// Bounds on what a PDF may unfold into, so that a small hostile file
// cannot hold a core or fill memory: its page tree is walked to at most
// MaxPDFPages pages, MaxPDFTreeDepth levels deep (a tree whose kids name
// their parent is refused at that depth), and its pages' content streams
// may decompress to at most MaxPDFContentBytes in all (a page's text is
// drawn from its content, so this bounds the text too).
const (
	MaxPDFPages        = 10_000
	MaxPDFTreeDepth    = 64
	MaxPDFContentBytes = 64 << 20
)

// Bounds on the work of reading a PDF's objects. The reader decompresses
// an object stream again, from its start, for every object it looks up
// in it, so the work is lookups × stream size: each object stream may
// decompress to at most MaxPDFObjectStreamBytes (measured before the
// reader looks anything up; only FlateDecode or no filter, and not in an
// encrypted file, where it cannot be measured), and reading one document
// (page tree, content, text) may take at most MaxPDFReadTime, checked
// between pages and page-tree nodes.
const (
	MaxPDFObjectStreamBytes = 2 << 20
	MaxPDFReadTime          = 20 * time.Second
)

// pdfReadTime is MaxPDFReadTime; tests shorten it.
var pdfReadTime = MaxPDFReadTime

// FormatOf names the format of a file by its extension: .md and
// .markdown are Markdown, .html and .htm HTML, .pdf PDF, anything else
// plain text.
func FormatOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return FormatMarkdown
	case ".html", ".htm":
		return FormatHTML
	case ".pdf":
		return FormatPDF
	}
	return FormatText
}

// Extract returns the text of a document in the given format. A document
// that cannot be read is a client error naming what is wrong with it.
func Extract(format string, data []byte) (string, error) {
	if len(data) > MaxDocumentBytes {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "document is larger than %d MiB", MaxDocumentBytes>>20)
	}
	var text string
	var err error
	switch format {
	case FormatText:
		text, err = plain(data)
	case FormatMarkdown:
		text, err = plain(data)
		text = markdownText(text)
	case FormatHTML:
		text, err = htmlText(data)
	case FormatPDF:
		text, err = pdfText(data)
	default:
		return "", clienterr.Errorf(clienterr.InvalidRequest, "unknown document format %q (text, markdown, html, pdf)", format)
	}
	if err != nil {
		return "", err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "the document holds no text")
	}
	return text, nil
}

func plain(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "the document is not UTF-8 text")
	}
	return strings.ReplaceAll(string(data), "\r\n", "\n"), nil
}

var (
	mdFence    = regexp.MustCompile("^\\s*(```|~~~)")
	mdHeading  = regexp.MustCompile(`^\s{0,3}#{1,6}\s+`)
	mdList     = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s+`)
	mdQuote    = regexp.MustCompile(`^\s*>\s?`)
	mdImage    = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdEmphasis = regexp.MustCompile(`(\*\*|__|\*|_|~~|` + "`" + `)`)
	mdRule     = regexp.MustCompile(`^\s*([-*_]\s*){3,}$`)
	mdTable    = regexp.MustCompile(`^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$`)
)

// markdownText drops Markdown's markup and keeps its words: headings,
// list items and quotes become plain lines, links and images their text,
// tables their cells. A heading ends its line with a full stop when it
// has none, so that it is a sentence of its own.
func markdownText(md string) string {
	var b strings.Builder
	for _, line := range strings.Split(md, "\n") {
		switch {
		case mdFence.MatchString(line), mdRule.MatchString(line), mdTable.MatchString(line):
			b.WriteByte('\n')
			continue
		case mdHeading.MatchString(line):
			line = mdHeading.ReplaceAllString(line, "")
		}
		line = mdList.ReplaceAllString(line, "")
		line = mdQuote.ReplaceAllString(line, "")
		line = mdImage.ReplaceAllString(line, "$1")
		line = mdLink.ReplaceAllString(line, "$1")
		line = mdEmphasis.ReplaceAllString(line, "")
		line = strings.Trim(strings.ReplaceAll(line, "|", " "), " \t")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// htmlText is the text of an HTML page: text nodes outside script, style
// and the like, with line breaks at block elements. Character entities
// are decoded.
func htmlText(data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "the HTML document is not UTF-8")
	}
	z := html.NewTokenizer(bytes.NewReader(data))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return b.String(), nil
			}
			return "", clienterr.Wrap(clienterr.InvalidRequest, z.Err(), "could not read the HTML document")
		case html.TextToken:
			if skip == 0 {
				b.WriteString(strings.Join(strings.Fields(string(z.Text())), " "))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if invisible[tag] {
				skip++
			}
			if block[tag] {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if invisible[tag] && skip > 0 {
				skip--
			}
			if block[tag] {
				b.WriteByte('\n')
			}
		}
	}
}

var invisible = map[string]bool{"script": true, "style": true, "noscript": true, "template": true, "head": true, "svg": true}

var block = map[string]bool{"p": true, "div": true, "br": true, "li": true, "tr": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "section": true, "article": true, "table": true, "ul": true, "ol": true,
	"blockquote": true, "pre": true, "header": true, "footer": true, "title": true, "dd": true, "dt": true}

// pdfText is the text of a PDF's pages, a line break between pages. The
// PDF reader may panic on a damaged file; that is the client's file, not
// a server failure. The pages are found and their content measured here,
// within the bounds above, before the reader interprets any of them.
func pdfText(data []byte) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, err = "", clienterr.Errorf(clienterr.InvalidRequest, "could not read the PDF document: %v", p)
		}
	}()
	if xrefLoop(data) {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "the PDF's cross-reference sections name each other in a loop (/Prev), or more than %d of them", maxXrefSections)
	}
	streams := objStreams(data)
	if objStmLoop(streams) {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "the PDF's object streams extend each other in a loop (/Extends)")
	}
	if err := objStreamsWithin(streams, data, MaxPDFObjectStreamBytes); err != nil {
		return "", err
	}
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", clienterr.Wrap(clienterr.InvalidRequest, err, "could not read the PDF document: "+err.Error())
	}
	if len(streams) > 0 && !r.Trailer().Key("Encrypt").IsNull() {
		return "", clienterr.Errorf(clienterr.InvalidRequest, "the PDF is encrypted and has object streams, whose size cannot be checked: save it without encryption")
	}
	d := readDeadline(time.Now().Add(pdfReadTime))
	pages, err := pdfPages(r.Trailer().Key("Root").Key("Pages"), d)
	if err != nil {
		return "", err
	}
	if err := pdfContentWithin(pages, MaxPDFContentBytes, d); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, p := range pages {
		if err := d.check(); err != nil {
			return "", err
		}
		t, err := p.GetPlainText(nil)
		if err != nil {
			return "", clienterr.Wrap(clienterr.InvalidRequest, err, fmt.Sprintf("could not read page %d of the PDF document", i+1))
		}
		b.WriteString(t)
		b.WriteString("\n\n")
	}
	return b.String(), nil
}

// maxXrefSections bounds a PDF's chain of cross-reference sections (one
// per incremental update).
const maxXrefSections = 1000

var (
	startXref = regexp.MustCompile(`startxref\s+(\d+)\s*(?:%%EOF\s*)?$`)
	xrefPrev  = regexp.MustCompile(`/Prev\s+(\d+)`)
)

// xrefLoop follows the /Prev chain of a PDF's cross-reference sections
// from the last startxref, as the reader will, and reports a chain that
// comes back to a section or runs past maxXrefSections: the reader
// follows such a chain forever. Where a section cannot be read here the
// walk stops and the reader decides.
func xrefLoop(data []byte) bool {
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		return false
	}
	m := startXref.FindSubmatch(bytes.TrimRight(data[i:], "\x00 \t\r\n"))
	if m == nil {
		return false
	}
	seen := map[int]bool{}
	for off, err := strconv.Atoi(string(m[1])); err == nil; off, err = strconv.Atoi(string(m[1])) {
		if off < 0 || off >= len(data) {
			return false
		}
		if seen[off] || len(seen) == maxXrefSections {
			return true
		}
		seen[off] = true
		// The section's dictionary: a table's trailer up to its startxref,
		// or a stream's dictionary up to "stream".
		d, end := data[off:], []byte("stream")
		if bytes.HasPrefix(bytes.TrimLeft(d, " \t\r\n"), []byte("xref")) {
			t := bytes.Index(d, []byte("trailer"))
			if t < 0 {
				return false
			}
			d, end = d[t:], []byte("startxref")
		}
		if e := bytes.Index(d, end); e >= 0 {
			d = d[:e]
		}
		if m = xrefPrev.FindSubmatch(d); m == nil {
			return false
		}
	}
	return false
}

var (
	objHeader  = regexp.MustCompile(`(\d+)\s+\d+\s+obj\b`)
	objStmType = regexp.MustCompile(`/Type\s*/ObjStm\b`)
	objExtends = regexp.MustCompile(`/Extends\s+(\d+)\s+\d+\s+R`)
)

// objStream is an object stream as written in the file: its object
// number, its dictionary and where its data starts.
type objStream struct {
	id    string
	dict  []byte
	start int
}

// objStreams finds a PDF's object streams. Object streams are never in
// object streams themselves, so their dictionaries are in the file as
// written.
func objStreams(data []byte) []objStream {
	hdrs := objHeader.FindAllSubmatchIndex(data, -1)
	var out []objStream
	for i, h := range hdrs {
		end := len(data)
		if i+1 < len(hdrs) {
			end = hdrs[i+1][0]
		}
		d, start := data[h[1]:end], -1
		if e := bytes.Index(d, []byte("stream")); e >= 0 {
			d, start = d[:e], h[1]+e+len("stream")
			if rest := data[start:]; bytes.HasPrefix(rest, []byte("\r\n")) {
				start += 2
			} else if len(rest) > 0 && (rest[0] == '\n' || rest[0] == '\r') {
				start++
			}
		}
		if objStmType.Match(d) {
			out = append(out, objStream{id: string(data[h[2]:h[3]]), dict: d, start: start})
		}
	}
	return out
}

// objStmLoop reports object streams whose /Extends lead back to one of
// them: the reader, looking for an object in such a stream, follows the
// chain forever.
func objStmLoop(streams []objStream) bool {
	extends := map[string]string{}
	for _, st := range streams {
		if m := objExtends.FindSubmatch(st.dict); m != nil {
			extends[st.id] = string(m[1])
		}
	}
	// Follow each chain once: a stream met again on the chain being
	// followed closes a loop; one met on a chain already followed does not.
	const onPath, done = 1, 2
	state := map[string]int{}
	for from := range extends {
		var path []string
		n, ok := from, true
		for ok && state[n] == 0 {
			state[n] = onPath
			path = append(path, n)
			n, ok = extends[n]
		}
		if ok && state[n] == onPath {
			return true
		}
		for _, p := range path {
			state[p] = done
		}
	}
	return false
}

var objFilter = regexp.MustCompile(`/Filter\s*(\[?)\s*/(\w+)\s*(\]?)`)

// objStreamsWithin decompresses each object stream as the reader will
// and refuses one that comes to more than max bytes, or whose filter is
// not FlateDecode (or none), which is not measured here. A stream that
// does not inflate is counted to where it stops: the reader reports the
// damage.
func objStreamsWithin(streams []objStream, data []byte, max int64) error {
	for _, st := range streams {
		if st.start < 0 {
			continue
		}
		var n int64
		m := objFilter.FindSubmatch(st.dict)
		switch {
		case m == nil && !bytes.Contains(st.dict, []byte("/Filter")):
			end := bytes.Index(data[st.start:], []byte("endstream"))
			if n = int64(end); end < 0 {
				n = int64(len(data) - st.start)
			}
		case m != nil && string(m[2]) == "FlateDecode" && len(m[1]) == len(m[3]):
			zr, err := zlib.NewReader(bytes.NewReader(data[st.start:]))
			if err != nil {
				continue
			}
			n, _ = io.Copy(io.Discard, io.LimitReader(zr, max+1))
		default:
			return clienterr.Errorf(clienterr.InvalidRequest, "object stream %s of the PDF has a filter other than FlateDecode, whose size cannot be checked", st.id)
		}
		if n > max {
			return clienterr.Errorf(clienterr.InvalidRequest, "object stream %s of the PDF decompresses to more than %d MiB, the most one may hold (the reader reads it again for every object in it)", st.id, max>>20)
		}
	}
	return nil
}

// readDeadline is when reading one PDF must be done.
type readDeadline time.Time

func (d readDeadline) check() error {
	if time.Now().After(time.Time(d)) {
		return clienterr.Errorf(clienterr.InvalidRequest, "reading the PDF took more than %v, the most one document may take", pdfReadTime)
	}
	return nil
}

// pdfPages lists the pages of a page tree in order, refusing a tree
// deeper than MaxPDFTreeDepth, with more than MaxPDFPages pages or with
// more than twice as many nodes (kids may name one node many times).
func pdfPages(root pdf.Value, d readDeadline) ([]pdf.Page, error) {
	var pages []pdf.Page
	nodes := 0
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		if err := d.check(); err != nil {
			return err
		}
		if nodes++; nodes > 2*MaxPDFPages {
			return clienterr.Errorf(clienterr.InvalidRequest, "the PDF's page tree has more than %d nodes (at most %d pages)", 2*MaxPDFPages, MaxPDFPages)
		}
		switch v.Key("Type").Name() {
		case "Pages":
			if depth >= MaxPDFTreeDepth {
				return clienterr.Errorf(clienterr.InvalidRequest, "the PDF's page tree is more than %d levels deep (a tree that contains itself?)", MaxPDFTreeDepth)
			}
			kids := v.Key("Kids")
			for i := range kids.Len() {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
		case "Page":
			if len(pages) == MaxPDFPages {
				return clienterr.Errorf(clienterr.InvalidRequest, "the PDF has more than %d pages, the most a document may have", MaxPDFPages)
			}
			if !inheritsWithin(v, "Resources", MaxPDFTreeDepth) {
				return clienterr.Errorf(clienterr.InvalidRequest, "page %d of the PDF has a chain of parents more than %d long (a page that is its own parent?)", len(pages)+1, MaxPDFTreeDepth)
			}
			pages = append(pages, pdf.Page{V: v})
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// inheritsWithin reports whether the reader's search for an inherited
// key (the page, then its parents) ends within max steps: found, or no
// parent left.
func inheritsWithin(v pdf.Value, key string, max int) bool {
	for range max {
		if v.IsNull() || !v.Key(key).IsNull() {
			return true
		}
		v = v.Key("Parent")
	}
	return v.IsNull() || !v.Key(key).IsNull()
}

// pdfContentWithin decompresses what the reader will for each page (its
// content streams and its fonts' ToUnicode maps, read again for every
// page), counting and discarding, and refuses them when they come to more
// than max bytes.
func pdfContentWithin(pages []pdf.Page, max int64, d readDeadline) error {
	var total int64
	for _, p := range pages {
		if err := d.check(); err != nil {
			return err
		}
		c := p.V.Key("Contents")
		streams := []pdf.Value{c}
		if c.Kind() == pdf.Array {
			streams = streams[:0]
			for i := range c.Len() {
				streams = append(streams, c.Index(i))
			}
		}
		for _, name := range p.Fonts() {
			streams = append(streams, p.Font(name).V.Key("ToUnicode"))
		}
		for _, s := range streams {
			if s.Kind() != pdf.Stream {
				continue
			}
			rc := s.Reader()
			n, _ := io.Copy(io.Discard, io.LimitReader(rc, max-total+1)) // a damaged stream is the reader's to report
			rc.Close()
			if total += n; total > max {
				return clienterr.Errorf(clienterr.InvalidRequest, "the PDF's page content and font maps decompress to more than %d MiB, the most a document may hold", max>>20)
			}
		}
	}
	return nil
}
