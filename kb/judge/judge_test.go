package judge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/internal/fakeupstream"
	"github.com/firebreak/firebreak/kb/judge"
	"github.com/firebreak/firebreak/kb/support"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"UNSUPPORTED: none", nil, false},
		{"  unsupported:NONE \n", nil, false},
		{"UNSUPPORTED: 2, 3", []int{1, 2}, false},
		{"UNSUPPORTED: 3,3,1", []int{2, 0}, false},
		{"UNSUPPORTED: 4", nil, true},
		{"UNSUPPORTED: 0", nil, true},
		{"UNSUPPORTED:", nil, true},
		{"UNSUPPORTED: 2 and 3", nil, true},
		{"Sentence 2 is unsupported.", nil, true},
		{"UNSUPPORTED: 2\nbecause it contradicts the passage", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := judge.Parse(tt.in, 3)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, judge.ErrAnswer) {
			t.Errorf("Parse(%q): %v is not ErrAnswer", tt.in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"UNSUPPORTED: none", "UNSUPPORTED: 1, 2", "UNSUPPORTED: 99999999999999999999", "unsupported:,,", "x:y"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, answer string, n int) {
		got, err := judge.Parse(answer, n)
		if err != nil {
			return
		}
		for _, k := range got {
			if k < 0 || k >= n {
				t.Fatalf("Parse(%q, %d) = %v: index out of range", answer, n, got)
			}
		}
	})
}

func TestUnsupported(t *testing.T) {
	up := fakeupstream.New(fakeupstream.Options{Replies: []fakeupstream.Reply{
		{Text: "UNSUPPORTED: 2"}, {Status: 500}, {Text: "I cannot tell."},
	}})
	t.Cleanup(up.Close)
	j, err := judge.New(judge.Options{BaseURL: up.URL, Model: "judge-model", APIKey: "k-secret"})
	if err != nil {
		t.Fatal(err)
	}
	src := []support.Source{{Title: "leaflet", Text: "Lactic acidosis is rare but serious."}}
	sentences := []string{"Lactic acidosis is rare.", "Lactic acidosis is not serious."}
	got, err := j.Unsupported(t.Context(), src, sentences)
	if err != nil || !slices.Equal(got, []int{1}) {
		t.Fatalf("got %v, %v", got, err)
	}
	req := up.Requests()[0]
	if req.Header.Get("Authorization") != "Bearer k-secret" || req.Fields["model"] == nil || string(req.Fields["model"]) != `"judge-model"` || req.Messages[0].Content != judge.Instructions ||
		!strings.Contains(req.Messages[1].Content, "[1] leaflet\nLactic acidosis is rare but serious.") ||
		!strings.Contains(req.Messages[1].Content, "2. Lactic acidosis is not serious.") {
		t.Errorf("the judge was sent %+v", req)
	}
	var se *judge.StatusError
	if _, err := j.Unsupported(t.Context(), src, sentences); !errors.As(err, &se) || se.StatusCode != 500 {
		t.Errorf("500: %v", err)
	}
	if _, err := j.Unsupported(t.Context(), src, sentences); !errors.Is(err, judge.ErrAnswer) {
		t.Errorf("bad answer: %v", err)
	}
	// Nothing to judge: no call.
	if got, err := j.Unsupported(t.Context(), src, nil); got != nil || err != nil || len(up.Requests()) != 3 {
		t.Errorf("empty: %v %v", got, err)
	}
	if _, err := judge.New(judge.Options{BaseURL: up.URL}); err == nil {
		t.Error("a judge without a model was accepted")
	}
}

func TestTimeout(t *testing.T) {
	up := fakeupstream.New(fakeupstream.Options{Default: fakeupstream.Reply{Text: "UNSUPPORTED: none", HeaderDelay: time.Minute}})
	t.Cleanup(up.Close)
	j, err := judge.New(judge.Options{BaseURL: up.URL, Model: "judge-model", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Unsupported(t.Context(), nil, []string{"Lactic acidosis is not serious."}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a judge that does not answer: %v", err)
	}
}
