package support

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/cputime"
)

// BenchmarkCheck is the support check of one answer of five sentences
// against four passages of about 500 characters, evidence built
// included, in English and Chinese; the baseline is Terms alone over the
// same text, the floor of any lexical check.
func BenchmarkCheck(b *testing.B) {
	en := strings.Repeat("Metformin is a first-line medicine for type 2 diabetes and lowers glucose production in the liver. ", 5)
	zh := strings.Repeat("二甲双胍是2型糖尿病的一线用药，主要通过减少肝脏葡萄糖输出降低血糖。", 12)
	for _, c := range []struct {
		name, passage, answer string
	}{
		{"en", en, "Metformin is a first-line medicine [1]. It lowers glucose in the liver [1]. The starting dose is 500 mg. It may cause nausea. Ask your doctor."},
		{"zh", zh, "二甲双胍是一线用药[1]。它能降低血糖[1]。起始剂量为500毫克。可能引起恶心。请咨询医生。"},
	} {
		passages := []string{c.passage, c.passage, c.passage, c.passage}
		b.Run(c.name+"/baseline terms", func(b *testing.B) {
			start := cputime.Process()
			for b.Loop() {
				for _, p := range passages {
					Terms(p)
				}
				Terms(c.answer)
			}
			cputime.Report(b, start, 0)
		})
		b.Run(c.name+"/check", func(b *testing.B) {
			b.ReportAllocs()
			start := cputime.Process()
			for b.Loop() {
				NewEvidence(passages).Check(c.answer, DefaultMinSupport)
			}
			cputime.Report(b, start, 0)
		})
	}
}
