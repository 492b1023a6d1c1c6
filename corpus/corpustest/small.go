package corpustest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Outcome is what cleaning must do to an item: Stage "" keeps it; Change
// names a stage/rule that must have changed a kept item.
type Outcome struct {
	Stage, Rule string
	Change      string
}

// Small is a small corpus with known outcomes.
type Small struct {
	Dir    string             // the input folder
	Config string             // a configuration file for it
	Want   map[string]Outcome // by item id
}

// SmallConfig is the configuration written for the small corpus.
const SmallConfig = `sources:
  - name: news
    paths: [news/**]
    licence: CC-BY-4.0
    collection: {method: licensed feed, collected: "2026-10-01", contact: data@example.com}
  - name: forum
    paths: [forum/**]
    licence: unknown
    collection: {method: crawl, collected: "2026-10-02"}
input:
  id_field: id
blacklist:
  threshold: 0.05
`

// WriteSmall writes the small corpus under dir:
//
//	news/part-0.jsonl      JSONL: duplicates, a near duplicate, PII, junk, Japanese, boilerplate, spam, invisible characters
//	news/part-1.jsonl.gz   JSONL, gzip: a duplicate of an item of part-0
//	forum/posts.jsonl.zst  JSONL, zstd: 2 unsafe items of 20 (10% > 5%: blacklisted)
//	blog/notes.txt.zst     text, zstd: 1 unsafe item of 25 (4%: kept)
func WriteSmall(dir string) (*Small, error) {
	r := rand.New(rand.NewPCG(17, 45654))
	s := &Small{Dir: filepath.Join(dir, "in"), Want: map[string]Outcome{}}
	lang := func(i int) string { return []string{"zh", "en"}[i%2] }
	kept := Outcome{}
	var news0, news1 []map[string]any
	docs := map[int]string{}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("news-%d", i)
		text := Doc(r, lang(i), 600)
		want := kept
		switch i {
		case 5:
			text, want = docs[1], Outcome{Stage: "exact_dedup", Rule: "exact"}
		case 6:
			text, want = NearCopy(r, docs[2]), Outcome{Stage: "near_dedup"}
		case 7:
			text += "\n如有疑问请致电13812345678或写信给zhang.san@example.com。"
			want = Outcome{Change: "pii/mobile"}
		case 8:
			text, want = "短文本。", Outcome{Stage: "quality", Rule: "too_short"}
		case 9:
			text, want = japanese(r), Outcome{Stage: "language", Rule: "language"}
		case 10:
			text += "\n版权所有 © 2026 某某新闻网 京ICP备12345678号"
			want = Outcome{Change: "quality/boilerplate_line"}
		case 11:
			text += "\n加微信领取资料，加微信进群，加微信有惊喜。"
			want = Outcome{Stage: "quality", Rule: "zh_spam_phrases"}
		case 12:
			text = strings.Replace(text, "。", "。\u200b  ", 2)
			want = Outcome{Change: "normalise/whitespace"}
		}
		docs[i] = text
		s.Want[id] = want
		news0 = append(news0, map[string]any{"id": id, "text": text, "url": "https://news.example.com/" + id})
	}
	for i := 30; i < 50; i++ {
		id := fmt.Sprintf("news-%d", i)
		text, want := Doc(r, lang(i), 600), kept
		if i == 30 {
			text, want = docs[3], Outcome{Stage: "exact_dedup", Rule: "exact"}
		}
		s.Want[id] = want
		news1 = append(news1, map[string]any{"id": id, "text": text})
	}
	var forum []map[string]any
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("forum-%d", i)
		text, want := Doc(r, lang(i), 600), Outcome{Stage: "provenance", Rule: "source_blacklist"}
		if i == 4 || i == 13 {
			text += "\n有人在帖子里详细介绍了制作炸弹的步骤。"
			want = Outcome{Stage: "unsafe", Rule: "lexicon:制作炸弹"}
		}
		s.Want[id] = want
		forum = append(forum, map[string]any{"id": id, "text": text})
	}
	var blog []string
	for i := 0; i < 25; i++ {
		id := fmt.Sprintf("blog/notes.txt.zst:%d", i+1)
		text, want := strings.ReplaceAll(Doc(r, lang(i), 600), "\n", " "), kept
		if i == 8 {
			text += " 这篇笔记教人自制炸弹。"
			want = Outcome{Stage: "unsafe", Rule: "lexicon:自制炸弹"}
		}
		s.Want[id] = want
		blog = append(blog, text)
	}
	files := map[string][]byte{
		"news/part-0.jsonl":     jsonl(news0),
		"news/part-1.jsonl.gz":  gz(jsonl(news1)),
		"forum/posts.jsonl.zst": zst(jsonl(forum)),
		"blog/notes.txt.zst":    zst([]byte(strings.Join(blog, "\n") + "\n")),
	}
	for name, b := range files {
		p := filepath.Join(s.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
	}
	s.Config = filepath.Join(dir, "clean.yaml")
	return s, os.WriteFile(s.Config, []byte(SmallConfig), 0o644)
}

func japanese(r *rand.Rand) string {
	kana := []rune("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん")
	var b strings.Builder
	for s := 0; s < 12; s++ {
		for i := 0; i < 14; i++ {
			b.WriteRune(kana[r.IntN(len(kana))])
		}
		b.WriteString("。")
	}
	return b.String()
}

func jsonl(rows []map[string]any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, row := range rows {
		enc.Encode(row)
	}
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func newGzip(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }

func newZstd(w io.Writer) io.WriteCloser {
	z, _ := zstd.NewWriter(w)
	return z
}

func zst(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	defer w.Close()
	return w.EncodeAll(b, nil)
}
