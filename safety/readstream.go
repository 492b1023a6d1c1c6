package safety

import (
	"bytes"
	"strings"
)

// maxEscape is the longest escape that is decoded whole: a named
// character reference with its ampersand and semicolon. maxWord is the
// longest word whose digits are read as letters across chunks. maxRun is
// the longest run of Base64 read decoded across chunks: a longer one is
// read as written from where it passes maxRun.
const (
	maxEscape = 34
	maxWord   = 64
	maxRun    = 4096
)

// ReadStream is CheckRead for a stream: it reviews a text in one
// direction (a streamed answer's) as written and, from
// the first place a reader reads otherwise (reading: an escape, Base64, a
// digit for a letter), as read too: what the review as written releases is held
// until the review of the reading has passed the place where it is
// written. Until then the two readings are the same, and only the last
// characters that may begin an escape, and the last word or run of Base64
// (up to maxRun bytes), wait for the next chunk.
type ReadStream struct {
	e    *Engine
	dir  Direction
	raw  *Stream
	dec  *Stream   // nil until the first escape
	text []byte    // the text as written
	fed  int       // bytes of text the decoded reading has taken
	at   []int     // for each byte of the decoded reading, where it is written
	read []byte    // the decoded reading
	held []segment // released as written, not yet as decoded
}

// segment is text the review as written released, which ends at byte
// end of the text.
type segment struct {
	end  int
	text string
}

// NewReadStream starts a ReadStream of text in direction dir.
func (e *Engine) NewReadStream(dir Direction) *ReadStream {
	return &ReadStream{e: e, dir: dir, raw: e.NewStream(dir)}
}

// Write adds chunk and returns what may go to the client now.
func (es *ReadStream) Write(chunk string) StreamResult {
	es.text = append(es.text, chunk...)
	res := es.raw.Write(chunk)
	if res.Stop {
		return res
	}
	if dr := es.feed(false); dr.Stop {
		return dr
	}
	res.Release = es.release(res.Release, false)
	return res
}

// Close ends the text: both readings are decided and what was held goes.
func (es *ReadStream) Close() StreamResult {
	res := es.raw.Close()
	if res.Stop {
		return res
	}
	if dr := es.feed(true); dr.Stop {
		return dr
	}
	if es.dec != nil {
		dr := es.hidden(es.dec.Close())
		if dr.Stop {
			return dr
		}
		if dr.Decision.Action > res.Decision.Action {
			res.Decision = dr.Decision
		}
	}
	res.Release = es.release(res.Release, true)
	return res
}

// feed gives the decoded reading the text written since, all of it when
// final, else up to the first place in its last maxEscape bytes where an
// escape may begin.
func (es *ReadStream) feed(final bool) StreamResult {
	end := len(es.text)
	if !final {
		from := max(es.fed, end-maxEscape)
		if k := bytes.IndexAny(es.text[from:end], escapeStarts); k >= 0 {
			end = from + k
		}
		if end == len(es.text) { // a word with digits or a run of Base64 may go on in the next chunk
			w := end
			for w > es.fed && end-w < maxRun && isBase64OrPad(es.text[w-1]) {
				w--
			}
			if end-w < maxRun && (w == 0 || !isBase64OrPad(es.text[w-1])) {
				end = w
			}
		}
	}
	if end <= es.fed {
		return StreamResult{}
	}
	// Base64 is read decoded in runs that begin in this part. A run that
	// goes on from before was longer than maxRun: it and the rest of this
	// part are read as written.
	goesOn := es.fed > 0 && isBase64OrPad(es.text[es.fed-1]) && isBase64OrPad(es.text[es.fed])
	if es.dec == nil && bytes.IndexAny(es.text[es.fed:end], escapeStarts+"013457") < 0 &&
		(goesOn || !hasRun(es.text[es.fed:end], minBase64)) {
		es.fed = end // read the same as written
		return StreamResult{}
	}
	// The letters of a word begun before are read with it ("kil" + "1"),
	// then left out: they were read already.
	ctx := es.fed
	for ctx > 0 && es.fed-ctx < maxWord && isAlnum(es.text[ctx-1]) {
		ctx--
	}
	from64 := es.fed - ctx // the word begun before is read as written
	if goesOn {
		from64 = -1
	}
	decoded, at, ok := reading(string(es.text[ctx:end]), from64)
	if ok {
		k := es.fed - ctx // plain letters and digits: one byte each in the reading
		decoded, at = decoded[k:], at[k:]
		for i := range at {
			at[i] -= k
		}
	}
	if !ok && es.dec == nil {
		es.fed = end
		return StreamResult{}
	}
	if es.dec == nil { // the first escape: read what came before, the same in both readings
		es.dec = es.e.NewStream(es.dir)
		es.dec.unread = true // only its offset is read (release)
		for i := range es.fed {
			es.at = append(es.at, i)
		}
		es.read = append(es.read, es.text[:es.fed]...)
		if res := es.dec.Write(string(es.text[:es.fed])); res.Stop {
			return res
		}
	}
	if !ok {
		decoded, at = string(es.text[es.fed:end]), nil
	}
	for i := range len(decoded) {
		if at != nil {
			es.at = append(es.at, es.fed+at[i])
		} else {
			es.at = append(es.at, es.fed+i)
		}
	}
	es.fed = end
	es.read = append(es.read, decoded...)
	return es.hidden(es.dec.Write(decoded))
}

// hidden turns a mask hit of the decoded reading into a refusal when the
// masked term is written otherwise than read (escaped, digits for
// letters): a mask cannot be applied where the client decodes it, and
// the text as written passed the review as written.
func (es *ReadStream) hidden(res StreamResult) StreamResult {
	if res.Stop {
		return res
	}
	for _, h := range res.Hits {
		if h.Action != Mask || h.End > len(es.read) {
			continue
		}
		from, to := es.at[h.Start], es.fed
		if h.End < len(es.at) {
			to = es.at[h.End]
		}
		if string(es.text[from:to]) == string(es.read[h.Start:h.End]) {
			continue // written as read: the review as written masks it
		}
		h.Action = Refuse
		if d := es.e.Decide(es.dir, string(es.read), []Hit{h}); d.Action >= Refuse {
			return StreamResult{Stop: true, Decision: d, Hits: res.Hits}
		}
	}
	return res
}

// release queues what the review as written released and returns what
// both readings have passed.
func (es *ReadStream) release(text string, final bool) string {
	if text != "" {
		es.held = append(es.held, segment{end: es.raw.Released(), text: text})
	}
	bound := es.fed
	if es.dec != nil && es.dec.Released() < len(es.at) {
		bound = es.at[es.dec.Released()]
	}
	n := 0
	for n < len(es.held) && (final || es.held[n].end <= bound) {
		n++
	}
	switch n {
	case 0:
		return ""
	case 1:
		t := es.held[0].text
		es.held = es.held[1:]
		return t
	}
	var b strings.Builder
	for _, s := range es.held[:n] {
		b.WriteString(s.text)
	}
	es.held = es.held[n:]
	return b.String()
}

// hasRun reports whether b holds a run of at least n Base64 characters.
func hasRun(b []byte, n int) bool {
	run := 0
	for _, c := range b {
		if isBase64(c) {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func isBase64OrPad(c byte) bool { return isBase64(c) || c == '=' }
