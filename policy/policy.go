// Package policy is Firebreak's rapid revision: the bundle format (a
// folder of policy.yaml plus plain lexicon and allow-list files) that fully
// describes the safety behaviour, its validation with errors that name
// file and line, its compilation into safety engines (a base engine and
// one per route, tenant and minors overlay), versions stored with who and
// why, publish and rollback propagated to every replica through notify,
// a dry run over recorded traffic, and lexicon coverage against the
// standard's floors.
//
// Service holds the engines in force in an immutable snapshot swapped
// atomically: a request keeps the engine it loaded, and a version that
// fails to compile never replaces the working one. Sources, Build and
// Compile build a quick engine from lexicon files, for `firebreak scan`.
package policy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"

	"github.com/firebreak/firebreak/safety"
	"github.com/firebreak/firebreak/safety/lexicon"
	"github.com/firebreak/firebreak/safety/starter"
)

// Sources name what a local policy is built from.
type Sources struct {
	// Starter includes the project's starter lexicon.
	Starter bool
	// Lexicons are plain lexicon files: one term per line, optionally a
	// tab and a risk code, optionally another tab and an action.
	Lexicons []string
	// DefaultCode is the risk code of lexicon lines that name none.
	// Default "A1h" (other content that laws forbid).
	DefaultCode string
	// PII adds the personal-information detectors: masked in answers,
	// allowed in prompts (a user may give their own number); other A4f
	// hits keep their own action.
	PII bool
	// OnMerge, if set, hears of every term that a lexicon file repeats
	// from the starter lexicon or an earlier file. Lists that overlap are
	// normal: the term is kept once, with the later file's code and action
	// (and the flags of both).
	OnMerge func(Merge)
}

// Merge is a term a lexicon file repeated: Term as the later file gives
// it, From the source that had it first, and the code and action it had
// there.
type Merge struct {
	File, From         string
	Term               lexicon.Term
	WasCode, WasAction string
}

// Build reads the sources into an engine configuration. The version is
// derived from the content, so the same sources always give the same
// version and any change gives a new one.
func Build(src Sources) (safety.Config, error) {
	var cfg safety.Config
	if src.DefaultCode == "" {
		src.DefaultCode = "A1h"
	}
	sum := sha256.New()
	m := &merger{cfg: &cfg, seen: map[string]int{}, onMerge: src.OnMerge}
	if src.Starter {
		for _, name := range starter.Names {
			b, err := fs.ReadFile(starter.Files, name)
			if err != nil {
				return cfg, fmt.Errorf("starter lexicon: %w", err)
			}
			if err := m.add(b, "starter/"+name, src.DefaultCode, sum); err != nil {
				return cfg, err
			}
		}
	}
	for _, path := range src.Lexicons {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("lexicon: %w", err)
		}
		if err := m.add(b, path, src.DefaultCode, sum); err != nil {
			return cfg, err
		}
	}
	if src.PII {
		cfg.Detectors = append(cfg.Detectors, safety.DetectorConfig{ID: "pii", Type: "pii", Settings: json.RawMessage(`{}`)})
		cfg.Overrides = append(cfg.Overrides, safety.Override{Code: "A4f", Direction: "input", Detector: "pii", Action: "allow"})
		sum.Write([]byte("\x00pii"))
	}
	cfg.Version = "local-" + hex.EncodeToString(sum.Sum(nil))[:12]
	return cfg, nil
}

// merger adds the terms of lexicon files to a configuration, once each.
type merger struct {
	cfg     *safety.Config
	seen    map[string]int // term id → index in cfg.Terms
	from    []string       // the source of each term
	onMerge func(Merge)
}

// add parses content (the file name) and adds its terms; a term whose id
// an earlier source had takes this file's code and action.
func (m *merger) add(content []byte, name, defaultCode string, sum interface{ Write([]byte) (int, error) }) error {
	terms, err := safety.ParseLexicon(bytes.NewReader(content), name, defaultCode)
	if err != nil {
		return err
	}
	for _, t := range terms {
		id := cmp.Or(t.ID, t.Text)
		j, dup := m.seen[id]
		if !dup {
			m.seen[id] = len(m.cfg.Terms)
			m.cfg.Terms = append(m.cfg.Terms, t)
			m.from = append(m.from, name)
			continue
		}
		was := &m.cfg.Terms[j]
		if m.onMerge != nil {
			m.onMerge(Merge{File: name, From: m.from[j], Term: t, WasCode: was.Code, WasAction: was.Action})
		}
		was.Code, was.Action = t.Code, t.Action
		was.Pinyin, was.Initials, was.Numerals = was.Pinyin || t.Pinyin, was.Initials || t.Initials, was.Numerals || t.Numerals
		m.from[j] = name
	}
	sum.Write([]byte(name))
	sum.Write([]byte{0})
	sum.Write(content)
	return nil
}

// Compile builds and compiles the sources.
func Compile(src Sources) (*safety.Engine, error) {
	cfg, err := Build(src)
	if err != nil {
		return nil, err
	}
	return safety.Compile(cfg)
}
