package support

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// labelled is one sentence of the labelled set, and whether the passages
// of its set support it.
type labelled struct {
	Set       string `json:"set"`
	Sentence  string `json:"sentence"`
	Supported bool   `json:"supported"`
}

// labelledSources names the document of kb's test corpus each set of
// testdata/labelled.jsonl is checked against.
var labelledSources = map[string]string{
	"metformin-en": "metformin.md", "refunds-en": "refunds.txt", "二甲双胍": "二甲双胍.md", "退款": "退款规则.txt",
}

func loadLabelled(t testing.TB) ([]labelled, map[string]*Evidence) {
	t.Helper()
	f, err := os.Open("testdata/labelled.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l labelled
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	ev := map[string]*Evidence{}
	for set, file := range labelledSources {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "corpus", file))
		if err != nil {
			t.Fatal(err)
		}
		ev[set] = NewEvidence([]string{string(data)})
	}
	return out, ev
}

// precisionRecall of flagging unsupported sentences at threshold min.
func precisionRecall(set []labelled, ev map[string]*Evidence, min float64) (p, r float64, tp, fp, fn int) {
	for _, l := range set {
		flagged := ev[l.Set].Check(l.Sentence, min).Unsupported > 0
		switch {
		case flagged && !l.Supported:
			tp++
		case flagged && l.Supported:
			fp++
		case !flagged && !l.Supported:
			fn++
		}
	}
	return float64(tp) / float64(max(tp+fp, 1)), float64(tp) / float64(max(tp+fn, 1)), tp, fp, fn
}

// TestLabelledSet measures the precision and recall of the support check
// on the labelled set (docs/benchmarks.md) and holds them to floors; -v
// prints a sweep of thresholds and the sentences the check gets wrong.
func TestLabelledSet(t *testing.T) {
	set, ev := loadLabelled(t)
	for _, min := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8} {
		p, r, tp, fp, fn := precisionRecall(set, ev, min)
		t.Logf("min_support %.1f: precision %.2f recall %.2f (tp %d fp %d fn %d, %d sentences)", min, p, r, tp, fp, fn, len(set))
	}
	for _, l := range set {
		if flagged := ev[l.Set].Check(l.Sentence, DefaultMinSupport).Unsupported > 0; flagged == l.Supported {
			t.Logf("wrong: supported=%v %q", l.Supported, l.Sentence)
		}
	}
	p, r, _, _, _ := precisionRecall(set, ev, DefaultMinSupport)
	if p < 0.85 || r < 0.7 {
		t.Errorf("precision %.2f, recall %.2f under the floors 0.85 / 0.7", p, r)
	}
}
