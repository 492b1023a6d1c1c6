// Package benchtext generates the mixed Chinese and English text and the
// lexicon terms that benchmarks and tests of the matcher run on: the same
// for the same seed, so figures taken in different packages (the lexicon
// against Hyperscan, firebreak scan, corpus cleaning) are of one corpus.
package benchtext

import (
	"math/rand/v2"
	"strings"
)

// CommonHan is a few hundred of the most frequent Chinese characters; the
// benchmark corpus and lexicons draw from it so that terms really occur.
const CommonHan = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切尔"

var EnglishWords = strings.Fields(`the of and to in is you that it he was for on are as with his they
at be this have from or one had by word but not what all were we when your can said there use an each
which she do how their if will up other about out many then them these so some her would make like him
into time has look two more write go see number no way could people my than first water been call who
oil its now find long down day did get come made may part model server answer prompt token stream
safety policy review audit gateway request router cache network secret account system random`)

// Corpus returns about size bytes of mixed Chinese and English text,
// the same for the same seed.
func Corpus(size int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	han := []rune(CommonHan)
	var b strings.Builder
	for b.Len() < size {
		if rng.IntN(10) < 6 {
			n := 5 + rng.IntN(16)
			for range n {
				b.WriteRune(han[zipf(rng, len(han))])
			}
			b.WriteString([]string{"，", "。", "！", "？", "；"}[rng.IntN(5)])
		} else {
			n := 3 + rng.IntN(8)
			for i := range n {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(EnglishWords[zipf(rng, len(EnglishWords))])
			}
			b.WriteString([]string{". ", ", ", "! ", "? "}[rng.IntN(4)])
		}
	}
	return b.String()
}

// Terms returns n distinct terms: mostly 2–6 Chinese characters drawn
// uniformly from the common ones, some English word pairs.
func Terms(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 11))
	han := []rune(CommonHan)
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		var t string
		if rng.IntN(10) < 8 {
			k := []int{2, 3, 3, 3, 4, 4, 4, 5, 5, 6}[rng.IntN(10)]
			rs := make([]rune, k)
			for i := range rs {
				rs[i] = han[rng.IntN(len(han))] // uniform: terms are rarer than words
			}
			t = string(rs)
		} else {
			t = EnglishWords[rng.IntN(len(EnglishWords))] + " " + EnglishWords[rng.IntN(len(EnglishWords))]
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// zipf picks an index in [0, n) with a rough Zipf law.
func zipf(rng *rand.Rand, n int) int {
	f := rng.Float64()
	return min(n-1, int(float64(n)*f*f*f))
}

// RareHan are Chinese characters the corpus never holds and that fold to
// themselves.
var RareHan = []rune("鼹鼷龃龅龆龉龊龌龋龛龟鼍鼐鼗鼙鼯鼾齑齄")

// RareWords are English words the corpus never holds.
var RareWords = strings.Fields("zephyr quorum vortex nimbus sphinx glyph jinx fjord kiosk lynx")

// WithoutHits returns terms with their last character (Chinese) or word
// (English) swapped for one the corpus never holds: every prefix of a term
// occurs in the corpus as often as before, no term does.
func WithoutHits(terms []string) []string {
	out := make([]string, len(terms))
	seen := map[string]bool{}
	for i, t := range terms {
		for k := 0; ; k++ {
			// k counts the variants tried: past the first round of rare
			// characters or words, a second one follows, and so on.
			var v string
			if sp := strings.LastIndexByte(t, ' '); sp >= 0 {
				v = t[:sp+1] + RareWords[(i+k)%len(RareWords)]
				for j := k / len(RareWords); j > 0; j /= len(RareWords) {
					v += " " + RareWords[j%len(RareWords)]
				}
			} else {
				rs := []rune(t)
				rs[len(rs)-1] = RareHan[(i+k)%len(RareHan)]
				for j := k / len(RareHan); j > 0; j /= len(RareHan) {
					rs = append(rs, RareHan[j%len(RareHan)])
				}
				v = string(rs)
			}
			if !seen[v] {
				seen[v] = true
				out[i] = v
				break
			}
		}
	}
	return out
}
