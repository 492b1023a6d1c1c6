package policy

import (
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety/starter"
)

// SpecFile is the bundle's main file; every other file is named from it.
const SpecFile = "policy.yaml"

// Limits on a bundle, so that a stored version stays a reasonable row.
const (
	MaxBundleBytes = 64 << 20 // all files together
	MaxBundleFiles = 1000
)

// Bundle is a policy as an operator writes it: policy.yaml plus the plain
// lexicon and allow-list files it names. A Bundle is immutable; its ID is
// the hash of its content, so the same files always give the same version.
type Bundle struct {
	files map[string][]byte
	id    string
}

// NewBundle makes a bundle from file contents keyed by slash-separated
// relative paths. Every file must be UTF-8 text.
func NewBundle(files map[string][]byte) (*Bundle, error) {
	if len(files) > MaxBundleFiles {
		return nil, fmt.Errorf("bundle: %d files, at most %d", len(files), MaxBundleFiles)
	}
	b := &Bundle{files: make(map[string][]byte, len(files))}
	total := 0
	for name, content := range files {
		clean, err := cleanName(name)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(content) {
			return nil, fmt.Errorf("bundle: %s: not UTF-8 text", name)
		}
		if _, dup := b.files[clean]; dup {
			return nil, fmt.Errorf("bundle: %s: named twice", clean)
		}
		total += len(content)
		b.files[clean] = content
	}
	if total > MaxBundleBytes {
		return nil, fmt.Errorf("bundle: %d bytes, at most %d", total, MaxBundleBytes)
	}
	if _, ok := b.files[SpecFile]; !ok {
		return nil, fmt.Errorf("bundle: no %s", SpecFile)
	}
	b.id = hashFiles(b.files)
	return b, nil
}

// cleanName refuses absolute paths and paths that leave the bundle.
func cleanName(name string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if name == "" || path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("bundle: file name %q must be a relative path inside the bundle", name)
	}
	return clean, nil
}

// hashFiles hashes names and contents in name order, with lengths, so no
// two different bundles share a hash by moving bytes between files.
func hashFiles(files map[string][]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, name := range sortedKeys(files) {
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(files[name])))
		h.Write(n[:])
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// LoadDir reads a bundle folder: every regular file under dir except
// hidden files and folders (".git", ".DS_Store"); symbolic links are not
// followed. It stops at the bundle's limits (MaxBundleFiles files,
// MaxBundleBytes in all) before reading past them, so a folder with a
// huge file or a great many files is refused, not read into memory.
func LoadDir(dir string) (*Bundle, error) {
	files := map[string][]byte{}
	total := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if len(files) == MaxBundleFiles {
			return fmt.Errorf("more than %d files, at most %d", MaxBundleFiles, MaxBundleFiles)
		}
		b, err := readLimited(p, MaxBundleBytes-total)
		if err != nil {
			return err
		}
		total += len(b)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	b, err := NewBundle(files)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	return b, nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(p string, limit int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s: the bundle's files come to more than %d bytes, at most %d (MaxBundleBytes)", p, MaxBundleBytes, MaxBundleBytes)
	}
	return b, nil
}

// ID is the bundle's version: the first 16 hex digits of the SHA-256 of
// its files.
func (b *Bundle) ID() string { return b.id }

// Names lists the bundle's files, sorted.
func (b *Bundle) Names() []string { return sortedKeys(b.files) }

// File returns the content of one file.
func (b *Bundle) File(name string) ([]byte, bool) {
	c, ok := b.files[name]
	return c, ok
}

// Files returns a copy of the bundle's files as text.
func (b *Bundle) Files() map[string]string {
	out := make(map[string]string, len(b.files))
	for k, v := range b.files {
		out[k] = string(v)
	}
	return out
}

// BundleFromText makes a bundle from Files' form.
func BundleFromText(files map[string]string) (*Bundle, error) {
	m := make(map[string][]byte, len(files))
	for k, v := range files {
		m[k] = []byte(v)
	}
	return NewBundle(m)
}

// WriteDir writes the bundle's files under dir, creating folders.
func (b *Bundle) WriteDir(dir string) error {
	for name, content := range b.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	return nil
}

//go:embed default/policy.yaml default/allow.txt
var defaultSpec embed.FS

// Default returns the bundle Firebreak uses when none is configured or
// published: the default policy.yaml, its allow-list, the starter
// lexicons under lexicons/ and the intent rules' phrases under intents/.
func Default() *Bundle {
	b, err := defaultBundle()
	if err != nil {
		panic("policy: default bundle: " + err.Error()) // embedded files; a test keeps it valid
	}
	return b
}

func defaultBundle() (*Bundle, error) {
	spec, err := fs.ReadFile(defaultSpec, "default/policy.yaml")
	if err != nil {
		return nil, err
	}
	allow, err := fs.ReadFile(defaultSpec, "default/allow.txt")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{SpecFile: spec, "allow.txt": allow}
	for _, name := range starter.Names {
		c, err := fs.ReadFile(starter.Files, name)
		if err != nil {
			return nil, errors.Join(errors.New("starter lexicon"), err)
		}
		files["lexicons/"+name] = c
	}
	intents, err := fs.Glob(starter.Files, "intents/*.txt")
	if err != nil {
		return nil, err
	}
	for _, name := range intents {
		c, err := fs.ReadFile(starter.Files, name)
		if err != nil {
			return nil, errors.Join(errors.New("starter intent phrases"), err)
		}
		files[name] = c
	}
	return NewBundle(files)
}
