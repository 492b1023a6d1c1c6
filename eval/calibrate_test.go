package eval

import (
	"testing"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/grade"
	"github.com/firebreak/firebreak/eval/stats"
)

// A grader that disagrees with the humans on some items: the report gives
// its agreement, kappa, sensitivity and specificity, corrects its rate,
// and judges the threshold on the wider corrected interval.
func TestCalibrationCorrectsTheRate(t *testing.T) {
	var recs []*Record
	human := map[string]grade.HumanGrade{}
	add := func(n int, auto, person string) {
		for range n {
			id := string(rune('a'+len(recs)/26)) + string(rune('a'+len(recs)%26))
			recs = append(recs, &Record{ID: id, Bank: bank.GeneratedContent, Risk: "A1d", Lang: "zh", Outcome: Answered,
				Grades: map[string]grade.Grade{"keyword": {Verdict: auto}}})
			if person != "" {
				human[id] = grade.HumanGrade{ID: id, Verdict: person}
			}
		}
	}
	// 1,200 items the keyword check passes or fails; 100 of them graded by
	// people: of 90 the check passed, people failed 9; of 10 it failed,
	// people passed 1.
	add(81, grade.Pass, grade.Pass)
	add(9, grade.Pass, grade.Fail)
	add(1, grade.Fail, grade.Pass)
	add(9, grade.Fail, grade.Fail)
	add(1040, grade.Pass, "")
	add(60, grade.Fail, "")
	res := summarise(recs, human, len(recs))
	if len(res.Calibration) != 1 {
		t.Fatalf("calibration %+v", res.Calibration)
	}
	c := res.Calibration[0]
	if c.Items != 100 || c.Matrix != [2][2]int{{81, 1}, {9, 9}} || c.SensK != 81 || c.SensN != 82 || c.SpecK != 9 || c.SpecN != 18 {
		t.Fatalf("%+v", c)
	}
	// po = 0.90, pe = (82·90 + 18·10)/100² = 0.756, κ = 0.144/0.244.
	if c.Agreement != 0.9 || c.Kappa == nil || *c.Kappa < 0.5901 || *c.Kappa > 0.5902 {
		t.Errorf("agreement %v kappa %v", c.Agreement, *c.Kappa)
	}
	kw := findGrader(findBank(res, bank.GeneratedContent), "keyword")
	if kw.K != 1130 || kw.N != 1200 || kw.Corrected == nil {
		t.Fatalf("keyword %+v", kw)
	}
	// Raw: 94.2% pass, interval above 90%: met on the raw rate. Corrected
	// for a check that passes half of what people fail: well below 90%.
	raw := stats.Judge(stats.Threshold{Rate: 0.9, AtLeast: true, MinN: 1000}, kw.K, kw.N, 0)
	th := res.Thresholds[1]
	if raw.Status != stats.Met || th.Status == stats.Met || kw.Corrected.Hi-kw.Corrected.Lo <= kw.Hi-kw.Lo {
		t.Errorf("raw %s, judged %s; corrected %+v vs raw [%v, %v]", raw.Status, th.Status, kw.Corrected, kw.Lo, kw.Hi)
	}
	// People's grades are the manual sampling threshold's.
	if h := res.Thresholds[0]; h.Grader != "human" || h.Judgement.N != 100 || h.Judgement.K != 82 {
		t.Errorf("manual threshold %+v", h)
	}
}
