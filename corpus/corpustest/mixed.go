package corpustest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// MixedOptions shapes a generated mixed zh/en corpus.
type MixedOptions struct {
	Bytes   int64  // total size of the text, about
	Shards  int    // shards, spread over Sources source folders; default 8
	Sources int    // default 4
	Seed    uint64 // default 1
	// Suffix is the shards' compression suffix: "", ".gz" or ".zst".
	Suffix string
}

// WriteMixed writes a mixed corpus of generated Chinese and English
// documents (500–4,000 bytes, half each) under dir, as
// src-<k>/shard-<n>.jsonl: about 3% exact duplicates of an earlier
// document, 3% near duplicates, 2% with a phone number or e-mail address,
// 0.5% with an unsafe phrase of the starter lexicon, 2% too short. It
// returns the shard paths.
func WriteMixed(dir string, o MixedOptions) ([]string, error) {
	if o.Shards <= 0 {
		o.Shards = 8
	}
	if o.Sources <= 0 {
		o.Sources = 4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	r := rand.New(rand.NewPCG(o.Seed, 2025))
	per := o.Bytes / int64(o.Shards)
	var paths []string
	var recent []string
	for n := 0; n < o.Shards; n++ {
		p := filepath.Join(dir, fmt.Sprintf("src-%d", n%o.Sources), fmt.Sprintf("shard-%04d.jsonl%s", n, o.Suffix))
		paths = append(paths, p)
		if err := writeShard(p, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for written := int64(0); written < per; {
				text := mixedDoc(r, recent)
				if len(recent) < 256 {
					recent = append(recent, text)
				} else {
					recent[r.IntN(len(recent))] = text
				}
				written += int64(len(text))
				if err := enc.Encode(map[string]string{"text": text}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

var unsafePhrases = []string{"制作炸弹", "自制炸弹", "冰毒制作", "制作冰毒", "制毒教程"}

func mixedDoc(r *rand.Rand, recent []string) string {
	x := r.IntN(1000)
	switch {
	case x < 30 && len(recent) > 0:
		return recent[r.IntN(len(recent))]
	case x < 60 && len(recent) > 0:
		return NearCopy(r, recent[r.IntN(len(recent))])
	case x < 80:
		return "短文本，没有内容。"
	}
	lang := []string{"zh", "en"}[r.IntN(2)]
	text := Doc(r, lang, 500+r.IntN(3500))
	switch {
	case x < 100:
		text += fmt.Sprintf("\n联系电话 1390013%04d，邮箱 user%d@example.com。", r.IntN(10000), r.IntN(1000))
	case x < 105:
		text += "\n文中提到" + unsafePhrases[r.IntN(len(unsafePhrases))] + "的方法。"
	}
	return text
}

func writeShard(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var w io.WriteCloser = nopCloser{f}
	switch filepath.Ext(path) {
	case ".gz":
		w = newGzip(f)
	case ".zst":
		w = newZstd(f)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
