package label

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Position says where the explicit label goes in an answer's text.
type Position uint8

// Positions; Both is Start|End.
const (
	Start Position = 1 << iota
	End
	Both = Start | End
)

// ParsePosition reads "start", "end" or "both".
func ParsePosition(s string) (Position, error) {
	switch s {
	case "start":
		return Start, nil
	case "end":
		return End, nil
	case "both":
		return Both, nil
	}
	return 0, fmt.Errorf("position %q (want start, end or both)", s)
}

func (p Position) String() string {
	switch p {
	case Start:
		return "start"
	case End:
		return "end"
	case Both:
		return "both"
	}
	return "none"
}

// Lang is the language of an answer, which picks the explicit label's text.
type Lang uint8

// Languages. Auto means: detect it from the text being labelled.
const (
	Auto Lang = iota
	Zh
	En
)

func (l Lang) String() string {
	switch l {
	case Zh:
		return "zh"
	case En:
		return "en"
	}
	return "auto"
}

// Or returns l, or the language detected in text when l is Auto.
func (l Lang) Or(text string) Lang {
	if l == Auto {
		return Detect(text)
	}
	return l
}

// Policy is the labelling of one policy engine (base, route, tenant or
// minors overlay): the explicit label's text and place, and the fields of
// the implicit label the operator sets.
type Policy struct {
	Zh, En   string   // the explicit label per language; one may be empty
	Position Position // where it goes; 0 is End
	// SafeReplies labels the gateway's safe replies (a refused prompt, an
	// answer stopped by review) like model text.
	SafeReplies bool
	// AllowUnlabelled lets a request that carries the end user's recorded
	// agreement have no explicit label (a tenant overlay's setting).
	AllowUnlabelled bool

	ContentProducer   string
	ContentPropagator string
	ReservedCode2     string
}

// Default is the labelling where a policy bundle sets none.
func Default() *Policy {
	return &Policy{Zh: DefaultZh, En: DefaultEn, Position: End, SafeReplies: true, ContentProducer: "firebreak"}
}

// The default explicit labels.
const (
	DefaultZh = "本内容由人工智能生成"
	DefaultEn = "AI-generated content"
)

// Text is the explicit label in lang (Chinese for Auto), or in the other
// language when the policy has none in lang.
func (p *Policy) Text(lang Lang) string {
	if lang == En && p.En != "" || p.Zh == "" {
		return p.En
	}
	return p.Zh
}

func (p *Policy) at(pos Position) bool {
	if p.Position == 0 {
		return pos == End
	}
	return p.Position&pos != 0
}

// Validate checks the explicit texts and the implicit values.
func (p *Policy) Validate() error {
	var errs []error
	if err := CheckExplicit(Zh, p.Zh); err != nil {
		errs = append(errs, err)
	}
	if err := CheckExplicit(En, p.En); err != nil {
		errs = append(errs, err)
	}
	for _, v := range []string{p.ContentProducer, p.ContentPropagator, p.ReservedCode2} {
		if !ValidValue(v) {
			errs = append(errs, fmt.Errorf("%q: AIGC values are printable ASCII without \" or \\", v))
		}
	}
	return errors.Join(errs...)
}

// MaxExplicit bounds an explicit label's length in bytes.
const MaxExplicit = 256

// CheckExplicit applies the rule of the Labelling Measures to an explicit
// label text: it must contain an AI element (人工智能 or AI) and a
// generation element (生成 or 合成). 「AI生成」 and 「本内容由人工智能生成」
// comply; 「AI助手」 does not. An English label, shown on English answers,
// may give the generation element in English (generated, synthesised).
// Empty text is allowed (the other language's label is used).
func CheckExplicit(lang Lang, text string) error {
	if text == "" {
		return nil
	}
	if len(text) > MaxExplicit || !utf8.ValidString(text) || strings.ContainsFunc(text, isControl) {
		return fmt.Errorf("an explicit label is one line of at most %d bytes", MaxExplicit)
	}
	ai := strings.Contains(text, "人工智能") || strings.Contains(text, "AI")
	gen := strings.Contains(text, "生成") || strings.Contains(text, "合成")
	if lang == En {
		lower := strings.ToLower(text)
		ai = ai || strings.Contains(lower, "artificial intelligence")
		gen = gen || strings.Contains(lower, "generat") || strings.Contains(lower, "synthes")
	}
	if !ai || !gen {
		if lang == En {
			return errors.New("an explicit label must contain AI (or artificial intelligence) and generated or synthesised (or 生成, 合成): \"AI-generated content\" complies, \"AI assistant\" does not")
		}
		return errors.New("an explicit label must contain 人工智能 or AI and 生成 or 合成 (「AI生成」 complies, 「AI助手」 does not)")
	}
	return nil
}

func isControl(r rune) bool { return unicode.IsControl(r) }

// Detect guesses the language of text: Chinese when Han characters are
// at least a fifth as many as Latin letters (a word of five letters
// weighs about one character), so also for text with neither; English
// otherwise.
func Detect(text string) Lang {
	han, latin := 0, 0
	for _, r := range text {
		switch {
		case r < 0x80:
			if r|0x20 >= 'a' && r|0x20 <= 'z' {
				latin++
			}
		case unicode.Is(unicode.Han, r):
			han++
		}
	}
	if han*5 >= latin {
		return Zh
	}
	return En
}

// FromAcceptLanguage reads the first language of an Accept-Language
// header that is Chinese or English; Auto when there is none.
func FromAcceptLanguage(h string) Lang {
	for part := range strings.SplitSeq(h, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		prim, _, _ := strings.Cut(strings.ToLower(tag), "-")
		switch prim {
		case "zh":
			return Zh
		case "en":
			return En
		}
	}
	return Auto
}
