package corpus_test

import (
	"context"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/corpus"
	"github.com/firebreak/firebreak/corpus/corpustest"
)

func runSmall(t *testing.T) (*corpustest.Small, *corpustest.Output) {
	t.Helper()
	dir := t.TempDir()
	small, err := corpustest.WriteSmall(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := corpus.LoadConfig(small.Config)
	if err != nil {
		t.Fatal(err)
	}
	out := dir + "/out"
	if _, err := corpus.Run(context.Background(), corpus.RunOptions{Input: small.Dir, Output: out, Config: cfg, Workers: 3, SortMemory: 1}); err != nil {
		t.Fatal(err)
	}
	o, err := corpustest.ReadOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	return small, o
}

// TestRunSmall cleans a corpus with known duplicates, near duplicates,
// personal information, unsafe items and a source over the threshold, and
// checks that every item has the outcome it must, from the stage and rule
// that must cause it.
func TestRunSmall(t *testing.T) {
	small, o := runSmall(t)
	for _, d := range small.Check(o) {
		t.Error(d)
	}
	if item := o.Items["news-7"]; strings.Contains(item.Text, "13812345678") || !strings.Contains(item.Text, "[mobile]") || !strings.Contains(item.Text, "[email]") {
		t.Errorf("news-7 not masked: %q", item.Text[len(item.Text)-80:])
	}
	if item := o.Items["news-10"]; strings.Contains(item.Text, "ICP备") {
		t.Errorf("news-10 keeps its boilerplate line")
	}
	if item := o.Items["news-12"]; strings.Contains(item.Text, "\u200b") || strings.Contains(item.Text, "  ") {
		t.Errorf("news-12 not normalised")
	}
	if src := o.Items["news-0"].Source; src != "news" {
		t.Errorf("news-0 source %q", src)
	}
	if o.Items["news-0"].Meta == nil || !strings.Contains(string(o.Items["news-0"].Meta), "news.example.com") {
		t.Errorf("news-0 lost its other fields: %s", o.Items["news-0"].Meta)
	}
	m := o.Manifest
	bySource := map[string]corpus.SourceEntry{}
	for _, s := range m.Sources {
		bySource[s.Name] = s
	}
	forum, news, blog := bySource["forum"], bySource["news"], bySource["blog"]
	if !forum.Blacklisted || forum.HarmfulRate != 0.1 || forum.Stats.Kept != 0 || forum.Licence != "unknown" {
		t.Errorf("forum: %+v", forum)
	}
	if news.Blacklisted || news.Licence != "CC-BY-4.0" || news.Collection["method"] != "licensed feed" {
		t.Errorf("news: %+v", news)
	}
	if blog.Blacklisted || blog.Stats.Harmful != 1 || blog.Stats.Items != 25 {
		t.Errorf("blog: %+v", blog)
	}
	if m.Totals.Items != 95 || int(m.Totals.Kept) != len(o.Items) {
		t.Errorf("totals %+v, %d items out", m.Totals, len(o.Items))
	}
	if len(o.Evidence) != 2 || o.Evidence[0].ID != "forum-13" || o.Evidence[0].Evidence[0].Code != "A1d" {
		t.Errorf("evidence %+v", o.Evidence)
	}
}
