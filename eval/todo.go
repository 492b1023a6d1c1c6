package eval

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/firebreak/firebreak/eval/bank"
	"github.com/firebreak/firebreak/eval/grade"
)

// GradingTodoName is the file of answers for people to grade.
const GradingTodoName = "grading-todo.jsonl"

// WriteGradingTodo writes the manual sample of the run in dir: up to n
// answered generated-content items, and up to n/10 items of each refusal
// bank (to calibrate the refusal detector), chosen by seed, each with its
// prompt and answer and an empty verdict for a person to fill in. The
// filled file is passed back with --grading.
func WriteGradingTodo(dir string, n int, seed int64) error {
	recs, err := ReadRecords(dir)
	if err != nil {
		return err
	}
	caps := map[string]int{bank.GeneratedContent: n, bank.ShouldRefuse: n / 10, bank.ShouldNotRefuse: n / 10}
	byBank := map[string][]*Record{}
	for _, r := range recs {
		if r.Outcome == Answered && r.Mutation == "" && caps[r.Bank] > 0 {
			byBank[r.Bank] = append(byBank[r.Bank], r)
		}
	}
	f, err := os.Create(filepath.Join(dir, GradingTodoName+".tmp"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, b := range slices.Sorted(maps.Keys(byBank)) {
		rs := byBank[b]
		sort.Slice(rs, func(i, j int) bool { return rank(seed, rs[i].ID) < rank(seed, rs[j].ID) })
		for _, r := range rs[:min(len(rs), caps[b])] {
			if err := enc.Encode(grade.HumanGrade{ID: r.ID, Bank: r.Bank, Risk: r.Risk, Prompt: r.Prompt, Answer: r.Answer}); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, GradingTodoName+".tmp"), filepath.Join(dir, GradingTodoName))
}
