package label_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/label"
)

func policy(pos label.Position) *label.Policy {
	p := label.Default()
	p.Zh, p.En, p.Position = "【AI生成】", "[AI-generated]", pos
	return p
}

func TestPlace(t *testing.T) {
	tests := []struct {
		name          string
		pos           label.Position
		lang          label.Lang
		omit          string
		text          string
		reply, tools  bool
		safeReplies   bool
		want          string
		where, reason string
	}{
		{"end zh detected", label.End, label.Auto, "", "你好", false, false, true, "你好\n\n【AI生成】", "end", ""},
		{"start en detected", label.Start, label.Auto, "", "Hello", false, false, true, "[AI-generated]\n\nHello", "start", ""},
		{"both from request", label.Both, label.En, "", "你好", false, false, true, "[AI-generated]\n\n你好\n\n[AI-generated]", "both", ""},
		{"json mode", label.Both, label.Auto, label.OmitJSON, `{"a":1}`, false, false, true, `{"a":1}`, "none", "json"},
		{"tool calls", label.End, label.Auto, "", "", false, true, true, "", "none", "tools"},
		{"safe reply labelled", label.End, label.Auto, "", "这个我不能回答。", true, false, true, "这个我不能回答。\n\n【AI生成】", "end", ""},
		{"safe reply not labelled", label.End, label.Auto, "", "这个我不能回答。", true, false, false, "这个我不能回答。", "none", "safe_reply"},
		{"empty", label.End, label.Auto, "", "", false, false, true, "", "none", "empty"},
		{"agreement", label.End, label.Auto, label.OmitAgreement, "你好", false, false, true, "你好", "none", "agreement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy(tt.pos)
			p.SafeReplies = tt.safeReplies
			a := &label.Answer{Policy: p, Lang: tt.lang, Omit: tt.omit}
			if got := a.Place(tt.text, tt.reply, tt.tools); got != tt.want {
				t.Errorf("Place = %q, want %q", got, tt.want)
			}
			if where, why := a.Placed(); where != tt.where || why != tt.reason {
				t.Errorf("Placed = %q, %q; want %q, %q", where, why, tt.where, tt.reason)
			}
		})
	}
}

// chunked splits text into n random pieces at byte positions (pieces may
// be empty and may split a UTF-8 character, as upstream deltas do not,
// but the placer must not care).
func chunked(r *rand.Rand, text string, n int) []string {
	cuts := []int{0, len(text)}
	for range n - 1 {
		cuts = append(cuts, r.IntN(len(text)+1))
	}
	slices.Sort(cuts)
	var out []string
	for i := 1; i < len(cuts); i++ {
		out = append(out, text[cuts[i-1]:cuts[i]])
	}
	return out
}

// TestStreamPlacementProperty: for random chunkings of a streamed answer,
// the client receives exactly the model's text plus the label in the
// configured places, once; the end label arrives in a chunk before the
// one that finishes the answer, and that chunk carries no text after it.
func TestStreamPlacementProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	texts := []string{"你好，这是一个流式回答，内容比较长。", "Hello, this is a streamed answer.", "x", "答"}
	for iter := range 2000 {
		text := texts[iter%len(texts)]
		pos := []label.Position{label.Start, label.End, label.Both}[r.IntN(3)]
		a := &label.Answer{Policy: policy(pos), Lang: label.Auto, Prompt: text}
		s := a.Stream()
		parts := chunked(r, text, 1+r.IntN(6))
		// Sometimes the finish reason comes in a chunk of its own, as
		// OpenAI sends it, sometimes with the last delta.
		ownFinish := r.IntN(2) == 0
		var got strings.Builder
		var beforeFinish bool
		for i, part := range parts {
			finish := i == len(parts)-1 && !ownFinish
			content, before := s.Place(label.Piece{Content: part, Finish: finish})
			if before != nil {
				got.WriteString(*before)
				beforeFinish = finish
			}
			got.WriteString(content)
			if finish && before != nil && content != "" {
				t.Fatalf("the finishing chunk carries %q after the end label", content)
			}
		}
		if ownFinish {
			content, before := s.Place(label.Piece{Finish: true})
			if before != nil {
				got.WriteString(*before)
				beforeFinish = true
			}
			got.WriteString(content)
		}
		lbl := a.Policy.Text(label.Detect(text))
		want := text
		if pos&label.Start != 0 {
			want = lbl + label.Sep + want
		}
		if pos&label.End != 0 {
			want += label.Sep + lbl
			if !beforeFinish {
				t.Fatalf("the end label did not come just before the finishing chunk (%q)", parts)
			}
		}
		if got.String() != want {
			t.Fatalf("chunks %q, position %v: client got %q, want %q", parts, pos, got.String(), want)
		}
		if s.Text() != want {
			t.Fatalf("Text() = %q, want %q", s.Text(), want)
		}
		if n := strings.Count(got.String(), lbl); n != strings.Count(want, lbl) {
			t.Fatalf("label appears %d times in %q", n, got.String())
		}
	}
}

func TestStreamToolsAndReplies(t *testing.T) {
	t.Run("tool call answer", func(t *testing.T) {
		a := &label.Answer{Policy: policy(label.Both), Lang: label.Zh}
		s := a.Stream()
		for _, p := range []label.Piece{{Tools: true}, {Tools: true}, {Finish: true}} {
			if c, before := s.Place(p); c != "" || before != nil {
				t.Fatalf("a tool-call answer got text %q / %v", c, before)
			}
		}
		if where, why := a.Placed(); where != "none" || why != label.OmitTools {
			t.Errorf("Placed = %q, %q", where, why)
		}
	})
	t.Run("stopped, safe replies labelled", func(t *testing.T) {
		a := &label.Answer{Policy: policy(label.Both), Lang: label.Zh}
		s := a.Stream()
		c1, _ := s.Place(label.Piece{Content: "开始"})
		c2, before := s.Place(label.Piece{Content: "文本。抱歉。", Reply: "抱歉。", Finish: true})
		if got := c1 + *before + c2; got != "【AI生成】\n\n开始文本。抱歉。\n\n【AI生成】" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("stopped at once, safe replies not labelled", func(t *testing.T) {
		p := policy(label.Both)
		p.SafeReplies = false
		a := &label.Answer{Policy: p, Lang: label.Zh}
		s := a.Stream()
		c, before := s.Place(label.Piece{Content: "抱歉。", Reply: "抱歉。", Finish: true})
		if c != "抱歉。" || before != nil {
			t.Errorf("got %q / %v", c, before)
		}
	})
	t.Run("two choices, end of stream without finish reasons", func(t *testing.T) {
		a := &label.Answer{Policy: policy(label.End), Lang: label.En}
		s := a.Stream()
		s.Place(label.Piece{Index: 1, Content: "B"})
		s.Place(label.Piece{Index: 0, Content: "A"})
		closing := s.Close()
		if len(closing) != 2 {
			t.Fatalf("Close = %+v", closing)
		}
		// Each choice's text bound as its own (ChoicesText): glued, text
		// moved across choices kept the signature.
		if got := s.Text(); got != "17:A\n\n[AI-generated],17:B\n\n[AI-generated]," {
			t.Errorf("Text = %q", got)
		}
	})
}
