package pii

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/firebreak/firebreak/safety"
)

// found renders hits as "kind:matched text" for compact comparisons.
func found(text string, hits []safety.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Rule+":"+text[h.Start:h.End])
	}
	return out
}

func newDetector(t testing.TB, o Options) *Detector {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return d
}

func TestDetect(t *testing.T) {
	id := withIDCheck(t, "11010519491231002")
	idX := idEndingInX(t)
	badID := withIDCheck(t, "11010519491231002")[:17] + "Y"
	union := withLuhn(t, "622202100001234567")   // 19 digits
	visa := withLuhn(t, "411111111111111")       // 16 digits
	amex := withLuhn(t, "37828224631000")        // 15 digits
	unknownIIN := withLuhn(t, "990000000000000") // passes Luhn, no issuer
	badLuhn := visa[:15] + string('0'+(visa[15]-'0'+1)%10)
	uscc := withUSCCCheck(t, "91110108MA01ABCD1")
	digitUSCC := withUSCCCheck(t, "12100000400000624")
	grouped := union[:4] + " " + union[4:8] + " " + union[8:12] + " " + union[12:16] + " " + union[16:]

	tests := []struct {
		name string
		text string
		want []string
	}{
		// mobile
		{"mobile in Chinese", "我的手机是13812345678，请回电。", []string{"mobile:13812345678"}},
		{"mobile 3-4-4 spaces", "call 138 1234 5678 now", []string{"mobile:138 1234 5678"}},
		{"mobile 3-4-4 dashes", "tel: 139-0000-1111.", []string{"mobile:139-0000-1111"}},
		{"mobile +86", "+86 13812345678", []string{"mobile:+86 13812345678"}},
		{"mobile +86 grouped", "(+86-138-1234-5678)", []string{"mobile:+86-138-1234-5678"}},
		{"mobile 0086", "0086-13812345678", []string{"mobile:0086-13812345678"}},
		{"mobile 86 glued", "8613812345678", []string{"mobile:8613812345678"}},
		{"mobile after a count", "共 3 个号码 3 13812345678", []string{"mobile:13812345678"}},
		{"mobile inside longer run", "138123456789", nil},
		{"mobile inside digits both sides", "0138123456780", nil},
		{"mobile glued to letters", "abc13812345678", nil},
		{"mobile followed by letters", "13812345678abc", nil},
		{"mobile second digit 2", "12812345678", nil},
		{"mobile mixed separators", "138 1234-5678", nil},
		{"mobile dash glued to a date", "2024-13812345678", nil},
		{"mobile as decimal", "13812345678.50", nil},
		{"mobile as fraction", "0.13812345678", nil},
		{"mobile bad grouping", "1381 234 5678", nil},
		// identity numbers
		{"id", "身份证号" + id + "。", []string{"id_card:" + id}},
		{"id with X", "ID: " + idX + ", ok", []string{"id_card:" + idX}},
		{"id with x", "ID " + strings.ToLower(idX), []string{"id_card:" + strings.ToLower(idX)}},
		{"id 6-8-4", id[:6] + " " + id[6:14] + " " + id[14:], []string{"id_card:" + id[:6] + " " + id[6:14] + " " + id[14:]}},
		{"id bad check", "号码" + id[:17] + string('0'+(id[17]-'0'+1)%10), nil},
		{"id bad check letter", badID, nil},
		{"id inside longer run", id + "1", nil},
		{"id legacy off", "110105491231002", nil},
		// bank cards
		{"unionpay 19", "卡号" + union + "转账", []string{"bank_card:" + union}},
		{"unionpay grouped", "card " + grouped + ".", []string{"bank_card:" + grouped}},
		{"visa", "visa " + visa, []string{"bank_card:" + visa}},
		{"amex 4-6-5", amex[:4] + " " + amex[4:10] + " " + amex[10:], []string{"bank_card:" + amex[:4] + " " + amex[4:10] + " " + amex[10:]}},
		{"bad luhn", "visa " + badLuhn, nil},
		{"unknown issuer", unknownIIN, nil},
		{"visa wrong length", withLuhn(t, "41111111111111"), nil},
		// credit codes and passports
		{"uscc", "统一社会信用代码：" + uscc, []string{"uscc:" + uscc}},
		{"uscc published", "91350100M000100Y43", []string{"uscc:91350100M000100Y43"}},
		{"uscc digits", "代码 " + digitUSCC, []string{"uscc:" + digitUSCC}},
		{"uscc wrong check", "91350100M000100Y44", nil},
		{"passport E", "护照号E12345678", []string{"passport:E12345678"}},
		{"passport EA", "passport EA1234567.", []string{"passport:EA1234567"}},
		{"passport G", "G12345678", []string{"passport:G12345678"}},
		{"train number", "G1234次列车", nil},
		{"passport lower case", "e12345678", nil},
		// landlines
		{"landline dash", "电话0755-88881234", []string{"landline:0755-88881234"}},
		{"landline beijing", "010-62345678", []string{"landline:010-62345678"}},
		{"landline extension", "010-62345678-801", []string{"landline:010-62345678-801"}},
		{"landline parens", "(010)62345678", []string{"landline:(010)62345678"}},
		{"landline full-width parens", "（021）2345 6789", []string{"landline:（021）2345 6789"}},
		{"landline +86", "+86 10 62345678", []string{"landline:+86 10 62345678"}},
		{"landline 7 digits after 3-digit area", "010-6234567", nil},
		{"landline number starting 1", "0755-18881234", nil},
		{"date is not a landline", "2024-03-15", nil},
		// e-mail
		{"email", "邮箱：john.doe+tag@mail.example.com。", []string{"email:john.doe+tag@mail.example.com"}},
		{"email sentence end", "write to a_b@x.org.", []string{"email:a_b@x.org"}},
		{"email with mobile local part", "13812345678@qq.com", []string{"email:13812345678@qq.com"}},
		{"email numeric tld", "a@b.123", nil},
		{"email no dot", "user@localhost", nil},
		{"not an email", "@channel hello", nil},
		// IP addresses
		{"ipv4", "server 192.168.1.10:8080", []string{"ipv4:192.168.1.10"}},
		{"ipv4 octet 256", "10.0.0.256", nil},
		{"ipv4 leading zero", "10.01.0.1", nil},
		{"version string", "v1.2.3.4 and 1.2.3.4.5", nil},
		{"ipv6", "addr 2001:db8::8a2e:370:7334.", []string{"ipv6:2001:db8::8a2e:370:7334"}},
		{"ipv6 link local", "fe80::1", []string{"ipv6:fe80::1"}},
		{"ipv6 mapped", "::ffff:192.0.2.1 ok", []string{"ipv6:::ffff:192.0.2.1"}},
		{"time of day", "at 12:30:45 today", nil},
		{"c++ scope", "std::vector A::B", nil},
		// false positives
		{"order number", "订单号：202403151234567890", nil},
		{"timestamp ms", "ts=1710000000000", nil},
		{"timestamp s", "1710000000", nil},
		{"price", "总价 ¥13800.00 元", nil},
		{"price with commas", "$1,380,000,000", nil},
		{"uuid", "id 123e4567-e89b-12d3-a456-426614174000", nil},
		{"hex hash", "sha 0123456789abcdef0123456789abcdef", nil},
		{"mixed zh/en", "Hi，我是Li Lei，mobile 13912345678，email lilei@163.com，IP 8.8.8.8。",
			[]string{"mobile:13912345678", "email:lilei@163.com", "ipv4:8.8.8.8"}},
	}
	d := newDetector(t, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := found(tc.text, d.Detect(tc.text))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Detect(%q)\n got %q\nwant %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestDetectHitFields(t *testing.T) {
	d := newDetector(t, Options{})
	text := "电话13812345678"
	hits := d.Detect(text)
	want := []safety.Hit{{Detector: "pii", Rule: "mobile", Code: "A4f", Action: safety.Mask, Start: 6, End: 17}}
	if !reflect.DeepEqual(hits, want) {
		t.Fatalf("Detect(%q) = %+v, want %+v", text, hits, want)
	}
}

func TestOptions(t *testing.T) {
	id := withIDCheck(t, "11010519491231002")
	text := "13812345678 " + id + " a@b.cn 110105491231002"
	tests := []struct {
		name string
		o    Options
		want []string // kind/action/code per hit
	}{
		{"defaults", Options{}, []string{"mobile/mask/A4f", "id_card/mask/A4f", "email/mask/A4f"}},
		{"only mobile", Options{Kinds: []Kind{Mobile}}, []string{"mobile/mask/A4f"}},
		{"actions and codes", Options{
			Actions: map[Kind]safety.Action{IDCard: safety.Review},
			Codes:   map[Kind]string{Email: "A4e"},
		}, []string{"mobile/mask/A4f", "id_card/review/A4f", "email/mask/A4e"}},
		{"legacy ids", Options{Kinds: []Kind{IDCard}, LegacyID15: true}, []string{"id_card/mask/A4f", "id_card/mask/A4f"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, h := range newDetector(t, tc.o).Detect(text) {
				got = append(got, fmt.Sprintf("%s/%s/%s", h.Rule, h.Action, h.Code))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"unknown kind", Options{Kinds: []Kind{"ssn"}}, `kinds[0]: unknown kind "ssn"`},
		{"empty kinds", Options{Kinds: []Kind{}}, "kinds: empty list"},
		{"action for unknown kind", Options{Actions: map[Kind]safety.Action{"x": safety.Mask}}, `actions: unknown kind "x"`},
		{"bad action", Options{Actions: map[Kind]safety.Action{Mobile: 9}}, "actions[mobile]: invalid action"},
		{"bad code", Options{Codes: map[Kind]string{Mobile: "A4h"}}, `codes[mobile]: "A4h" is not a risk code`},
		{"code for unknown kind", Options{Codes: map[Kind]string{"x": "A4f"}}, `codes: unknown kind "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestFromSettings checks the factory policies reach as type "pii".
func TestFromSettings(t *testing.T) {
	var f safety.DetectorFactory = FromSettings
	tests := []struct {
		name     string
		settings string
		wantErr  bool
		want     []string
	}{
		{"no settings", ``, false, []string{"mobile", "email"}},
		{"null", `null`, false, []string{"mobile", "email"}},
		{"kinds and actions", `{"kinds":["email"],"actions":{"email":"refuse"}}`, false, []string{"email"}},
		{"unknown field", `{"kind":["email"]}`, true, nil},
		{"bad action name", `{"actions":{"email":"drop"}}`, true, nil},
		{"bad code", `{"codes":{"email":"B1"}}`, true, nil},
	}
	text := "13812345678 a@b.cn"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			det, err := f(json.RawMessage(tc.settings))
			if (err != nil) != tc.wantErr {
				t.Fatalf("factory(%s) error = %v, wantErr %v", tc.settings, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var got []string
			for _, h := range det.Detect(text) {
				got = append(got, h.Rule)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rules = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaxSpan(t *testing.T) {
	d := newDetector(t, Options{})
	local := strings.Repeat("a", 64)
	domain := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".cn"
	long := local + "@" + domain
	if len(long) != maxEmail {
		t.Fatalf("test address is %d bytes, want %d", len(long), maxEmail)
	}
	if got := found(long, d.Detect(long)); len(got) != 1 {
		t.Fatalf("longest address not found: %q", got)
	}
	tooLong := local + "@e" + domain
	if got := d.Detect(tooLong); len(got) != 0 {
		t.Errorf("address longer than MaxSpan reported: %v", got)
	}
	checkHits(t, d, long+" "+tooLong)
}

// checkHits asserts the invariants every hit must meet.
func checkHits(t testing.TB, d *Detector, text string) {
	t.Helper()
	prev := 0
	for _, h := range d.Detect(text) {
		if h.Start < prev || h.Start >= h.End || h.End > len(text) {
			t.Fatalf("hit %+v out of order or range (prev end %d, len %d)", h, prev, len(text))
		}
		if h.End-h.Start > d.MaxSpan() {
			t.Fatalf("hit %+v longer than MaxSpan %d", h, d.MaxSpan())
		}
		if utf8.ValidString(text) && (!utf8.RuneStart(text[h.Start]) || (h.End < len(text) && !utf8.RuneStart(text[h.End]))) {
			t.Fatalf("hit %+v splits a character", h)
		}
		prev = h.End
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{
		"13812345678", "+86 138 1234 5678", "a@b.cn", "fe80::1", "1.2.3.4", "（010）62345678",
		"91350100M000100Y43", "E12345678", "::", "1:2:3:4:5:6:7:8:9", "0086-", "@@..@", "（0",
	} {
		f.Add(s)
	}
	d := newDetector(f, Options{LegacyID15: true})
	f.Fuzz(func(t *testing.T, text string) {
		checkHits(t, d, text)
	})
}

// benchText is about 4 KB of mixed Chinese and English with some personal
// information and many near misses.
func benchText(b *testing.B) string {
	b.Helper()
	id := withIDCheck(b, "11010519491231002")
	para := "用户张三（手机13812345678）于2024-03-15 10:30:45下单，订单号202403151234567890，金额¥1,299.00。" +
		"Contact john.doe@example.com or call 010-62345678; server 192.168.1.10 (fe80::1) logged " +
		"request 123e4567-e89b-12d3-a456-426614174000 at ts=1710000000000. 身份证" + id + "。" +
		"The quick brown fox jumps over the lazy dog, 敏捷的棕色狐狸跳过了懒狗。\n"
	var sb strings.Builder
	for sb.Len() < 4096 {
		sb.WriteString(para)
	}
	return sb.String()[:4096]
}

func BenchmarkDetect(b *testing.B) {
	d := newDetector(b, Options{})
	text := benchText(b)
	if len(d.Detect(text)) == 0 {
		b.Fatal("benchmark text has no hits")
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		d.Detect(text)
	}
}

// BenchmarkDetectProse measures the common case: 4 KB of mixed prose with
// numbers but no personal information.
func BenchmarkDetectProse(b *testing.B) {
	d := newDetector(b, Options{})
	para := "2024年第3季度，公司营收同比增长12.5%，达到1,380亿元。The model scored 87.3 on the benchmark, " +
		"up from 79 in version 2.1; 详见第4章第12节。Order #20240315 shipped on 2024-03-15 at 10:30. "
	var sb strings.Builder
	for sb.Len() < 4096 {
		sb.WriteString(para)
	}
	text := sb.String()[:4096]
	if hits := d.Detect(text); len(hits) != 0 {
		b.Fatalf("prose has hits: %q", found(text, hits))
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		d.Detect(text)
	}
}
