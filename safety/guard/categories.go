package guard

import "github.com/firebreak/firebreak/safety"

// Category is one category a guard model reports, with Firebreak's risk
// code for it and what to do when the model names it.
type Category struct {
	Name    string        // as the model writes it: "S1", "Violent"
	Title   string        // what the category covers
	Code    string        // primary risk code of GB/T 45654 Appendix A; "" = no equivalent
	Related []string      // further risk codes the category overlaps (for people, not for hits)
	Action  safety.Action // for an unsafe verdict in this category
	OnError FailMode      // when the model cannot be asked; set from Options
}

// Unknown is the category used for a category name the table does not
// know (a newer model) and for an unsafe verdict that names none.
const Unknown = "unknown"

// llamaGuard3 is the crosswalk of the Llama Guard 3 hazard categories
// (MLCommons taxonomy, S1–S14, per the model card) to risk codes, as given
// in COMPLIANCE.md. Harms the standard asks to refuse are refused; harms
// that need judgement (defamation, advice, privacy, IP, elections) go to
// review. S14 has no equivalent in the standard and is not reported.
var llamaGuard3 = []Category{
	{Name: "S1", Title: "Violent Crimes", Code: "A1f", Related: []string{"A1d"}, Action: safety.Refuse},
	{Name: "S2", Title: "Non-Violent Crimes", Code: "A1h", Related: []string{"A3e"}, Action: safety.Refuse},
	{Name: "S3", Title: "Sex-Related Crimes", Code: "A1f", Action: safety.Refuse},
	{Name: "S4", Title: "Child Sexual Exploitation", Code: "A1f", Related: []string{"A4a"}, Action: safety.Refuse},
	{Name: "S5", Title: "Defamation", Code: "A4c", Related: []string{"A4d"}, Action: safety.Review},
	{Name: "S6", Title: "Specialized Advice", Code: "A5a", Related: []string{"A5b", "A4a"}, Action: safety.Review},
	{Name: "S7", Title: "Privacy", Code: "A4e", Related: []string{"A4f", "A4b"}, Action: safety.Review},
	{Name: "S8", Title: "Intellectual Property", Code: "A3a", Action: safety.Review},
	{Name: "S9", Title: "Indiscriminate Weapons", Code: "A1d", Related: []string{"A1h"}, Action: safety.Refuse},
	{Name: "S10", Title: "Hate", Code: "A1e", Related: []string{"A2a", "A2b", "A2c", "A2d", "A2e", "A2f", "A2g", "A2h", "A2i"}, Action: safety.Refuse},
	{Name: "S11", Title: "Suicide & Self-Harm", Code: "A4a", Action: safety.Refuse},
	{Name: "S12", Title: "Sexual Content", Code: "A1f", Action: safety.Refuse},
	{Name: "S13", Title: "Elections", Code: "A1g", Action: safety.Review},
	{Name: "S14", Title: "Code Interpreter Abuse", Code: "", Action: safety.Allow},
	{Name: Unknown, Title: "unsafe, category not given or not known", Code: "A1h", Action: safety.Review},
}

// qwen3Guard is Firebreak's crosswalk of the Qwen3Guard-Gen categories (per
// its model card) to risk codes:
//
//	Violent                        → A1f (also A1d)
//	Non-violent Illegal Acts       → A1h (also A3e)
//	Sexual Content or Sexual Acts  → A1f
//	PII                            → A4f (also A4e); review: the pii detector masks spans, the guard cannot
//	Suicide & Self-Harm            → A4a
//	Unethical Acts                 → A2i (also A1e, A4c, A3b); review: bias, insults and hate mixed with milder harms
//	Politically Sensitive Topics   → A1b (also A1a, A1c, A1g)
//	Copyright Violation            → A3a; review
//	Jailbreak                      → A1h; the standard has no code for attacks on the safety system itself
//
// A "Controversial" verdict uses Options.Controversial (review by default)
// unless the category's action is milder.
var qwen3Guard = []Category{
	{Name: "Violent", Title: "violence, weapons, terrorism", Code: "A1f", Related: []string{"A1d"}, Action: safety.Refuse},
	{Name: "Non-violent Illegal Acts", Title: "fraud, drugs, hacking and other crimes", Code: "A1h", Related: []string{"A3e"}, Action: safety.Refuse},
	{Name: "Sexual Content or Sexual Acts", Title: "sexual content", Code: "A1f", Action: safety.Refuse},
	{Name: "PII", Title: "personal identifiable information", Code: "A4f", Related: []string{"A4e"}, Action: safety.Review},
	{Name: "Suicide & Self-Harm", Title: "suicide and self-harm", Code: "A4a", Action: safety.Refuse},
	{Name: "Unethical Acts", Title: "bias, discrimination, insults, harassment", Code: "A2i", Related: []string{"A1e", "A4c", "A3b"}, Action: safety.Review},
	{Name: "Politically Sensitive Topics", Title: "politically sensitive topics", Code: "A1b", Related: []string{"A1a", "A1c", "A1g"}, Action: safety.Refuse},
	{Name: "Copyright Violation", Title: "copyright violation", Code: "A3a", Action: safety.Review},
	{Name: "Jailbreak", Title: "attempts to bypass the model's safety rules", Code: "A1h", Action: safety.Refuse},
	{Name: Unknown, Title: "unsafe, category not given or not known", Code: "A1h", Action: safety.Review},
}

// DefaultCategories returns a copy of the built-in category table of a
// format, in the model's order, with OnError left empty (Options decide).
func DefaultCategories(f Format) ([]Category, error) {
	var src []Category
	switch f {
	case LlamaGuard3:
		src = llamaGuard3
	case Qwen3Guard:
		src = qwen3Guard
	default:
		return nil, errFormat(f)
	}
	out := make([]Category, len(src))
	for i, c := range src {
		c.Related = append([]string(nil), c.Related...)
		out[i] = c
	}
	return out, nil
}

// FailsClosed lists the categories that refuse when the model cannot be
// asked, in the table's order; empty when every category fails open.
func (g *Guard) FailsClosed() []string {
	var names []string
	for _, c := range g.cats {
		if c.OnError == FailClosed {
			names = append(names, c.Name)
		}
	}
	return names
}
