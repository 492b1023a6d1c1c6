package eval

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// Manifest pins what a run measured and with what, so that another lab
// can reproduce it: the banks' hashes, the target, the parameters, the
// graders (the policy version, the guard model, the judge's model and the
// hash of its prompt), the seed, the tool's version, the times and the
// counts.
type Manifest struct {
	Tool     string         `json:"tool"`
	Version  string         `json:"version"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished,omitzero"` // zero while the run is incomplete
	Plan     *Plan          `json:"plan"`
	Target   map[string]any `json:"target"`
	Graders  map[string]any `json:"graders"`
	Totals   Totals         `json:"totals"`
}

// ManifestName is the manifest's file name in a run's folder.
const ManifestName = "manifest.json"

// ReadManifest reads the manifest of the run in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	return &m, json.Unmarshal(b, &m)
}

// StartedAt returns when the run in dir started: its manifest's start, or
// now for a new run.
func StartedAt(dir string, now time.Time) time.Time {
	m, err := ReadManifest(dir)
	if err != nil || errors.Is(err, os.ErrNotExist) || m.Started.IsZero() {
		return now
	}
	return m.Started
}

// WriteManifest writes m into dir.
func WriteManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestName), append(b, '\n'))
}
