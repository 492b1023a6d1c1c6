package lexicon

// Stream finds terms in a text that arrives in chunks. Matches carry
// absolute offsets into the whole stream; the matches of all Writes and
// Close are exactly those of Find on the concatenated text, whatever the
// chunking, including chunks that end inside a UTF-8 sequence.
// A Stream is not safe for concurrent use.
type Stream struct {
	sc    scanner
	carry []byte // an incomplete rune from the end of the last chunk
	done  bool
}

// NewStream starts a stream at offset 0.
func (l *Lexicon) NewStream() *Stream {
	st := &Stream{}
	st.sc.init(l)
	return st
}

// Write scans chunk and returns the matches it confirms, in no particular
// order. The returned slice is valid until the next call.
func (st *Stream) Write(chunk string) []Match {
	if st.done {
		return nil
	}
	st.sc.out = st.sc.out[:0]
	if len(st.carry) > 0 {
		chunk = st.completeCarry(chunk)
	}
	cut := validUTF8Tail(chunk)
	st.sc.scan(chunk[:cut], true)
	if cut < len(chunk) {
		st.carry = append(st.carry[:0], chunk[cut:]...)
	}
	st.sc.settle(false)
	return st.sc.out
}

// completeCarry finishes the rune split across chunks and returns the rest
// of chunk.
func (st *Stream) completeCarry(chunk string) string {
	need := len(chunk)
	for n := 1; n <= len(chunk); n++ {
		buf := append(st.carry, chunk[:n]...)
		if validUTF8Tail(string(buf)) == len(buf) {
			need = n
			break
		}
	}
	buf := append(st.carry, chunk[:need]...)
	st.carry = st.carry[:0]
	if validUTF8Tail(string(buf)) < len(buf) {
		st.carry = append(st.carry, buf...) // still incomplete: chunk was tiny
		return ""
	}
	st.sc.scan(string(buf), true)
	return chunk[need:]
}

// Safe is the number of bytes at the start of the stream in which no
// current or future match can start: the stream may release them.
func (st *Stream) Safe() int {
	safe, _ := st.sc.floor()
	for _, c := range st.sc.pending {
		safe = min(safe, c.start)
	}
	return safe
}

// Close ends the stream and returns the matches still pending.
func (st *Stream) Close() []Match {
	if st.done {
		return nil
	}
	st.done = true
	st.sc.out = st.sc.out[:0]
	if len(st.carry) > 0 {
		st.sc.scan(string(st.carry), false) // invalid bytes, one at a time
		st.carry = nil
	}
	st.sc.settle(true)
	return st.sc.out
}

// Pos is the number of bytes written so far.
func (st *Stream) Pos() int { return st.sc.pos + len(st.carry) }
