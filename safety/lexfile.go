package safety

import (
	"io"

	"github.com/firebreak/firebreak/safety/lexicon"
)

// ParseLexicon reads a plain lexicon file (term<TAB>code[<TAB>action]
// [<TAB>flags], see lexicon.ParseFile), checking codes against RiskCodes
// and actions against the action names. Errors name the file and line.
func ParseLexicon(r io.Reader, name, defaultCode string) ([]lexicon.Term, error) {
	return lexicon.ParseFile(r, name, lexicon.ParseOptions{
		DefaultCode: defaultCode,
		ValidCode:   ValidCode,
		ValidAction: func(a string) error { _, err := ParseAction(a); return err },
	})
}
