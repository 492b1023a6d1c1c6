package safety

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/internal/cputime"
	"github.com/firebreak/firebreak/safety/lexicon"
)

const benchHan = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切尔"

var benchWords = strings.Fields("the of and to in is you that it he was for on are as with his they at be this have from or one model server answer prompt token stream safety policy review audit gateway request")

// benchText is a deterministic mixed Chinese/English text of about n bytes.
func benchText(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	han := []rune(benchHan)
	var b strings.Builder
	for b.Len() < n {
		if rng.IntN(10) < 6 {
			for range 5 + rng.IntN(16) {
				f := rng.Float64()
				b.WriteRune(han[int(float64(len(han))*f*f*f)])
			}
			b.WriteString("，")
		} else {
			for range 3 + rng.IntN(8) {
				b.WriteString(benchWords[rng.IntN(len(benchWords))])
				b.WriteByte(' ')
			}
		}
	}
	return b.String()[:strings.LastIndex(b.String()[:n], "，")]
}

// benchTerms is n distinct synthetic terms with valid codes.
func benchTerms(n int) []lexicon.Term {
	rng := rand.New(rand.NewPCG(9, 9))
	han := []rune(benchHan)
	seen := map[string]bool{}
	terms := make([]lexicon.Term, 0, n)
	for len(terms) < n {
		var t string
		if rng.IntN(10) < 8 {
			rs := make([]rune, []int{2, 3, 3, 3, 4, 4, 4, 5, 5, 6}[rng.IntN(10)])
			for i := range rs {
				rs[i] = han[rng.IntN(len(han))]
			}
			t = string(rs)
		} else {
			t = benchWords[rng.IntN(len(benchWords))] + " " + benchWords[rng.IntN(len(benchWords))]
		}
		if !seen[t] {
			seen[t] = true
			terms = append(terms, lexicon.Term{Text: t, Code: RiskCodes[rng.IntN(len(RiskCodes))].Code, Action: "review"})
		}
	}
	return terms
}

func benchEngine(b *testing.B, n int) *Engine {
	b.Helper()
	e, err := Compile(Config{Version: "bench", Terms: benchTerms(n)})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return e
}

// BenchmarkCheck4KB is the latency of checking one 4 KB prompt against
// 100k terms.
func BenchmarkCheck4KB(b *testing.B) {
	benchCheck(b, benchEngine(b, 100_000), benchText(4096, 1))
}

func benchCheck(b *testing.B, e *Engine, text string) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var hits int
	cpu := cputime.Process()
	for b.Loop() {
		hits = len(e.Check(Input, text).Hits)
	}
	cputime.Report(b, cpu, len(text))
	b.ReportMetric(float64(hits), "hits")
}

// BenchmarkStreamWrite20 is the cost of one Stream.Write of a 20-byte
// chunk (100k terms), chunks split anywhere, inside runes too.
func BenchmarkStreamWrite20(b *testing.B) {
	benchStream(b, benchEngine(b, 100_000))
}

func benchStream(b *testing.B, e *Engine) {
	benchWrites(b, benchText(64<<10, 2), func() streamWriter { return e.NewStream(Output) })
}

// streamWriter is a Stream or a ReadStream.
type streamWriter interface {
	Write(chunk string) StreamResult
	Close() StreamResult
}

// benchWrites measures one Write of a 20-byte chunk of text, a new stream
// begun whenever the text is through.
func benchWrites(b *testing.B, text string, start func() streamWriter) {
	var chunks []string
	for i := 0; i < len(text); i += 20 {
		chunks = append(chunks, text[i:min(i+20, len(text))])
	}
	b.ReportAllocs()
	st := start()
	i := 0
	cpu := cputime.Process()
	for b.Loop() {
		if i == len(chunks) {
			st.Close()
			st, i = start(), 0
		}
		st.Write(chunks[i])
		i++
	}
	cputime.Report(b, cpu, 0)
}

// BenchmarkCompile100k is the time and memory to compile a 100k-term
// engine.
func BenchmarkCompile100k(b *testing.B) {
	terms := benchTerms(100_000)
	b.ReportAllocs()
	var e *Engine
	cpu := cputime.Process()
	for b.Loop() {
		var err error
		if e, err = Compile(Config{Version: "bench", Terms: terms}); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu, 0)
	st := e.Lexicon().Stats()
	b.ReportMetric(float64(st.States), "states")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "automaton-MB")
}

// benchNear is n synthetic near rules: 20 intent phrases of two common
// characters (so that they occur often, as "怎么" and "how to" do), 60
// object phrases of three characters and 10 except phrases each.
func benchNear(n int) []NearRule {
	rng := rand.New(rand.NewPCG(11, 3))
	han := []rune(benchHan)
	phrase := func(k, pool int) string {
		rs := make([]rune, k)
		for i := range rs {
			rs[i] = han[rng.IntN(pool)]
		}
		return string(rs)
	}
	rules := make([]NearRule, n)
	for i := range rules {
		r := NearRule{ID: fmt.Sprintf("near-%d", i), Code: "A1h", Action: "refuse", Within: 12}
		for range 20 {
			r.Intent = append(r.Intent, phrase(2, 60))
		}
		for range 60 {
			r.Object = append(r.Object, phrase(3, len(han)))
		}
		for range 10 {
			r.Except = append(r.Except, phrase(2, 200))
		}
		rules[i] = r
	}
	return rules
}

// BenchmarkCheck4KBNear is BenchmarkCheck4KB's lexicon alone ("lexicon")
// and with 200 near rules beside it ("near"), in one run.
func BenchmarkCheck4KBNear(b *testing.B) {
	terms := benchTerms(100_000)
	text := benchText(4096, 1)
	for _, tc := range []struct {
		name string
		near []NearRule
	}{{"lexicon", nil}, {"near", benchNear(200)}} {
		e, err := Compile(Config{Version: "bench", Terms: terms, Near: tc.near, DefaultAction: "review"})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.Run(tc.name, func(b *testing.B) { benchCheck(b, e, text) })
		b.Run(tc.name+"/stream20", func(b *testing.B) { benchStream(b, e) })
	}
}
