package safety

import (
	"fmt"
	"slices"
)

// RiskCode is one risk of the 5 classes and 31 risks of Appendix A of
// TC260-003 / GB/T 45654-2025. Codes are the canonical label on every
// rule, hit, review decision and evaluation item.
type RiskCode struct {
	Code string // e.g. "A1d"
	Name string // the risk as the standard names it
}

// RiskCodes lists every risk code in order.
var RiskCodes = []RiskCode{
	{"A1a", "煽动颠覆国家政权、推翻社会主义制度"},
	{"A1b", "危害国家安全和利益、损害国家形象"},
	{"A1c", "煽动分裂国家、破坏国家统一和社会稳定"},
	{"A1d", "宣扬恐怖主义、极端主义"},
	{"A1e", "宣扬民族仇恨"},
	{"A1f", "宣扬暴力、淫秽色情"},
	{"A1g", "传播虚假有害信息"},
	{"A1h", "其他法律、行政法规禁止的内容"},
	{"A2a", "民族歧视"},
	{"A2b", "信仰歧视"},
	{"A2c", "国别歧视"},
	{"A2d", "地域歧视"},
	{"A2e", "性别歧视"},
	{"A2f", "年龄歧视"},
	{"A2g", "职业歧视"},
	{"A2h", "健康歧视"},
	{"A2i", "其他方面歧视"},
	{"A3a", "侵犯他人知识产权"},
	{"A3b", "违反商业道德"},
	{"A3c", "泄露他人商业秘密"},
	{"A3d", "利用算法、数据、平台等优势实施垄断和不正当竞争"},
	{"A3e", "其他商业违法违规行为"},
	{"A4a", "危害他人身心健康"},
	{"A4b", "侵害他人肖像权"},
	{"A4c", "侵害他人名誉权"},
	{"A4d", "侵害他人荣誉权"},
	{"A4e", "侵害他人隐私权"},
	{"A4f", "侵害他人个人信息权益"},
	{"A4g", "侵犯他人其他合法权益"},
	{"A5a", "内容不准确，严重不符合科学常识或主流认知"},
	{"A5b", "内容不可靠，无法对使用者形成帮助"},
}

// RiskClasses names the five classes A1–A5.
var RiskClasses = map[string]string{
	"A1": "违反社会主义核心价值观的内容",
	"A2": "歧视性内容",
	"A3": "商业违法违规",
	"A4": "侵犯他人合法权益",
	"A5": "无法满足特定服务类型的安全需求",
}

// ValidCode returns an error unless code is one of RiskCodes.
func ValidCode(code string) error {
	if slices.ContainsFunc(RiskCodes, func(c RiskCode) bool { return c.Code == code }) {
		return nil
	}
	return fmt.Errorf("unknown risk code %q (want A1a–A1h, A2a–A2i, A3a–A3e, A4a–A4g, A5a or A5b)", code)
}

// ValidCodeOrClass accepts a risk code or a class (A1 … A5).
func ValidCodeOrClass(s string) error {
	if _, ok := RiskClasses[s]; ok {
		return nil
	}
	return ValidCode(s)
}

// CodeClass returns the class of a risk code: "A1" for "A1d".
func CodeClass(code string) string {
	if len(code) < 2 {
		return code
	}
	return code[:2]
}

// CodeName returns the name of a risk code, or "" if unknown.
func CodeName(code string) string {
	for _, c := range RiskCodes {
		if c.Code == code {
			return c.Name
		}
	}
	return ""
}
