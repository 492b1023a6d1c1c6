package corpus

import (
	"encoding/json"
	"slices"

	"github.com/firebreak/firebreak/internal/jsonstr"
)

// appendItemLine appends a cleaned item as one JSON line, byte for byte
// what json.Marshal writes, without reflection or a copy to add the line
// end. An item with meta or changes (a few in a hundred) goes through
// json.Marshal itself; FuzzItemLine holds the rest to it.
func appendItemLine(b []byte, it *Item) ([]byte, error) {
	if len(it.Meta) > 0 || len(it.Changes) > 0 {
		j, err := json.Marshal(it)
		if err != nil {
			return b, err
		}
		return append(append(b, j...), '\n'), nil
	}
	// Room for the line when nothing needs escaping: one allocation.
	b = slices.Grow(b, len(it.ID)+len(it.Source)+len(it.Text)+32)
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, it.ID)
	b = append(b, `,"source":`...)
	b = jsonstr.Append(b, it.Source)
	b = append(b, `,"text":`...)
	b = jsonstr.Append(b, it.Text)
	return append(b, "}\n"...), nil
}
