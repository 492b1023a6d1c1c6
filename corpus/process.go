package corpus

import (
	"context"
	"sync"
)

// Processor runs the per-item stages and computes the keys of the global
// steps. It is immutable after NewProcessor and safe for concurrent use;
// both runners call it for every item.
type Processor struct {
	cfg     Config
	norm    *normaliser
	unsafe  *unsafeStage
	pii     *piiStage
	quality *qualityStage
	lang    *languageStage
	exact   bool
	near    *NearConfig
	keys    int       // keys per kept item
	scratch sync.Pool // *ngramScratch
}

// NewProcessor validates cfg and builds its stages (compiling the policy
// bundle of the unsafe stage).
func NewProcessor(cfg Config) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	st := cfg.Stages
	p := &Processor{cfg: cfg, exact: st.Exact.On(), scratch: sync.Pool{New: func() any { return new(ngramScratch) }}}
	var err error
	if st.Normalise.On() {
		p.norm = newNormaliser(st.Normalise)
	}
	if st.Unsafe.On() {
		if p.unsafe, err = newUnsafeStage(st.Unsafe); err != nil {
			return nil, err
		}
	}
	if st.PII.On() {
		if p.pii, err = newPIIStage(st.PII); err != nil {
			return nil, err
		}
	}
	if st.Quality.On() {
		p.quality = newQualityStage(st.Quality)
	}
	if st.Language.On() {
		p.lang = newLanguageStage(st.Language)
	}
	if st.Near.On() {
		p.near = &st.Near
		p.keys += st.Near.Bands
	}
	if p.exact {
		p.keys++
	}
	return p, nil
}

// Config returns the configuration with its defaults filled in.
func (p *Processor) Config() Config { return p.cfg }

// Result is what the per-item stages made of one line.
type Result struct {
	Item  Item
	Bytes int    // length of the line read
	Drop  *Event // set when a per-item stage dropped the item
	// Harmful is set when the unsafe stage found the item unsafe; it
	// counts against the item's source.
	Harmful  bool
	Evidence []Finding
	// Keys are the item's exact and near-duplicate keys, for kept items.
	Keys []Key
}

// Process parses a line and runs the per-item stages over it in their
// fixed order: normalise, unsafe, pii, quality, language; then it computes
// the keys of the global steps for an item still kept.
func (p *Processor) Process(ctx context.Context, l Line) Result {
	it, drop := p.cfg.ParseLine(l)
	r := Result{Item: it, Bytes: len(l.Data), Drop: drop}
	if drop != nil {
		return r
	}
	text := it.Text
	change := func(e Event) { r.Item.Changes = append(r.Item.Changes, e) }
	tok := p.scratch.Get().(*ngramScratch)
	defer p.scratch.Put(tok)
	tok.text = ""
	if p.norm != nil {
		var rule string
		if text, rule = p.norm.apply(text); rule != "" {
			change(Event{Stage: StageNormalise, Rule: rule})
		}
	}
	if p.unsafe != nil {
		if r.Drop, r.Evidence = p.unsafe.apply(ctx, text); r.Drop != nil {
			r.Harmful = true
			return r
		}
	}
	if p.pii != nil {
		var evs []Event
		text, evs, r.Drop = p.pii.apply(text)
		for _, e := range evs {
			change(e)
		}
		if r.Drop != nil {
			return r
		}
	}
	if p.quality != nil {
		var ch *Event
		text, ch, r.Drop = p.quality.apply(text, tok)
		if ch != nil {
			change(*ch)
		}
		if r.Drop != nil {
			return r
		}
	}
	if p.lang != nil {
		if tok.text != text {
			tok.load(text, false)
		}
		if r.Drop = p.lang.apply(tok); r.Drop != nil {
			return r
		}
	}
	r.Item.Text = text
	if p.keys > 0 {
		r.Keys = make([]Key, 0, p.keys) // one allocation, not one per doubling
	}
	if p.exact {
		r.Keys = append(r.Keys, exactKey(text))
	}
	if p.near != nil {
		r.Keys = p.near.bandKeys(tok, text, r.Keys)
	}
	return r
}
