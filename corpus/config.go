package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is a cleaning run's one configuration file. The zero value runs
// every stage with its defaults over JSONL and text shards.
type Config struct {
	Input   InputConfig    `yaml:"input"`
	Output  OutputConfig   `yaml:"output"`
	Sources []SourceConfig `yaml:"sources"`
	// Blacklist decides which sources are dropped whole.
	Blacklist BlacklistConfig `yaml:"blacklist"`
	Stages    StagesConfig    `yaml:"stages"`
}

// InputConfig says how to read shards.
type InputConfig struct {
	// TextField is the field of a JSON line holding the text. Default "text".
	TextField string `yaml:"text_field"`
	// IDField is the field holding an item's id. Default: none, the id is
	// "<shard>:<line>".
	IDField string `yaml:"id_field"`
	// SourceField is the field naming an item's source. Default: none; the
	// source is the first entry of Sources whose paths match the shard,
	// else the shard's folder.
	SourceField string `yaml:"source_field"`
	// MaxLineBytes is the longest line read; longer lines are dropped
	// (stage read, rule line_too_long). Default 16 MiB.
	MaxLineBytes int `yaml:"max_line_bytes"`
}

// OutputConfig says how to write cleaned shards.
type OutputConfig struct {
	// Compression of cleaned shards: "zstd" (default), "gzip" or "none".
	Compression string `yaml:"compression"`
}

// SourceConfig is what is known of one source: which shards are its and
// the licence and collection records that go into the manifest.
type SourceConfig struct {
	Name string `yaml:"name" json:"name"`
	// Paths are glob patterns (path.Match, "/" separated, relative to the
	// input folder); "dir/**" matches everything under dir.
	Paths      []string          `yaml:"paths" json:"paths,omitempty"`
	Licence    string            `yaml:"licence" json:"licence,omitempty"`
	Collection map[string]string `yaml:"collection" json:"collection,omitempty"` // method, date, url, contact …
}

// BlacklistConfig is the source blacklist rule of GB/T 45654-2025: a
// source with more than Threshold of illegal or harmful items is not used.
type BlacklistConfig struct {
	// Threshold is the largest tolerated share of items the unsafe stage
	// flags, of the items read from a source. Default 0.05.
	Threshold float64 `yaml:"threshold"`
	// MinItems is the fewest items a source must have before the rule
	// applies (tiny sources give unstable rates). Default 1.
	MinItems int `yaml:"min_items"`
}

// StagesConfig configures each stage. A stage runs unless its section
// says enabled: false.
type StagesConfig struct {
	Normalise NormaliseConfig `yaml:"normalise"`
	Unsafe    UnsafeConfig    `yaml:"unsafe"`
	PII       PIIConfig       `yaml:"pii"`
	Quality   QualityConfig   `yaml:"quality"`
	Language  LanguageConfig  `yaml:"language"`
	Exact     ExactConfig     `yaml:"exact_dedup"`
	Near      NearConfig      `yaml:"near_dedup"`
}

// Switch turns a stage off with enabled: false.
type Switch struct {
	Enabled *bool `yaml:"enabled" json:"enabled,omitempty"`
}

// On reports whether the stage runs (default true).
func (s Switch) On() bool { return s.Enabled == nil || *s.Enabled }

// ExactConfig configures exact deduplication: items whose normalised text
// is byte for byte the same as an earlier item's are dropped.
type ExactConfig struct {
	Switch `yaml:",inline"`
}

// LoadConfig reads a configuration file; unknown fields are errors.
func LoadConfig(file string) (Config, error) {
	var c Config
	b, err := os.ReadFile(file)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// withDefaults fills in the defaults.
func (c Config) withDefaults() Config {
	if c.Input.TextField == "" {
		c.Input.TextField = "text"
	}
	if c.Input.MaxLineBytes <= 0 {
		c.Input.MaxLineBytes = 16 << 20
	}
	if c.Output.Compression == "" {
		c.Output.Compression = "zstd"
	}
	if c.Blacklist.Threshold == 0 {
		c.Blacklist.Threshold = 0.05
	}
	if c.Blacklist.MinItems <= 0 {
		c.Blacklist.MinItems = 1
	}
	c.Stages.Quality = c.Stages.Quality.withDefaults()
	c.Stages.Language = c.Stages.Language.withDefaults()
	c.Stages.PII = c.Stages.PII.withDefaults()
	c.Stages.Unsafe = c.Stages.Unsafe.withDefaults()
	c.Stages.Near = c.Stages.Near.withDefaults()
	return c
}

// Validate checks the values that have no safe default.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch c.Output.Compression {
	case "zstd", "gzip", "none":
	default:
		return fmt.Errorf("output.compression %q: want zstd, gzip or none", c.Output.Compression)
	}
	if c.Blacklist.Threshold < 0 || c.Blacklist.Threshold > 1 {
		return fmt.Errorf("blacklist.threshold %v: want a share between 0 and 1", c.Blacklist.Threshold)
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		if s.Name == "" {
			return fmt.Errorf("sources[%d]: name is required", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("sources[%d]: %q named twice", i, s.Name)
		}
		seen[s.Name] = true
		for _, p := range s.Paths {
			if _, err := path.Match(strings.TrimSuffix(p, "/**"), ""); err != nil {
				return fmt.Errorf("sources[%d] %s: path %q: %w", i, s.Name, p, err)
			}
		}
	}
	for _, err := range []error{c.Stages.PII.validate(), c.Stages.Unsafe.validate(), c.Stages.Near.validate(), c.Stages.Normalise.validate()} {
		if err != nil {
			return err
		}
	}
	return nil
}

// sourceOf names the source of a shard (a path relative to the input
// folder, "/" separated) by the configured paths, else its folder.
func (c *Config) sourceOf(rel string) string {
	for _, s := range c.Sources {
		for _, p := range s.Paths {
			if matchPath(p, rel) {
				return s.Name
			}
		}
	}
	if dir := path.Dir(rel); dir != "." {
		return dir
	}
	return "default"
}

func matchPath(pattern, rel string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		return rel == dir || strings.HasPrefix(rel, dir+"/")
	}
	ok, _ := path.Match(pattern, rel)
	return ok
}
