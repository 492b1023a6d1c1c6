package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/firebreak/firebreak/label"
	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/sanction"
)

// Compiled is a bundle compiled into engines: the base engine and one per
// overlay, each also in a minors variant when the bundle has a minors
// overlay. It is immutable and safe for concurrent use.
type Compiled struct {
	bundle  *Bundle
	spec    Spec
	strikes sanction.Strikes
	base    variant
	routes  map[string]variant
	tenants map[string]variant
	// engines lists every distinct engine by name ("", "route:x",
	// "route:x+minors" …), for summaries and dry runs.
	engines map[string]*safety.Engine
	info    map[string]engineInfo
	// labels holds the labelling of each engine, by the same selection.
	labels labelSet
}

// labelSet is the labelling of the base and of each route and tenant
// overlay, each with its minors variant.
type labelSet struct {
	base    [2]*label.Policy
	routes  map[string][2]*label.Policy
	tenants map[string][2]*label.Policy
}

// engineInfo is what a summary shows of an engine's configuration.
type engineInfo struct {
	overrides []safety.Override
	rules     int
	intents   int
	detectors []string
}

// variant is an engine and its minors variant (the same engine when the
// bundle has no minors overlay).
type variant [2]*safety.Engine

// Validate parses and checks a bundle without keeping the engines. It
// returns an *InvalidError listing every problem.
func Validate(b *Bundle) error {
	_, err := CompileBundle(b)
	return err
}

// CompileBundle validates b and compiles its engines. Any problem gives an
// *InvalidError whose problems name file and line.
func CompileBundle(b *Bundle) (*Compiled, error) {
	spec, probs := parseSpec(mustFile(b, SpecFile))
	if probs == nil {
		probs = checkSpec(spec)
	}
	if len(probs) > 0 {
		return nil, invalid(b, probs)
	}
	layers, probs := loadLayers(b, spec)
	if len(probs) > 0 {
		return nil, invalid(b, probs)
	}
	c := &Compiled{bundle: b, spec: spec.Spec, routes: map[string]variant{}, tenants: map[string]variant{}}
	var err error
	if c.strikes, err = spec.Strikes.Sanction(); err != nil {
		return nil, invalid(b, []Problem{{File: SpecFile, Msg: "strikes: " + err.Error()}})
	}
	if err := c.compileEngines(layers); err != nil {
		var pe problemsError
		if errors.As(err, &pe) {
			return nil, invalid(b, pe)
		}
		var te *lexicon.TermError
		if errors.As(err, &te) {
			if file, line, ok := termWhere(layers, te.ID); ok {
				return nil, invalid(b, []Problem{{File: file, Line: line, Msg: fmt.Sprintf("term %q: %v", te.ID, te.Err)}})
			}
		}
		return nil, invalid(b, []Problem{{File: SpecFile, Msg: err.Error()}})
	}
	return c, nil
}

// termWhere finds the file and line of the term with the given id.
func termWhere(layers map[string]*layerData, id string) (string, int, bool) {
	for _, key := range sortedKeys(layers) {
		l := layers[key]
		for i, t := range l.terms {
			if t.ID == id || (t.ID == "" && t.Text == id) {
				file, line := splitWhere(l.where[i])
				return file, line, true
			}
		}
	}
	return "", 0, false
}

// problemsError carries problems found while building an engine's
// configuration (allow phrases naming no term).
type problemsError []Problem

func (p problemsError) Error() string { return p[0].String() }

func mustFile(b *Bundle, name string) []byte {
	c, _ := b.File(name)
	return c
}

func invalid(b *Bundle, probs []Problem) error {
	sortProblems(probs)
	return &InvalidError{Bundle: b.ID(), Problems: probs}
}

// loadLayers reads the files of the base layer and of every overlay.
// Terms must be unique within the base and within each overlay over it.
func loadLayers(b *Bundle, spec *parsedSpec) (map[string]*layerData, []Problem) {
	ld := &loader{b: b, spec: spec, defaultCode: spec.DefaultCode, seenTerms: map[string]string{}, phrases: map[string][]string{}}
	if ld.defaultCode == "" {
		ld.defaultCode = "A1h"
	}
	layers := map[string]*layerData{"": ld.layer("", "", &spec.Layer)}
	base := ld.seenTerms
	for _, key := range sortedKeys(spec.Overlays) {
		ld.seenTerms = maps.Clone(base)
		ov := spec.Overlays[key]
		layers[key] = ld.layer(key, "overlays."+key+".", &ov.Layer)
	}
	return layers, ld.probs
}

// engineJob is one engine to compile: its name and its layers in order.
type engineJob struct {
	name   string
	layers []*layerData
}

func (c *Compiled) jobs(layers map[string]*layerData) []engineJob {
	order, _ := includeCycles(c.spec.Overlays) // checked by checkSpec
	chain := func(key string) []*layerData {
		out := []*layerData{layers[""]}
		for _, inc := range order[key] {
			out = append(out, layers[inc])
		}
		return append(out, layers[key])
	}
	_, hasMinors := c.spec.Overlays["minors"]
	var jobs []engineJob
	add := func(name string, ls []*layerData) {
		jobs = append(jobs, engineJob{name, ls})
		if hasMinors {
			jobs = append(jobs, engineJob{name + "+minors", append(ls[:len(ls):len(ls)], chain("minors")[1:]...)})
		}
	}
	add("", []*layerData{layers[""]})
	for _, key := range sortedKeys(c.spec.Overlays) {
		if key != "minors" {
			add(key, chain(key))
		}
	}
	return jobs
}

// compileEngines compiles every engine, in parallel, and files them.
func (c *Compiled) compileEngines(layers map[string]*layerData) error {
	jobs := c.jobs(layers)
	engines := make([]*safety.Engine, len(jobs))
	infos := make([]engineInfo, len(jobs))
	compile := func(i int, share *safety.Engine) error {
		j := jobs[i]
		cfg, err := c.config(j)
		if err != nil {
			return err
		}
		cfg.Share = share
		e, err := safety.Compile(cfg)
		if err != nil {
			return fmt.Errorf("engine %q: %w", cmpName(j.name), err)
		}
		engines[i] = e
		infos[i] = engineInfo{overrides: cfg.Overrides, rules: len(cfg.Rules), intents: len(cfg.Near)}
		for _, d := range cfg.Detectors {
			infos[i].detectors = append(infos[i].detectors, d.ID)
		}
		return nil
	}
	// The base first: overlays that only change actions share its
	// automaton, the costly part; the rest compile in parallel.
	if err := compile(0, nil); err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := 1; i < len(jobs); i++ {
		g.Go(func() error { return compile(i, engines[0]) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.engines = map[string]*safety.Engine{}
	c.info = map[string]engineInfo{}
	for i, j := range jobs {
		c.engines[j.name] = engines[i]
		c.info[j.name] = infos[i]
	}
	c.base = c.variant("")
	for _, key := range sortedKeys(c.spec.Overlays) {
		kind, name, _ := strings.Cut(key, ":")
		switch kind {
		case "route":
			c.routes[name] = c.variant(key)
		case "tenant":
			c.tenants[name] = c.variant(key)
		}
	}
	c.compileLabels()
	return nil
}

// compileLabels lays the labels of each overlay chain over the base's,
// for every engine variant.
func (c *Compiled) compileLabels() {
	order, _ := includeCycles(c.spec.Overlays) // checked by checkSpec
	chain := func(key string) []string {
		if key == "" {
			return nil
		}
		return append(slices.Clone(order[key]), key)
	}
	_, hasMinors := c.spec.Overlays["minors"]
	variant := func(key string) [2]*label.Policy {
		p := label.Default()
		c.spec.Labels.apply(p)
		for _, k := range chain(key) {
			c.spec.Overlays[k].Labels.apply(p)
		}
		m := p
		if hasMinors {
			cp := *p
			m = &cp
			for _, k := range chain("minors") {
				c.spec.Overlays[k].Labels.apply(m)
			}
		}
		return [2]*label.Policy{p, m}
	}
	c.labels = labelSet{base: variant(""), routes: map[string][2]*label.Policy{}, tenants: map[string][2]*label.Policy{}}
	for _, key := range sortedKeys(c.spec.Overlays) {
		kind, name, _ := strings.Cut(key, ":")
		switch kind {
		case "route":
			c.labels.routes[name] = variant(key)
		case "tenant":
			c.labels.tenants[name] = variant(key)
		}
	}
}

func cmpName(name string) string {
	if name == "" {
		return "base"
	}
	return strings.TrimPrefix(name, "+")
}

func (c *Compiled) variant(name string) variant {
	e := c.engines[name]
	if m, ok := c.engines[name+"+minors"]; ok {
		return variant{e, m}
	}
	return variant{e, e}
}

// engineVersion stamps overlay engines so a decision names the layer too.
func (c *Compiled) engineVersion(name string) string {
	if name == "" {
		return c.bundle.ID()
	}
	return c.bundle.ID() + "/" + strings.TrimPrefix(name, "+")
}

// config builds the engine configuration of one job.
func (c *Compiled) config(j engineJob) (safety.Config, error) {
	cfg := safety.Config{Version: c.engineVersion(j.name), DefaultAction: c.spec.DefaultAction, Replies: map[string]safety.Reply{},
		Normalise: c.spec.Normalise}
	var err error
	if cfg.Scope, err = c.spec.Review.scope(); err != nil {
		return cfg, err
	}
	cats := map[string]Category{}
	var phrases []allowPhrase
	n := 0
	for _, l := range j.layers {
		n += len(l.terms)
	}
	cfg.Terms = make([]lexicon.Term, 0, n)
	for _, l := range j.layers {
		mergeCategories(cats, l.spec.Categories)
		cfg.Terms = append(cfg.Terms, l.terms...)
		phrases = append(phrases, l.allow...)
		for _, r := range l.spec.Rules {
			cfg.Rules = append(cfg.Rules, safety.Rule{ID: r.ID, Pattern: r.Pattern, Code: r.Code, Action: r.Action, MaxSpan: r.MaxSpan})
		}
		cfg.Near = append(cfg.Near, l.intents...)
		if err := c.addDetectors(&cfg, l); err != nil {
			return cfg, err
		}
		cfg.Overrides = append(cfg.Overrides, overrides(l.spec)...)
		for k, r := range l.spec.Replies {
			cfg.Replies[k] = safety.Reply{Zh: r.Zh, En: r.En}
		}
	}
	for i := range cfg.Terms {
		if cfg.Terms[i].Action == "" {
			cfg.Terms[i].Action = categoryDefault(cats, cfg.Terms[i].Code)
		}
	}
	for i := range cfg.Rules {
		if cfg.Rules[i].Action == "" {
			cfg.Rules[i].Action = categoryDefault(cats, cfg.Rules[i].Code)
		}
	}
	for i := range cfg.Near {
		if cfg.Near[i].Action == "" {
			cfg.Near[i].Action = categoryDefault(cats, cfg.Near[i].Code)
		}
	}
	if probs := applyAllow(cfg.Terms, phrases); len(probs) > 0 {
		return cfg, problemsError(probs)
	}
	return cfg, nil
}

func (c *Compiled) addDetectors(cfg *safety.Config, l *layerData) error {
	if l.name == "" && c.spec.PII != nil && c.spec.PII.Enabled {
		settings, err := jsonSettings(c.spec.PII.Settings)
		if err != nil {
			return fmt.Errorf("pii settings: %w", err)
		}
		cfg.Detectors = append(cfg.Detectors, safety.DetectorConfig{ID: "pii", Type: "pii", Settings: settings})
	}
	for _, d := range l.spec.Detectors {
		settings, err := jsonSettings(d.Settings)
		if err != nil {
			return fmt.Errorf("detector %s settings: %w", d.ID, err)
		}
		cfg.Detectors = append(cfg.Detectors, safety.DetectorConfig{ID: d.ID, Type: d.Type, Settings: settings})
	}
	return nil
}

// jsonSettings converts decoded YAML to the JSON a detector factory reads.
func jsonSettings(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage(`{}`), nil
	}
	return json.Marshal(v)
}

// overrides are a layer's category actions per direction, then its
// actions list; the engine lets a later override of the same key win.
func overrides(l *Layer) []safety.Override {
	var out []safety.Override
	for _, code := range sortedKeys(l.Categories) {
		cat := l.Categories[code]
		if cat.Input != "" {
			out = append(out, safety.Override{Code: code, Direction: "input", Action: cat.Input})
		}
		if cat.Output != "" {
			out = append(out, safety.Override{Code: code, Direction: "output", Action: cat.Output})
		}
	}
	for _, a := range l.Actions {
		out = append(out, safety.Override{Code: a.Code, Direction: a.Direction, Detector: a.Detector, Action: a.Action})
	}
	return out
}

func mergeCategories(dst, src map[string]Category) {
	for k, v := range src {
		d := dst[k]
		for _, f := range []struct{ to, from *string }{{&d.Name, &v.Name}, {&d.Default, &v.Default}, {&d.Input, &v.Input}, {&d.Output, &v.Output}} {
			if *f.from != "" {
				*f.to = *f.from
			}
		}
		dst[k] = d
	}
}

// categoryDefault is the default action of a code: its own category's,
// else its class's, else "" (the policy's default action).
func categoryDefault(cats map[string]Category, code string) string {
	if d := cats[code].Default; d != "" {
		return d
	}
	return cats[safety.CodeClass(code)].Default
}

// Bundle returns the bundle the engines were compiled from.
func (c *Compiled) Bundle() *Bundle { return c.bundle }

// Version is the bundle's ID.
func (c *Compiled) Version() string { return c.bundle.ID() }

// Spec returns the decoded policy.yaml (strikes and labels for the
// sanctions and labelling code).
func (c *Compiled) Spec() Spec { return c.spec }

// Strikes returns the strike codes and sanctions ladder of the policy.
func (c *Compiled) Strikes() sanction.Strikes { return c.strikes }

// Engine picks the engine for a request: the tenant's overlay if it has
// one, else the route's, else the base; its minors variant for a minor.
// Two map lookups on immutable maps, no allocation.
func (c *Compiled) Engine(route, tenant string, minor bool) *safety.Engine {
	v := c.base
	if tv, ok := c.tenants[tenant]; ok && tenant != "" {
		v = tv
	} else if rv, ok := c.routes[route]; ok && route != "" {
		v = rv
	}
	if minor {
		return v[1]
	}
	return v[0]
}

// Labels picks the labelling of a request as Engine picks its engine:
// the tenant overlay's, else the route's, else the base's, in the minors
// variant for a minor. The policy is shared: do not change it.
func (c *Compiled) Labels(route, tenant string, minor bool) *label.Policy {
	v := c.labels.base
	if tv, ok := c.labels.tenants[tenant]; ok && tenant != "" {
		v = tv
	} else if rv, ok := c.labels.routes[route]; ok && route != "" {
		v = rv
	}
	if minor {
		return v[1]
	}
	return v[0]
}

// Base is the base engine.
func (c *Compiled) Base() *safety.Engine { return c.base[0] }

// lexiconHash hashes the lexicon and allow-list files the bundle uses, so
// that the history shows when the lexicon itself last changed.
func (c *Compiled) lexiconHash() string {
	files := map[string][]byte{}
	layers := []*Layer{&c.spec.Layer}
	for _, key := range sortedKeys(c.spec.Overlays) {
		ov := c.spec.Overlays[key]
		layers = append(layers, &ov.Layer)
	}
	for _, l := range layers {
		for _, lx := range l.Lexicons {
			files[lx.File] = mustFile(c.bundle, lx.File)
		}
		for _, a := range l.Allow {
			files[a] = mustFile(c.bundle, a)
		}
	}
	return hashFiles(files)
}
