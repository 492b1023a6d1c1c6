// Package corpustest generates corpora for the tests and benchmarks of
// corpus cleaning: mixed Chinese and English documents from a seeded
// generator, and a small corpus laid out with known duplicates, near
// duplicates, personal information, unsafe items and a source over the
// blacklist threshold, with the outcome each item must have.
package corpustest

import (
	"math/rand/v2"
	"strings"
)

// common Chinese characters the generator builds words from.
const hanChars = "人民国家时间工作发展经济社会学生学校城市农村科学技术文化历史地方政府企业市场产品服务" +
	"问题方法研究系统管理计划项目环境资源能源交通医院医生病人健康教育老师孩子父母朋友公司员工" +
	"生活世界中国北京上海广州深圳天气季节春天夏天秋天冬天山水河流海洋森林动物植物花草树木米饭" +
	"音乐电影书籍报纸新闻网络手机电脑软件数据信息安全质量标准规则制度法律条件结果原因影响作用" +
	"提高增加减少改变保持建设完成开始结束参加组织支持帮助理解认为希望需要能够应该可以已经正在"

var zhFunc = []string{"的", "了", "是", "在", "和", "有", "不", "这", "也", "就", "都", "与", "而"}

var enWords = strings.Fields(`time year people way day man thing woman life child world school state family
student group country problem hand part place case week company system program question work government
number night point home water room mother area money story fact month lot right study book eye job word
business issue side kind head house service friend father power hour game line end member law car city
community name president team minute idea kid body information back parent face others level office door
health person art war history party result change morning reason research girl guy moment air teacher
force education foot boy age policy process music market sense nation plan college interest death
experience effect use class control care field development role effort rate heart drug show leader light
voice wife police mind price report decision son view relationship town road arm difference value building
action model season society tax director position player record paper space ground form event official
matter center couple site project activity star table need court oil situation cost industry figure street
image phone data picture practice piece land product doctor wall patient worker news test movie north love
support technology step baby computer type attention film tree source organization hair window evidence
population truth song energy garden letter river village winter summer autumn spring mountain forest ocean`)

var enVerbs = strings.Fields(`makes takes gives finds tells asks needs feels becomes leaves puts means keeps
lets begins helps shows hears plays runs moves likes lives believes brings writes provides sits stands loses
pays meets includes continues sets learns changes leads understands watches follows stops creates speaks
reads allows adds spends grows opens walks wins offers remembers considers appears buys waits serves sends
expects builds stays falls reaches raises passes sells requires reports decides pulls explains develops`)

var enFunc = []string{"the", "of", "and", "to", "with", "that", "have", "be", "in", "for", "on", "from", "by"}

// ZhSentence is one generated Chinese sentence.
func ZhSentence(r *rand.Rand) string {
	var b strings.Builder
	n := 8 + r.IntN(10)
	hc := []rune(hanChars)
	for i := 0; i < n; i++ {
		if i > 0 && r.IntN(3) == 0 {
			b.WriteString(zhFunc[r.IntN(len(zhFunc))])
		}
		b.WriteRune(hc[r.IntN(len(hc))])
		b.WriteRune(hc[r.IntN(len(hc))])
		if i > 2 && i < n-1 && r.IntN(6) == 0 {
			b.WriteString("，")
		}
	}
	b.WriteString([]string{"。", "。", "。", "！", "？"}[r.IntN(5)])
	return b.String()
}

// EnSentence is one generated English sentence.
func EnSentence(r *rand.Rand) string {
	var w []string
	n := 8 + r.IntN(12)
	for i := 0; i < n; i++ {
		switch {
		case i%4 == 1:
			w = append(w, enVerbs[r.IntN(len(enVerbs))])
		case i%3 == 2:
			w = append(w, enFunc[r.IntN(len(enFunc))])
		default:
			w = append(w, enWords[r.IntN(len(enWords))])
		}
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// Doc is a generated document of about size bytes in lang ("zh" or
// "en"), in paragraphs of a few sentences.
func Doc(r *rand.Rand, lang string, size int) string {
	var b strings.Builder
	sent := 0
	for b.Len() < size {
		if sent > 0 && sent%4 == 0 {
			b.WriteString("\n")
		} else if sent > 0 && lang == "en" {
			b.WriteString(" ")
		}
		if lang == "zh" {
			b.WriteString(ZhSentence(r))
		} else {
			b.WriteString(EnSentence(r))
		}
		sent++
	}
	return b.String()
}

// NearCopy changes a few words of doc: a near duplicate of it.
func NearCopy(r *rand.Rand, doc string) string {
	rs := []rune(doc)
	hc := []rune(hanChars)
	for i := 0; i < len(rs)/100+1; i++ {
		j := r.IntN(len(rs))
		if rs[j] >= 0x4e00 {
			rs[j] = hc[r.IntN(len(hc))]
		}
	}
	out := string(rs)
	if strings.ContainsRune(doc, ' ') {
		words := strings.Split(out, " ")
		for i := 0; i < len(words)/60+1; i++ {
			words[r.IntN(len(words))] = enWords[r.IntN(len(enWords))]
		}
		out = strings.Join(words, " ")
	}
	return out
}
