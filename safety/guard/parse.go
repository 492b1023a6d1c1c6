package guard

import (
	"fmt"
	"strings"
)

// parse reads the model's answer in the guard's format.
func (g *Guard) parse(answer string) (Verdict, error) {
	if g.format == Qwen3Guard {
		return parseQwen3Guard(answer)
	}
	return parseLlamaGuard3(answer)
}

// parseLlamaGuard3 reads "safe", or "unsafe" followed on the next line by
// comma-separated categories ("S1,S10"). Blank lines and surrounding
// spaces are tolerated; anything else is ErrAnswer.
func parseLlamaGuard3(answer string) (Verdict, error) {
	lines := nonEmptyLines(answer)
	if len(lines) == 0 {
		return Verdict{}, fmt.Errorf("%w: empty", ErrAnswer)
	}
	first := strings.Fields(strings.ToLower(lines[0]))
	switch {
	case len(first) == 1 && first[0] == "safe" && len(lines) == 1:
		return Verdict{Label: "safe"}, nil
	case len(first) >= 1 && first[0] == "unsafe" && len(lines) <= 2:
	default:
		return Verdict{}, fmt.Errorf("%w: want safe or unsafe (%d bytes)", ErrAnswer, len(answer))
	}
	v := Verdict{Label: "unsafe"}
	rest := strings.Join(first[1:], ",")
	if len(lines) == 2 {
		rest += "," + lines[1]
	}
	for _, c := range strings.Split(rest, ",") {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if !isHazardCode(c) {
			return Verdict{}, fmt.Errorf("%w: bad category (%d bytes)", ErrAnswer, len(c))
		}
		v.Categories = append(v.Categories, c)
	}
	return v, nil
}

// isHazardCode matches S followed by one or two digits.
func isHazardCode(c string) bool {
	if len(c) < 2 || len(c) > 3 || c[0] != 'S' {
		return false
	}
	for i := 1; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// parseQwen3Guard reads "Safety: Safe|Unsafe|Controversial", an optional
// "Categories: A, B" (or "None") and, for responses, "Refusal: Yes|No".
// The Safety line is required; unknown keys are an error.
func parseQwen3Guard(answer string) (Verdict, error) {
	var v Verdict
	for _, line := range nonEmptyLines(answer) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return Verdict{}, fmt.Errorf("%w: line without key (%d bytes)", ErrAnswer, len(line))
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "safety":
			switch l := strings.ToLower(val); l {
			case "safe", "unsafe", "controversial":
				v.Label = l
			default:
				return Verdict{}, fmt.Errorf("%w: safety label (%d bytes)", ErrAnswer, len(val))
			}
		case "categories", "category":
			for _, c := range strings.Split(val, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "none") {
					v.Categories = append(v.Categories, c)
				}
			}
		case "refusal":
			v.Refusal = strings.ToLower(val)
		default:
			return Verdict{}, fmt.Errorf("%w: unknown key (%d bytes)", ErrAnswer, len(key))
		}
	}
	if v.Label == "" {
		return Verdict{}, fmt.Errorf("%w: no safety line", ErrAnswer)
	}
	return v, nil
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
