package safety

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkReadStreamWrite20 is the cost of one ReadStream.Write of a
// 20-byte chunk (100k terms): /plain is text with nothing to read
// otherwise, /numbers the same with a number every 200 bytes or so (a
// digit may stand for a letter), /escapes with an escape as often.
func BenchmarkReadStreamWrite20(b *testing.B) {
	e := benchEngine(b, 100_000)
	base := benchText(64<<10, 2)
	with := func(every func(i int) string) string {
		var s strings.Builder
		for i, w := range strings.SplitAfter(base, " ") {
			s.WriteString(w)
			if i%40 == 39 {
				s.WriteString(every(i))
			}
		}
		return s.String()
	}
	for _, tt := range []struct{ name, text string }{
		{"plain", base},
		{"numbers", with(func(i int) string { return strconv.Itoa(i) + " " })},
		{"escapes", with(func(int) string { return "&amp; " })},
	} {
		b.Run(tt.name, func(b *testing.B) {
			benchWrites(b, tt.text, func() streamWriter { return e.NewReadStream(Output) })
		})
	}
}
