package corpus

import (
	"fmt"
	"slices"
)

// LanguageConfig configures language identification.
type LanguageConfig struct {
	Switch `yaml:",inline"`
	// Keep lists the languages kept: "zh", "en", "ja", "ko", "ru", or
	// "und" (another or none). Default [zh, en].
	Keep []string `yaml:"keep"`
	// MinConfidence is the least share of an item's tokens that must be in
	// the identified language's script. Default 0.5.
	MinConfidence float64 `yaml:"min_confidence"`
}

func (c LanguageConfig) withDefaults() LanguageConfig {
	if c.Keep == nil {
		c.Keep = []string{"zh", "en"}
	}
	if c.MinConfidence == 0 {
		c.MinConfidence = 0.5
	}
	return c
}

// Identify names the language of a text and the share of its tokens that
// support it. It tells scripts apart by code point (Han → zh, kana → ja,
// Hangul → ko, Cyrillic → ru) and English from other Latin-script
// languages by the share of English function words: a script classifier,
// enough for a zh/en corpus, not a model that tells French from Italian.
func Identify(text string) (string, float64) {
	var s ngramScratch
	s.load(text, false)
	return identify(&s)
}

// identify is Identify on a tokenised text.
func identify(s *ngramScratch) (string, float64) {
	counts := s.counts
	counts[scriptOther] = 0 // numbers and words of other scripts vote for nothing
	total, en := 0, s.enStop
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return "und", 0
	}
	cjk := counts[scriptHan] + counts[scriptKana]
	switch {
	case counts[scriptKana] > 0 && counts[scriptKana]*5 >= cjk && cjk*2 >= total:
		return "ja", float64(cjk) / float64(total)
	case counts[scriptHan]*2 >= total:
		return "zh", float64(counts[scriptHan]) / float64(total)
	case counts[scriptHangul]*2 >= total:
		return "ko", float64(counts[scriptHangul]) / float64(total)
	case counts[scriptCyrillic]*2 >= total:
		return "ru", float64(counts[scriptCyrillic]) / float64(total)
	case counts[scriptLatin]*2 >= total && en*20 >= counts[scriptLatin]:
		return "en", float64(counts[scriptLatin]) / float64(total)
	}
	best := slices.Max(counts[:])
	return "und", float64(best) / float64(total)
}

// enStopwordList holds English function words that other Latin-script
// languages rarely use; the tokeniser counts them (stopwords).
var enStopwordList = []string{"the", "and", "of", "to", "is", "that", "with", "for", "this", "are", "was", "be", "have", "it", "not",
	"on", "as", "by", "from", "at", "or", "which", "you", "he", "she", "we", "they", "his", "her", "has", "were"}

// languageStage drops items in languages not kept.
type languageStage struct {
	keep map[string]bool
	min  float64
}

func newLanguageStage(c LanguageConfig) *languageStage {
	s := &languageStage{keep: map[string]bool{}, min: c.MinConfidence}
	for _, l := range c.Keep {
		s.keep[l] = true
	}
	return s
}

func (s *languageStage) apply(tok *ngramScratch) *Event {
	lang, conf := identify(tok)
	if !s.keep[lang] {
		return &Event{Stage: StageLanguage, Rule: "language", Detail: lang}
	}
	if conf < s.min {
		return &Event{Stage: StageLanguage, Rule: "low_confidence", Detail: fmt.Sprintf("%s %.2f", lang, conf)}
	}
	return nil
}
