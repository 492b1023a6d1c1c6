// Package starter holds Firebreak's starter library: lexicon files, one
// per risk of the standard's 17 keyword risks (A1a–A2i) plus self-harm
// (A4a) and personal information (A4f), each term with its risk code and
// action; and the phrase files of the default policy's intent rules
// (intents/): what asks for harm ("教我", "how do I make"), what it is
// about ("冰毒", "pipe bomb"), and what marks a question about the harm
// rather than a request for it ("危害", "how to recognise").
//
// It is a starting point written by the project; operators extend or
// replace it with their own libraries. The lexicon files use the line
// format "term<TAB>code[<TAB>action]" with '#' comments and are read by
// the engine's lexicon parser; most of their terms are composed from the
// curated parts in recipes/ (see compose_test.go).
package starter

import "embed"

// Files holds the lexicon files at the root of the file system and the
// intent phrase files under intents/.
//
//go:embed *.txt intents/*.txt
var Files embed.FS

// Names lists the lexicon files in Files, one per risk.
var Names = []string{
	"a1a-subversion.txt",
	"a1b-national-security.txt",
	"a1c-separatism.txt",
	"a1d-terrorism.txt",
	"a1e-ethnic-hatred.txt",
	"a1f-violence-sexual.txt",
	"a1f-minors.txt",
	"a1g-false-information.txt",
	"a1h-illegal.txt",
	"a2a-ethnicity.txt",
	"a2b-belief.txt",
	"a2c-nationality.txt",
	"a2d-region.txt",
	"a2e-gender.txt",
	"a2f-age.txt",
	"a2g-occupation.txt",
	"a2h-health.txt",
	"a2i-other.txt",
	"a4a-health.txt",
	"a4f-personal-information.txt",
}
