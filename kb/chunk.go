package kb

import (
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/kb/support"
)

// ChunkOptions shape the chunks of a document.
type ChunkOptions struct {
	// Size is the most characters (runes) a chunk holds; a sentence longer
	// than Size is cut. Default 500.
	Size int
	// Overlap is how many characters of whole sentences at the end of a
	// chunk begin the next one too, so a fact that straddles a boundary is
	// whole in one chunk. Default 100; at most Size/2.
	Overlap int
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.Size <= 0 {
		o.Size = 500
	}
	if o.Overlap < 0 {
		o.Overlap = 0
	} else if o.Overlap == 0 {
		o.Overlap = 100
	}
	o.Overlap = min(o.Overlap, o.Size/2)
	return o
}

// Chunk cuts text into chunks of whole sentences of at most Size
// characters each, each chunk after the first beginning with the last
// sentences (up to Overlap characters) of the one before. Blank chunks
// are dropped.
func Chunk(text string, opts ChunkOptions) []string {
	opts = opts.withDefaults()
	var pieces []string
	for _, s := range support.Sentences(text) {
		pieces = append(pieces, cut(s, opts.Size)...)
	}
	var chunks []string
	var cur []string
	size := 0
	fresh := false // cur holds something no chunk has yet
	emit := func() {
		if c := strings.TrimSpace(strings.Join(cur, "")); c != "" {
			chunks = append(chunks, c)
		}
	}
	for _, p := range pieces {
		n := utf8.RuneCountInString(p)
		if size+n > opts.Size && len(cur) > 0 {
			emit()
			fresh = false
			// Keep the tail of cur, whole sentences, up to Overlap.
			keep, kept := 0, 0
			for i := len(cur) - 1; i >= 0; i-- {
				m := utf8.RuneCountInString(cur[i])
				if kept+m > opts.Overlap || kept+m+n > opts.Size {
					break
				}
				kept += m
				keep++
			}
			cur = append([]string(nil), cur[len(cur)-keep:]...)
			size = kept
		}
		cur = append(cur, p)
		size += n
		fresh = true
	}
	if fresh {
		emit()
	}
	return chunks
}

// cut splits s into pieces of at most size runes.
func cut(s string, size int) []string {
	if utf8.RuneCountInString(s) <= size {
		return []string{s}
	}
	var out []string
	r := []rune(s)
	for len(r) > size {
		out = append(out, string(r[:size]))
		r = r[size:]
	}
	if len(r) > 0 {
		out = append(out, string(r))
	}
	return out
}
