// Package starter holds Firebreak's starter lexicon: a few hundred
// Chinese and English phrases for universal harms (violence and weapons,
// terrorism, drugs, sexual content involving minors, self-harm, fraud,
// hate and discrimination), each with its risk code and action.
//
// It is a starting point written by the project, for demos and first
// deployments; operators extend it with their own libraries. The files use
// the lexicon line format "term<TAB>code[<TAB>action]" with '#' comments
// and are read by the engine's lexicon parser.
package starter

import "embed"

// Files holds the lexicon files at the root of the file system.
//
//go:embed *.txt
var Files embed.FS

// Names lists the lexicon files in Files, one per harm.
var Names = []string{
	"violence.txt",
	"terrorism.txt",
	"drugs.txt",
	"minors.txt",
	"selfharm.txt",
	"fraud.txt",
	"hate.txt",
}
