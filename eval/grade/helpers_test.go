package grade

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/safety/starter"
)

// firstTerm returns a term of the starter lexicon.
func firstTerm(t *testing.T) string {
	t.Helper()
	for _, name := range starter.Names {
		data, err := starter.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				term, _, _ := strings.Cut(line, "\t")
				return term
			}
		}
	}
	t.Fatal("starter lexicon is empty")
	return ""
}
