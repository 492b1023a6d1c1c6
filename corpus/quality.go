package corpus

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// QualityConfig configures the quality heuristics: the document and line
// rules of Google's C4 and DeepMind's Gopher (MassiveText), with Chinese
// counted by character, and rules of Chinese web text. Zero fields take
// the defaults given; a negative threshold turns its rule off.
type QualityConfig struct {
	Switch `yaml:",inline"`
	// MinTokens and MaxTokens bound an item's length in tokens (a word, or
	// one Chinese character). Gopher: 50 and 100,000.
	MinTokens int `yaml:"min_tokens"`
	MaxTokens int `yaml:"max_tokens"`
	// MeanWordLength bounds the mean length of Latin words in an item
	// that is mostly Latin words. Gopher: 3 to 10.
	MinMeanWordLength float64 `yaml:"min_mean_word_length"`
	MaxMeanWordLength float64 `yaml:"max_mean_word_length"`
	// MaxSymbolRatio is the most "#" and ellipses per token. Gopher: 0.1.
	MaxSymbolRatio float64 `yaml:"max_symbol_ratio"`
	// MaxBulletLines is the most share of lines starting with a bullet.
	// Gopher: 0.9.
	MaxBulletLines float64 `yaml:"max_bullet_lines"`
	// MaxEllipsisLines is the most share of lines ending in an ellipsis.
	// Gopher: 0.3.
	MaxEllipsisLines float64 `yaml:"max_ellipsis_lines"`
	// MinLetterRatio is the least share of letters (Chinese characters
	// included) among non-space characters; Gopher's "80% of words have a
	// letter", by character so that it works without spaces. Default 0.6.
	MinLetterRatio float64 `yaml:"min_letter_ratio"`
	// MinStopwords is the fewest English function words (Gopher's: the,
	// be, to, of, and, that, have, with), counted distinct, in an English
	// item, and the fewest Chinese function characters (的 了 是 在 和 有
	// 不 这 也 就 都 与 及 而 或), counted with repeats, in a Chinese one.
	// Gopher: 2.
	MinStopwords int `yaml:"min_stopwords"`
	// MaxDupLines and MaxDupLineChars: share of lines that repeat an
	// earlier line, and of the characters in them. Gopher: 0.3 and 0.2.
	MaxDupLines     float64 `yaml:"max_dup_lines"`
	MaxDupLineChars float64 `yaml:"max_dup_line_chars"`
	// TopNgram maps n to the largest share of characters the most frequent
	// n-gram of tokens may cover. Gopher: {2: 0.2, 3: 0.18, 4: 0.16}.
	TopNgram map[int]float64 `yaml:"top_ngram"`
	// DupNgram maps n to the largest share of characters in repeated
	// n-grams. Gopher: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}.
	DupNgram map[int]float64 `yaml:"dup_ngram"`
	// MaxSpamPhrases is the most advertising phrases of Chinese web spam
	// (加微信, 代开发票, 刷单 …) an item may hold. Default 2.
	MaxSpamPhrases int `yaml:"max_spam_phrases"`
	// BoilerplateLines removes lines of site furniture (版权所有, ICP备,
	// 上一篇, "all rights reserved", "enable javascript" …): C4's line rule
	// with Chinese phrases. Default true.
	BoilerplateLines *bool `yaml:"boilerplate_lines"`
	// TerminalPunctuation keeps only lines ending in terminal punctuation
	// (. ! ? " 。！？” …), C4's line rule. Default false: it suits web
	// prose, not dialogue, lists or code.
	TerminalPunctuation bool `yaml:"terminal_punctuation"`
}

func (c QualityConfig) withDefaults() QualityConfig {
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&c.MinTokens, 50)
	setInt(&c.MaxTokens, 100000)
	setF(&c.MinMeanWordLength, 3)
	setF(&c.MaxMeanWordLength, 10)
	setF(&c.MaxSymbolRatio, 0.1)
	setF(&c.MaxBulletLines, 0.9)
	setF(&c.MaxEllipsisLines, 0.3)
	setF(&c.MinLetterRatio, 0.6)
	setInt(&c.MinStopwords, 2)
	setF(&c.MaxDupLines, 0.3)
	setF(&c.MaxDupLineChars, 0.2)
	setInt(&c.MaxSpamPhrases, 2)
	if c.TopNgram == nil {
		c.TopNgram = map[int]float64{2: 0.2, 3: 0.18, 4: 0.16}
	}
	if c.DupNgram == nil {
		c.DupNgram = map[int]float64{5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
	}
	if c.BoilerplateLines == nil {
		t := true
		c.BoilerplateLines = &t
	}
	return c
}

var (
	boilerplate = []string{"版权所有", "icp备", "icp证", "上一篇", "下一篇", "扫码关注", "点击阅读原文", "关注公众号", "返回顶部",
		"免责声明", "联系我们", "网站地图", "all rights reserved", "enable javascript", "javascript is disabled",
		"cookie policy", "privacy policy", "terms of use", "lorem ipsum"}
	spamPhrases = []string{"加微信", "加我微信", "微信号", "加QQ", "QQ群", "代开发票", "刷单", "博彩", "六合彩", "时时彩", "免费领取",
		"点击下载", "私服", "日赚", "兼职招聘", "成人用品", "裸聊"}
	mojibake    = []string{"锟斤拷", "烫烫烫", "屯屯屯", "\ufffd"}
	zhStopChars = "的了是在和有不这也就都与及而或"
	// qualityPhrases counts mojibake (0) and spam phrases (1) in one pass.
	qualityPhrases = newPhraseSet(mojibake, spamPhrases)
	gopherStop     = []string{"the", "be", "to", "of", "and", "that", "have", "with"}
	terminalPunct  = []string{".", "!", "?", "\"", "'", "。", "！", "？", "”", "’", "…", "；", ";", ":", "：", "」", "』"}
)

// qualityStage applies the quality rules.
type qualityStage struct {
	c        QualityConfig
	top, dup []int // the n of TopNgram and DupNgram, sorted
}

func newQualityStage(c QualityConfig) *qualityStage {
	return &qualityStage{c: c, top: sortedKeys(c.TopNgram), dup: sortedKeys(c.DupNgram)}
}

// apply returns the text with line rules applied (and the change event,
// if any), or a drop event.
func (q *qualityStage) apply(text string, tok *ngramScratch) (string, *Event, *Event) {
	text, change := q.lineRules(text)
	if strings.TrimSpace(text) == "" {
		return text, change, &Event{Stage: StageQuality, Rule: "no_lines_left"}
	}
	tok.load(text, true)
	if drop := q.docRules(text, tok); drop != nil {
		return text, change, drop
	}
	return text, change, nil
}

func (q *qualityStage) lineRules(text string) (string, *Event) {
	if !*q.c.BoilerplateLines && !q.c.TerminalPunctuation {
		return text, nil
	}
	// Most texts lose no line: the builder starts at the first bad one.
	var b strings.Builder
	removed, rule, at := 0, "", 0
	for line := range strings.Lines(text) {
		body := strings.TrimRight(line, "\n")
		if r := q.badLine(body); r != "" {
			if removed == 0 {
				b.Grow(len(text))
				b.WriteString(text[:at])
				rule = r
			}
			removed++
		} else if removed > 0 {
			b.WriteString(line)
		}
		at += len(line)
	}
	if removed == 0 {
		return text, nil
	}
	return strings.TrimRight(b.String(), "\n"), &Event{Stage: StageQuality, Rule: rule, Count: removed}
}

func (q *qualityStage) badLine(line string) string {
	if *q.c.BoilerplateLines && len(line) < 200 && containsAnyFold(line, boilerplate) {
		return "boilerplate_line"
	}
	if q.c.TerminalPunctuation && strings.TrimSpace(line) != "" && !hasAnySuffix(strings.TrimSpace(line), terminalPunct) {
		return "no_terminal_punctuation"
	}
	return ""
}

// containsAnyFold reports whether s contains one of subs (given in lower
// case), ignoring case.
func containsAnyFold(s string, subs []string) bool {
	lower := strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(lower, sub) {
			return true
		}
	}
	return false
}

func hasAnySuffix(s string, sufs []string) bool {
	for _, suf := range sufs {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}

// docStats are the measures of characters and lines the document rules
// compare with thresholds; token counts come from the tokeniser.
type docStats struct {
	letters, nonSpace, symbols int
	lines, bullets, ellipses   int
	dupLines, dupLineChars     int
	chars                      int
}

func measure(text string, tok *ngramScratch) docStats {
	c := tok.runes // counted by load over the same text
	s := docStats{letters: c.letters, nonSpace: c.nonSpace, symbols: c.symbols, chars: c.chars}
	s.symbols += strings.Count(text, "...")
	tok.lines = tok.lines[:0]
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s.lines++
		if strings.HasPrefix(line, "•") || strings.HasPrefix(line, "●") || strings.HasPrefix(line, "·") ||
			strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* ") || strings.HasPrefix(line, "‣") {
			s.bullets++
		}
		if strings.HasSuffix(line, "...") || strings.HasSuffix(line, "…") {
			s.ellipses++
		}
		h := xxhash.Sum64String(line)
		if slices.Contains(tok.lines, h) {
			s.dupLines++
			s.dupLineChars += utf8.RuneCountInString(line)
		}
		tok.lines = append(tok.lines, h)
	}
	return s
}

func (q *qualityStage) docRules(text string, tok *ngramScratch) *Event {
	c := &q.c
	phrases := tok.phrases // counted by load over the same text
	if phrases[0] > 0 {
		return &Event{Stage: StageQuality, Rule: "zh_mojibake"}
	}
	s := measure(text, tok)
	tokens, latin := len(tok.hash), tok.counts[scriptLatin]
	drop := func(rule string, v float64) *Event {
		return &Event{Stage: StageQuality, Rule: rule, Detail: fmt.Sprintf("%.3g", v)}
	}
	switch {
	case c.MinTokens > 0 && tokens < c.MinTokens:
		return drop("too_short", float64(tokens))
	case c.MaxTokens > 0 && tokens > c.MaxTokens:
		return drop("too_long", float64(tokens))
	}
	if latin*2 > tokens && c.MinMeanWordLength > 0 {
		if m := float64(tok.latinLen) / float64(latin); m < c.MinMeanWordLength || m > c.MaxMeanWordLength {
			return drop("mean_word_length", m)
		}
	}
	if r := float64(s.symbols) / float64(tokens); c.MaxSymbolRatio > 0 && r > c.MaxSymbolRatio {
		return drop("symbol_ratio", r)
	}
	if r := float64(s.bullets) / float64(s.lines); c.MaxBulletLines > 0 && r > c.MaxBulletLines {
		return drop("bullet_lines", r)
	}
	if r := float64(s.ellipses) / float64(s.lines); c.MaxEllipsisLines > 0 && r > c.MaxEllipsisLines {
		return drop("ellipsis_lines", r)
	}
	if r := float64(s.letters) / float64(max(s.nonSpace, 1)); c.MinLetterRatio > 0 && r < c.MinLetterRatio {
		return drop("letter_ratio", r)
	}
	if e := q.stopwords(tok); e != nil {
		return e
	}
	if r := float64(s.dupLines) / float64(s.lines); c.MaxDupLines > 0 && r > c.MaxDupLines {
		return drop("dup_lines", r)
	}
	if r := float64(s.dupLineChars) / float64(max(s.chars, 1)); c.MaxDupLineChars > 0 && r > c.MaxDupLineChars {
		return drop("dup_line_chars", r)
	}
	if n := phrases[1]; c.MaxSpamPhrases >= 0 && n > c.MaxSpamPhrases {
		return drop("zh_spam_phrases", float64(n))
	}
	return q.repetition(tok)
}

func (q *qualityStage) stopwords(tok *ngramScratch) *Event {
	if q.c.MinStopwords <= 0 {
		return nil
	}
	tokens := len(tok.hash)
	if tok.counts[scriptHan]*2 >= tokens {
		if tok.zhStop < q.c.MinStopwords {
			return &Event{Stage: StageQuality, Rule: "zh_stopwords", Detail: fmt.Sprint(tok.zhStop)}
		}
		return nil
	}
	if tok.counts[scriptLatin]*2 >= tokens {
		n := bits.OnesCount8(tok.gopher)
		if n < q.c.MinStopwords {
			return &Event{Stage: StageQuality, Rule: "stopwords", Detail: fmt.Sprint(n)}
		}
	}
	return nil
}
