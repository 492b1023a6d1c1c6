package upstream

// keywordDFA is an Aho-Corasick automaton compiled into a dense transition
// table over byte classes: scanning costs one table lookup per byte and
// allocates nothing. Each state carries the rules credited when it is
// reached, so every occurrence of every keyword (overlapping ones included)
// adds one to the score of each rule that lists it.
type keywordDFA struct {
	classes  [256]uint16 // byte → class; 0 is "in no keyword"
	nclasses int
	trans    []int32 // state*nclasses + class → next state*nclasses, | hitFlag when it credits rules
	outOff   []int32 // rules credited in state s: outs[outOff[s]:outOff[s+1]]
	outs     []int32
}

// keywordBuilder collects keywords as a trie before compiling.
type keywordBuilder struct {
	children []map[byte]int32 // per trie node
	rules    [][]int32        // per trie node: rules whose keyword ends here
	count    int
}

func newKeywordBuilder() *keywordBuilder {
	return &keywordBuilder{children: []map[byte]int32{{}}, rules: [][]int32{nil}}
}

func (kb *keywordBuilder) add(kw []byte, rule int32) {
	s := int32(0)
	for _, c := range kw {
		next, ok := kb.children[s][c]
		if !ok {
			next = int32(len(kb.children))
			kb.children = append(kb.children, map[byte]int32{})
			kb.rules = append(kb.rules, nil)
			kb.children[s][c] = next
		}
		s = next
	}
	if r := kb.rules[s]; len(r) == 0 || r[len(r)-1] != rule { // a rule listing a keyword twice counts once
		kb.rules[s] = append(r, rule)
		kb.count++
	}
}

func (kb *keywordBuilder) build() *keywordDFA {
	d := &keywordDFA{nclasses: 1}
	for _, ch := range kb.children {
		for c := range ch {
			if d.classes[c] == 0 {
				d.classes[c] = uint16(d.nclasses)
				d.nclasses++
			}
		}
	}
	n := len(kb.children)
	d.trans = make([]int32, n*d.nclasses)
	fail := make([]int32, n)
	outs := make([][]int32, n)
	// Breadth-first, so that a state's failure target is complete before it.
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		outs[s] = append(append([]int32(nil), kb.rules[s]...), outs[fail[s]]...)
		if s != 0 {
			copy(d.trans[int(s)*d.nclasses:], d.trans[int(fail[s])*d.nclasses:int(fail[s]+1)*d.nclasses])
		}
		for c, next := range kb.children[s] {
			cls := int(d.classes[c])
			if s != 0 {
				fail[next] = d.trans[int(fail[s])*d.nclasses+cls]
			}
			d.trans[int(s)*d.nclasses+cls] = next
			queue = append(queue, next)
		}
	}
	d.outOff = make([]int32, n+1)
	for s, o := range outs {
		d.outs = append(d.outs, o...)
		d.outOff[s+1] = int32(len(d.outs))
	}
	// Premultiply the targets and flag those that credit rules, so that a
	// byte costs one dependent load and the output table is read only on hits.
	for i, next := range d.trans {
		v := next * int32(d.nclasses)
		if len(outs[next]) > 0 {
			v |= hitFlag
		}
		d.trans[i] = v
	}
	return d
}

// hitFlag marks a transition into a state that credits rules.
const hitFlag = -1 << 31

// score adds one to scores[rule] for every keyword occurrence in text.
func (d *keywordDFA) score(text []byte, scores []int) {
	trans, classes, s := d.trans, &d.classes, int32(0)
	for _, c := range text {
		v := trans[s+int32(classes[c])]
		s = v &^ hitFlag
		if v < 0 {
			st := s / int32(d.nclasses)
			for _, r := range d.outs[d.outOff[st]:d.outOff[st+1]] {
				scores[r]++
			}
		}
	}
}
