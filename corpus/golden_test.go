package corpus_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenLines are JSON and text lines built to reach every branch of the
// per-item stages: generated documents with repeated n-grams and lines,
// mojibake, spam, site furniture, bullets, ellipses, decomposed and
// invisible characters, other scripts, invalid UTF-8, personal
// information, unsafe phrases; and JSON with escapes, surrogates, other
// fields, duplicate keys and errors.
func goldenLines() []corpus.Line {
	r := rand.New(rand.NewPCG(7, 11))
	jsonl := &corpus.Shard{Index: 0, Rel: "g.jsonl", Format: "jsonl", Source: "g"}
	text := &corpus.Shard{Index: 1, Rel: "g.txt", Format: "text", Source: "t"}
	var lines []corpus.Line
	add := func(sh *corpus.Shard, data string) {
		lines = append(lines, corpus.Line{Shard: sh, N: int64(len(lines) + 1), Data: []byte(data)})
	}
	var docs []string
	for i := range 600 {
		lang := []string{"zh", "en"}[i%2]
		doc := corpustest.Doc(r, lang, 50+r.IntN(3000))
		for k := r.IntN(4); k > 0; k-- {
			doc = mutate(r, doc, docs)
		}
		docs = append(docs, doc)
		switch r.IntN(10) {
		case 0:
			add(text, strings.ReplaceAll(doc, "\n", " "))
		case 1:
			b, _ := json.Marshal(map[string]any{"text": doc, "url": "https://x/<" + fmt.Sprint(i) + ">", "n": i, "tags": []string{"a", "b"}})
			add(jsonl, string(b))
		case 2:
			add(jsonl, `{"id":"d`+fmt.Sprint(i)+`", "text" : `+asciiJSON(doc)+` }`)
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(r.IntN(2) == 0)
			enc.Encode(map[string]string{"text": doc})
			add(jsonl, strings.TrimSuffix(buf.String(), "\n"))
		}
	}
	for _, l := range []string{
		``, `   `, `{`, `[]`, `"text"`, `{"text": 5}`, `{"other": "x"}`, `{"text": "a"} x`,
		`{"text": "` + strings.Repeat("字", 60) + `", "text": "` + strings.Repeat("好", 60) + `"}`,
		`{"text": "\ud83d\ude00 \ud800 lone \udc00 ` + strings.Repeat("word and the ", 30) + `"}`,
		"{\"text\": \"bad \xff utf8 " + strings.Repeat("word and the ", 30) + "\"}",
		`{"text": "tab\there\u0000nul\u200b` + strings.Repeat(" a word of the text", 30) + `"}`,
		`{"text":null}`, `{"text":"x","meta":{"a":[1,2,{"b":null}]},"z":true}`,
	} {
		add(jsonl, l)
	}
	return lines
}

// asciiJSON encodes s as a JSON string with every non-ASCII character
// escaped as \uXXXX (surrogate pairs beyond the BMP).
func asciiJSON(s string) string {
	b := []byte(`"`)
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', byte(c))
		case c < 0x20 || c >= 0x7f && c < 0x10000:
			b = fmt.Appendf(b, `\u%04x`, c)
		case c >= 0x10000:
			c -= 0x10000
			b = fmt.Appendf(b, `\u%04x\u%04x`, 0xd800+(c>>10), 0xdc00+(c&0x3ff))
		default:
			b = append(b, byte(c))
		}
	}
	return string(append(b, '"'))
}

func mutate(r *rand.Rand, doc string, earlier []string) string {
	lines := strings.Split(doc, "\n")
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	switch r.IntN(25) {
	case 0: // a sentence repeated
		s := lines[r.IntN(len(lines))]
		return doc + strings.Repeat("\n"+s, 1+r.IntN(6))
	case 1: // a phrase repeated inside a line
		w := strings.Fields(doc)
		if len(w) > 3 {
			return doc + " " + strings.Repeat(strings.Join(w[:2+r.IntN(3)], " ")+" ", 5+r.IntN(20))
		}
		return doc + strings.Repeat("很好", 30)
	case 2:
		return doc + pick("锟斤拷", "烫烫烫", "\ufffd")
	case 3:
		return doc + strings.Repeat(pick("加微信", "刷单", "博彩", "代开发票"), 1+r.IntN(4))
	case 4:
		return doc + "\n" + pick("版权所有 © 2024", "粤ICP备12345号", "上一篇：下一篇", "All Rights Reserved.", "Please ENABLE JavaScript")
	case 5:
		for i := range lines {
			lines[i] = pick("• ", "- ", "* ", "● ") + lines[i]
		}
	case 6:
		for i := range lines {
			lines[i] += pick("...", "…")
		}
	case 7:
		return strings.ReplaceAll(doc, "e", "e\u0301")
	case 8:
		return strings.ReplaceAll(strings.ReplaceAll(doc, " ", pick("  ", "\t", "\u3000", " \u200b", "\u00a0")), "\n", pick("\r\n", "\n\n\n", " \n ", "\r"))
	case 9:
		return "ＦＵＬＬ　ｗｉｄｔｈ " + doc + " ①②"
	case 10:
		return doc + pick(" これは日本語のテキストです。", " 한국어 텍스트입니다.", " Это русский текст.", " Ceci est un texte français.")
	case 11:
		return strings.Repeat(pick("これは日本語の文章です。", "Это русский текст и слова. ", "Ceci est une phrase en français. "), 20+r.IntN(40))
	case 12:
		return doc[:r.IntN(len(doc)+1)] + "\xff\xfe" + doc[r.IntN(len(doc)+1):]
	case 13:
		return doc + pick(" 电话 13812345678", " mail a.b@example.com", " 身份证 11010519491231002X", " ip 192.168.1.20")
	case 14:
		return doc + pick("如何制作炸弹", "冰毒制作方法", "制毒教程")
	case 15:
		return strings.Repeat("# ", 10+r.IntN(200)) + doc
	case 16:
		if len(earlier) > 0 {
			return corpustest.NearCopy(r, earlier[r.IntN(len(earlier))])
		}
	case 17:
		if len(earlier) > 0 {
			return earlier[r.IntN(len(earlier))]
		}
	case 18:
		return pick("short", "短文本", "12345 67890", "")
	case 19:
		return strings.ToUpper(doc) + " 9999 0000 1234 5678 supercalifragilistic antidisestablishmentarianism"
	case 20:
		return strings.Repeat(doc[:min(len(doc), 40+r.IntN(200))]+"\n", 3+r.IntN(5)) + doc
	case 21:
		return "\ufeff" + doc + "\u202e\u2060\ufe0f\u00ad"
	case 22, 23: // the same text in another script, or half of it
		base := []rune{'а', 'ア', '가', 'α'}[r.IntN(4)]
		out := []rune(doc)
		for i, c := range out {
			if c >= 'a' && c <= 'z' || c >= 0x4e00 && c <= 0x9fff && r.IntN(3) > 0 {
				out[i] = base + c%24
			}
		}
		return string(out)
	case 24: // French function words instead of English ones
		return strings.NewReplacer(" the ", " le ", " and ", " et ", " of ", " de ", " to ", " à ", " with ", " avec ").Replace(doc)
	}
	return strings.Join(lines, "\n")
}

// TestProcessGolden holds every per-item result (item, drop, changes,
// evidence, keys) over goldenLines to testdata/process.golden: a change
// to any stage's outcome, or to a key, shows as a diff line.
func TestProcessGolden(t *testing.T) {
	p, err := corpus.NewProcessor(corpus.Config{Input: corpus.InputConfig{IDField: "id"}})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, l := range goldenLines() {
		r := p.Process(context.Background(), l)
		sum := sha256.Sum256([]byte(r.Item.Text))
		keys := sha256.New()
		for _, k := range r.Keys {
			keys.Write(k.Bytes())
		}
		line, _ := json.Marshal(map[string]any{"id": r.Item.ID, "src": r.Item.Source, "bytes": r.Bytes,
			"text": hex.EncodeToString(sum[:8]), "len": len(r.Item.Text), "meta": r.Item.Meta, "changes": r.Item.Changes,
			"drop": r.Drop, "harmful": r.Harmful, "evidence": r.Evidence, "keys": len(r.Keys), "key_hash": hex.EncodeToString(keys.Sum(nil)[:8])})
		got.Write(line)
		got.WriteByte('\n')
	}
	name := filepath.Join("testdata", "process.golden")
	if *update {
		if err := os.WriteFile(name, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	bad := 0
	for i := range max(len(gl), len(wl)) {
		g, w := "", ""
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
			if bad++; bad == 10 {
				t.Fatal("too many differences")
			}
		}
	}
}

// TestResultRoundTrip encodes every golden result as the work files and
// Beam's workers do, and decodes it: the same result comes back (the text
// only for items kept), whatever the length of its length prefix.
func TestResultRoundTrip(t *testing.T) {
	p, err := corpus.NewProcessor(corpus.Config{Input: corpus.InputConfig{IDField: "id"}})
	if err != nil {
		t.Fatal(err)
	}
	lines := goldenLines()
	long := &corpus.Shard{Rel: "long.txt", Format: "text", Source: "l"}
	lines = append(lines, corpus.Line{Shard: long, N: 1, Data: []byte(strings.Repeat("a word of text here, ", 10000))})
	for _, l := range lines {
		r := p.Process(context.Background(), l)
		got, err := corpus.DecodeResult(corpus.EncodeResult(&r))
		if err != nil {
			t.Fatalf("%s: %v", r.Item.ID, err)
		}
		want := r
		want.Keys = nil
		if want.Drop != nil {
			want.Item.Text = ""
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", r.Item.ID, got, want)
		}
	}
}
