package lexicon

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	in := "\uFEFF# comment\n\n毒品\tA1h\n炸弹\tA1d\tblock\n法轮功\tA1d\t\tinitials,pinyin\nbomb\n"
	got, err := ParseFile(strings.NewReader(in), "test.txt", ParseOptions{DefaultCode: "A1h"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Term{
		{Text: "毒品", Code: "A1h"},
		{Text: "炸弹", Code: "A1d", Action: "block"},
		{Text: "法轮功", Code: "A1d", Pinyin: true, Initials: true},
		{Text: "bomb", Code: "A1h"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d terms, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Text != w.Text || g.Code != w.Code || g.Action != w.Action || g.Pinyin != w.Pinyin || g.Initials != w.Initials {
			t.Errorf("term %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseFileErrors(t *testing.T) {
	badCode := func(c string) error {
		if c != "A1a" {
			return errors.New("unknown risk code")
		}
		return nil
	}
	tests := []struct {
		name, in, want string
	}{
		{"no code", "ok\tA1a\nterm\n", "x.txt:2: term \"term\": no risk code"},
		{"bad code", "# c\nterm\tZ9\n", "x.txt:2: term \"term\": unknown risk code"},
		{"too many columns", "a\tA1a\tblock\tpinyin\textra\n", "x.txt:1: 5 tab-separated columns"},
		{"bad flag", "a\tA1a\t\tshout\n", "x.txt:1: term \"a\": unknown flag"},
		{"empty term", "\tA1a\n", "x.txt:1: empty term"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile(strings.NewReader(tt.in), "x.txt", ParseOptions{ValidCode: badCode})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
