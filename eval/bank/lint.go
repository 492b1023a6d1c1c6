package bank

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/safety"
)

// Floors are the bank sizes of GB/T 45654-2025 (COMPLIANCE.md). The zero
// value means the standard's numbers.
type Floors struct {
	Generated       int // generated-content items; default 2,000
	GeneratedPerA12 int // per A1/A2 risk; default 50
	GeneratedPerRk  int // per other risk; default 20
	Refuse          int // should-refuse items; default 500
	RefusePerRisk   int // per A1/A2 risk; default 20
	NotRefuse       int // should-not-refuse items; default 500
	NotRefuseAspect int // per aspect; default 20
}

func (f Floors) withDefaults() Floors {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&f.Generated, 2000)
	def(&f.GeneratedPerA12, 50)
	def(&f.GeneratedPerRk, 20)
	def(&f.Refuse, 500)
	def(&f.RefusePerRisk, 20)
	def(&f.NotRefuse, 500)
	def(&f.NotRefuseAspect, 20)
	return f
}

// Lint is the check of a set of banks against the floors.
type Lint struct {
	Banks []BankLint `json:"banks"`
}

// BankLint is the check of one bank type.
type BankLint struct {
	Bank    string         `json:"bank"`
	Items   int            `json:"items"`
	Floor   int            `json:"floor,omitempty"` // 0: the standard sets none
	Starter int            `json:"starter_items,omitempty"`
	Langs   map[string]int `json:"langs"`
	Counts  []Count        `json:"counts,omitempty"` // per risk code or aspect the standard names
	Missing []string       `json:"missing"`          // what must be added, exactly
	Notes   []string       `json:"notes,omitempty"`  // what does not count towards a floor
}

// Count is the number of items of one risk code or aspect.
type Count struct {
	Name  string `json:"name"`
	Items int    `json:"items"`
	Floor int    `json:"floor"`
}

// OK reports whether every bank meets every floor.
func (l Lint) OK() bool {
	for _, b := range l.Banks {
		if len(b.Missing) > 0 {
			return false
		}
	}
	return true
}

// Check counts items per bank type and compares them with the floors. The
// three banks the standard names are always reported, present or not.
func Check(items []Item, f Floors) Lint {
	f = f.withDefaults()
	by := map[string][]Item{}
	for _, it := range items {
		by[it.Bank] = append(by[it.Bank], it)
	}
	var l Lint
	for _, name := range []string{GeneratedContent, ShouldRefuse, ShouldNotRefuse} {
		l.Banks = append(l.Banks, checkBank(name, by[name], f))
		delete(by, name)
	}
	var rest []string
	for name := range by {
		rest = append(rest, name)
	}
	slices.Sort(rest)
	for _, name := range rest {
		l.Banks = append(l.Banks, checkBank(name, by[name], f))
	}
	return l
}

func checkBank(name string, items []Item, f Floors) BankLint {
	b := BankLint{Bank: name, Items: len(items), Langs: map[string]int{}, Missing: []string{}}
	risks, aspects := map[string]int{}, map[string]int{}
	for _, it := range items {
		b.Langs[it.Lang]++
		if it.Starter {
			b.Starter++
		}
		risks[it.Risk]++
		aspects[it.Aspect]++
	}
	switch name {
	case GeneratedContent:
		b.Floor = f.Generated
		for _, rc := range safety.RiskCodes {
			floor := f.GeneratedPerRk
			if c := safety.CodeClass(rc.Code); c == "A1" || c == "A2" {
				floor = f.GeneratedPerA12
			}
			b.Counts = append(b.Counts, Count{Name: rc.Code, Items: risks[rc.Code], Floor: floor})
		}
	case ShouldRefuse:
		b.Floor = f.Refuse
		other := 0
		for _, rc := range safety.RiskCodes {
			if c := safety.CodeClass(rc.Code); c == "A1" || c == "A2" {
				b.Counts = append(b.Counts, Count{Name: rc.Code, Items: risks[rc.Code], Floor: f.RefusePerRisk})
			} else {
				other += risks[rc.Code]
			}
		}
		if other > 0 {
			b.Notes = append(b.Notes, fmt.Sprintf("%d items have risk codes outside the 17 risks (A1, A2): they count towards the total only", other))
		}
	case ShouldNotRefuse:
		b.Floor = f.NotRefuse
		for _, a := range Aspects {
			b.Counts = append(b.Counts, Count{Name: a, Items: aspects[a], Floor: f.NotRefuseAspect})
		}
		if n := aspects[""]; n > 0 {
			b.Notes = append(b.Notes, fmt.Sprintf("%d items name no aspect: they count towards the total only", n))
		}
	}
	if b.Floor > 0 && b.Items < b.Floor {
		b.Missing = append(b.Missing, fmt.Sprintf("%d more items (%d of %d)", b.Floor-b.Items, b.Items, b.Floor))
	}
	for _, c := range b.Counts {
		if c.Items < c.Floor {
			b.Missing = append(b.Missing, fmt.Sprintf("%s: %d more (%d of %d)", c.Name, c.Floor-c.Items, c.Items, c.Floor))
		}
	}
	if b.Starter > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("%d items are the project's starter items: a starting point, not a bank for filing", b.Starter))
	}
	return b
}

// WriteText writes the check for people: per bank, the counts and exactly
// what is missing.
func (l Lint) WriteText(w io.Writer) error {
	var sb strings.Builder
	for _, b := range l.Banks {
		status := "ok"
		if len(b.Missing) > 0 {
			status = "MISSING"
		}
		floor := ""
		if b.Floor > 0 {
			floor = fmt.Sprintf(" (floor %d)", b.Floor)
		}
		fmt.Fprintf(&sb, "%s: %d items%s, %s — %s\n", b.Bank, b.Items, floor, langs(b.Langs), status)
		for _, m := range b.Missing {
			fmt.Fprintf(&sb, "  missing  %s\n", m)
		}
		for _, n := range b.Notes {
			fmt.Fprintf(&sb, "  note     %s\n", n)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func langs(m map[string]int) string {
	if len(m) == 0 {
		return "no languages"
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
