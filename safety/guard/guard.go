// Package guard asks a guard model whether a conversation is safe. The
// model (Llama Guard 3 or Qwen3Guard-Gen) is served behind any
// OpenAI-compatible /v1/chat/completions endpoint (vLLM, SGLang, Ollama,
// llama.cpp); its answer is parsed and its categories are mapped to the
// risk codes of GB/T 45654 as safety hits.
//
// When the model cannot be asked (timeout, HTTP error, an answer that is
// not in the expected format) each category either fails open (allows)
// or fails closed (refuses), as configured.
package guard

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/safety"
)

// Format names the answer format of a guard model.
type Format string

const (
	LlamaGuard3 Format = "llama-guard-3" // "safe" | "unsafe\nS1,S10"
	Qwen3Guard  Format = "qwen3guard"    // "Safety: Unsafe\nCategories: Violent\nRefusal: No"
)

// FailMode says what a category does when the guard cannot answer.
type FailMode string

const (
	FailOpen   FailMode = "open"   // allow: other detectors still run
	FailClosed FailMode = "closed" // refuse on behalf of this category
)

// CategoryConfig overrides the built-in settings of one category. Empty
// fields keep the default.
type CategoryConfig struct {
	Code    string   `json:"code"`     // risk code; default: the crosswalk's code
	Action  string   `json:"action"`   // allow, mask, review, refuse or block; default: the table's
	OnError FailMode `json:"on_error"` // default: Options.OnError
}

// Options configures a Guard.
type Options struct {
	// BaseURL is the API root including /v1, e.g. "http://127.0.0.1:8000/v1".
	// Required.
	BaseURL string
	// APIKey is sent as a bearer token. Default: none.
	APIKey string
	// Model is the model name on the server. Required.
	Model string
	// Format is the guard model's answer format. Default: LlamaGuard3.
	Format Format
	// Timeout bounds one call, on top of the caller's context. Default 5s.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client without a timeout of
	// its own (Timeout and the context bound every call).
	HTTPClient *http.Client
	// Categories overrides categories by the model's name for them ("S1",
	// "Violent", or "unknown"). Default: the built-in tables.
	Categories map[string]CategoryConfig
	// OnError is the fail mode of every category without its own.
	// Default: FailOpen.
	OnError FailMode
	// Controversial is the action for Qwen3Guard's "Controversial" verdict
	// (capped by the category's own action). Default: "review".
	Controversial string
	// Logprobs asks the server for token log-probabilities and reports the
	// probability of an unsafe verdict as the hits' Score (Llama Guard 3).
	// Default false.
	Logprobs bool
	// MaxTokens bounds the model's answer. Default 32.
	MaxTokens int
}

// Message is one turn of the conversation to classify.
type Message struct {
	Role    string `json:"role"` // "system", "user", "assistant"; others are ignored
	Content string `json:"content"`
}

// Verdict is the guard's judgement of one conversation.
type Verdict struct {
	// Label is the model's verdict in lower case: "safe", "unsafe" or
	// "controversial"; empty when the model could not be asked.
	Label string
	// Categories are the category names the model gave, as written.
	Categories []string
	// Refusal is Qwen3Guard's judgement of whether a response refuses:
	// "yes", "no", or empty.
	Refusal string
	// Hits has one hit per reported category whose action is not allow,
	// or, after a failure, one Refuse hit per fail-closed category. A hit's
	// span is the whole last message: Start 0, End its length in bytes.
	Hits []safety.Hit
	// Failed is empty when the model answered, otherwise FailClosed if any
	// category failed closed, else FailOpen.
	Failed FailMode
}

// Errors of Classify; the verdict returned with them is still usable.
var (
	ErrAnswer       = errors.New("guard: unrecognised answer")
	ErrConversation = errors.New("guard: no message to classify")
)

// StatusError reports a non-200 answer of the guard endpoint.
type StatusError struct{ StatusCode int }

func (e *StatusError) Error() string { return fmt.Sprintf("guard: endpoint status %d", e.StatusCode) }

// Guard classifies conversations with a guard model. It is safe for
// concurrent use.
type Guard struct {
	url           string
	apiKey        string
	model         string
	format        Format
	timeout       time.Duration
	client        *http.Client
	cats          []Category // in table order
	byName        map[string]int
	controversial safety.Action
	logprobs      bool
	maxTokens     int
}

// New validates o and returns a Guard.
func New(o Options) (*Guard, error) {
	if o.BaseURL == "" || o.Model == "" {
		return nil, errors.New("guard: BaseURL and Model are required")
	}
	if !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://") {
		return nil, fmt.Errorf("guard: base url %q: want http:// or https://", o.BaseURL)
	}
	g := &Guard{
		url:       strings.TrimRight(o.BaseURL, "/") + "/chat/completions",
		apiKey:    o.APIKey,
		model:     o.Model,
		format:    cmp.Or(o.Format, LlamaGuard3),
		timeout:   cmp.Or(o.Timeout, 5*time.Second),
		client:    o.HTTPClient,
		logprobs:  o.Logprobs,
		maxTokens: cmp.Or(o.MaxTokens, 32),
	}
	if g.client == nil {
		g.client = &http.Client{}
	}
	if g.timeout < 0 || g.maxTokens < 0 {
		return nil, errors.New("guard: Timeout and MaxTokens must not be negative")
	}
	var err error
	if g.controversial, err = safety.ParseAction(cmp.Or(o.Controversial, "review")); err != nil {
		return nil, fmt.Errorf("guard: controversial: %w", err)
	}
	if err := g.setCategories(o); err != nil {
		return nil, err
	}
	return g, nil
}

// setCategories applies o.Categories and o.OnError to the format's table.
func (g *Guard) setCategories(o Options) error {
	cats, err := DefaultCategories(g.format)
	if err != nil {
		return err
	}
	onError := cmp.Or(o.OnError, FailOpen)
	if onError != FailOpen && onError != FailClosed {
		return fmt.Errorf("guard: on_error %q: want open or closed", onError)
	}
	g.byName = make(map[string]int, len(cats))
	for i := range cats {
		// The default failure mode is for the categories that report a
		// risk code; one without a code (Llama Guard's S14) is never
		// reported, so it cannot fail closed unless it is given a code.
		cats[i].OnError = onError
		if cats[i].Code == "" {
			cats[i].OnError = FailOpen
		}
		g.byName[cats[i].Name] = i
	}
	for name, cc := range o.Categories {
		i, ok := g.byName[name]
		if !ok {
			return fmt.Errorf("guard: categories: unknown %s category %q", g.format, name)
		}
		if cc.OnError == "" && cc.Code != "" {
			cc.OnError = onError // a category given a code follows the default
		}
		if err := apply(&cats[i], cc); err != nil {
			return fmt.Errorf("guard: categories[%s]: %w", name, err)
		}
	}
	for _, c := range cats {
		if c.Code == "" && (c.Action > safety.Allow || c.OnError == FailClosed) {
			return fmt.Errorf("guard: categories[%s]: action %s or failing closed needs a risk code", c.Name, c.Action)
		}
	}
	g.cats = cats
	return nil
}

func apply(c *Category, cc CategoryConfig) error {
	if cc.Code != "" {
		if !validCode(cc.Code) {
			return fmt.Errorf("%q is not a risk code (A1a…A5b)", cc.Code)
		}
		c.Code = cc.Code
	}
	if cc.Action != "" {
		a, err := safety.ParseAction(cc.Action)
		if err != nil {
			return err
		}
		c.Action = a
	}
	switch cc.OnError {
	case "":
	case FailOpen, FailClosed:
		c.OnError = cc.OnError
	default:
		return fmt.Errorf("on_error %q: want open or closed", cc.OnError)
	}
	return nil
}

func errFormat(f Format) error {
	return fmt.Errorf("guard: format %q: want %q or %q", f, LlamaGuard3, Qwen3Guard)
}

// validCode reports whether c is one of the 31 canonical risk codes
// (A1a–A1h, A2a–A2i, A3a–A3e, A4a–A4g, A5a–A5b).
func validCode(c string) bool {
	if len(c) != 3 || c[0] != 'A' {
		return false
	}
	last := map[byte]byte{'1': 'h', '2': 'i', '3': 'e', '4': 'g', '5': 'b'}[c[1]]
	return last != 0 && c[2] >= 'a' && c[2] <= last
}
