package pii

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The helpers below compute check characters from the published
// definitions (not from the package's tables), so the test numbers are
// real valid numbers rather than invented ones.

// withIDCheck appends the GB 11643 check character: weights 2^(17-i) mod 11,
// check = (12 - sum mod 11) mod 11, 10 written as X.
func withIDCheck(t testing.TB, first17 string) string {
	t.Helper()
	if len(first17) != 17 {
		t.Fatalf("withIDCheck: %q is not 17 digits", first17)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		w := 1
		for j := 0; j < 17-i; j++ {
			w = w * 2 % 11
		}
		sum += int(first17[i]-'0') * w
	}
	c := (12 - sum%11) % 11
	if c == 10 {
		return first17 + "X"
	}
	return first17 + string(rune('0'+c))
}

// idEndingInX finds a valid ID number whose check character is X.
func idEndingInX(t testing.TB) string {
	t.Helper()
	for seq := 100; seq < 1000; seq++ {
		id := withIDCheck(t, "44030619850614"+itoa3(seq))
		if strings.HasSuffix(id, "X") {
			return id
		}
	}
	t.Fatal("no ID number with check X found")
	return ""
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// withLuhn appends the Luhn check digit to a prefix.
func withLuhn(t testing.TB, prefix string) string {
	t.Helper()
	for d := byte('0'); d <= '9'; d++ {
		s := prefix + string(d)
		sum := 0
		for i := 0; i < len(s); i++ {
			v := int(s[len(s)-1-i] - '0')
			if i%2 == 1 {
				v *= 2
				if v > 9 {
					v -= 9
				}
			}
			sum += v
		}
		if sum%10 == 0 {
			return s
		}
	}
	t.Fatalf("withLuhn(%q): no digit works", prefix)
	return ""
}

// withUSCCCheck appends the GB 32100 check character: weights 3^i mod 31,
// check = 31 - sum mod 31 (31 written as 0).
func withUSCCCheck(t testing.TB, first17 string) string {
	t.Helper()
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(alphabet, first17[i])
		if v < 0 {
			t.Fatalf("withUSCCCheck: bad character %q", first17[i])
		}
		sum += v * w
		w = w * 3 % 31
	}
	return first17 + string(alphabet[(31-sum%31)%31])
}

func TestValidateChineseID(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	valid := withIDCheck(t, "11010519491231002")
	x := idEndingInX(t)
	wrong := valid[:17] + string("0123456789"[(int(valid[17]-'0')+1)%10])
	if valid[17] == 'X' {
		wrong = valid[:17] + "0"
	}
	tests := []struct {
		name    string
		id      string
		wantErr error
		birth   string
	}{
		{"valid", valid, nil, "1949-12-31"},
		{"check X", x, nil, "1985-06-14"},
		{"check lower-case x", strings.ToLower(x), nil, "1985-06-14"},
		{"permanent residence card", withIDCheck(t, "93124019900101001"), nil, "1990-01-01"},
		{"wrong check digit", wrong, ErrChecksum, ""},
		{"30 February", withIDCheck(t, "11010519900230002"), ErrDate, ""},
		{"month 13", withIDCheck(t, "11010519901301002"), ErrDate, ""},
		{"born tomorrow", withIDCheck(t, "11010520250602002"), ErrDate, ""},
		{"born 1899", withIDCheck(t, "11010518991231002"), ErrDate, ""},
		{"province 00", withIDCheck(t, "00010519491231002"), ErrFormat, ""},
		{"province 16 unused", withIDCheck(t, "16010519491231002"), ErrFormat, ""},
		{"17 digits", valid[:17], ErrFormat, ""},
		{"letter inside", "1101051949123100A" + "1", ErrFormat, ""},
		{"X in the middle", "11010519491X310021", ErrFormat, ""},
		{"empty", "", ErrFormat, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			birth, err := validateID18(tc.id, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("validateID18(%q) error = %v, want %v", tc.id, err, tc.wantErr)
			}
			if tc.wantErr == nil && birth.Format(time.DateOnly) != tc.birth {
				t.Errorf("birth = %s, want %s", birth.Format(time.DateOnly), tc.birth)
			}
		})
	}
	t.Run("exported uses the clock", func(t *testing.T) {
		if _, err := ValidateChineseID(valid); err != nil {
			t.Errorf("ValidateChineseID(%q) = %v", valid, err)
		}
		future := withIDCheck(t, "110105"+time.Now().AddDate(1, 0, 0).Format("20060102")+"002")
		if _, err := ValidateChineseID(future); !errors.Is(err, ErrDate) {
			t.Errorf("ValidateChineseID(future) = %v, want ErrDate", err)
		}
	})
}

func TestValidateID15(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"valid", "110105491231002", true},
		{"bad date", "110105490231002", false},
		{"bad province", "990105491231002", true}, // 9x: permanent residence prefix
		{"province 00", "000105491231002", false},
		{"14 digits", "11010549123100", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validateID15(tc.id, now); got != tc.want {
				t.Errorf("validateID15(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

func TestValidateUSCC(t *testing.T) {
	computed := withUSCCCheck(t, "91110108MA01ABCD1")
	tests := []struct {
		name    string
		code    string
		wantErr error
	}{
		{"published example", "91350100M000100Y43", nil},
		{"computed", computed, nil},
		{"all digits", withUSCCCheck(t, "12100000400000624"), nil},
		{"wrong check", "91350100M000100Y44", ErrChecksum},
		{"lower case", strings.ToLower("91350100M000100Y43"), ErrFormat},
		{"letter I not in alphabet", withUSCCCheck(t, "91350100M000100Y4")[:9] + "I" + "00100Y43", ErrFormat},
		{"letter in region", "9135A100M000100Y43", ErrFormat},
		{"authority 0", withUSCCCheck(t, "01350100M000100Y4"), ErrFormat},
		{"17 characters", "91350100M000100Y4", ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateUSCC(tc.code); !errors.Is(err, tc.wantErr) {
				t.Errorf("ValidateUSCC(%q) = %v, want %v", tc.code, err, tc.wantErr)
			}
		})
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{"79927398713", true}, // the textbook example
		{"79927398710", false},
		{"4111111111111111", true},
		{"4111111111111112", false},
		{withLuhn(t, "622202100001234567"), true},
		{"00", true},
		{"0", false},
		{"", false},
		{"4111-1111-1111-1111", false},
	}
	for _, tc := range tests {
		t.Run(tc.digits, func(t *testing.T) {
			if got := Luhn(tc.digits); got != tc.want {
				t.Errorf("Luhn(%q) = %v, want %v", tc.digits, got, tc.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"id", MaskID("110101199003077777"), "1101**********7777"},
		{"id with X", MaskID("11010119900307777X"), "1101**********777X"},
		{"passport", MaskID("E12345678"), "E123*5678"},
		{"short id", MaskID("12345678"), "********"},
		{"mobile", MaskMobile("13812345678"), "138****5678"},
		{"short mobile", MaskMobile("1381234"), "*******"},
		{"runes", MaskID("一二三四五六七八九"), "一二三四*六七八九"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
