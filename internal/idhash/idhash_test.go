package idhash

import (
	"errors"
	"testing"
)

func TestOneHashPerNumber(t *testing.T) {
	h := New([]byte("a server secret of enough length"))
	same := func(kind string, hash func(string) (string, error), forms ...string) {
		t.Helper()
		want, err := hash(forms[0])
		if err != nil {
			t.Fatalf("%s %q: %v", kind, forms[0], err)
		}
		for _, f := range forms[1:] {
			if got, err := hash(f); err != nil || got != want {
				t.Errorf("%s %q hashes otherwise than %q (%v)", kind, f, forms[0], err)
			}
		}
	}
	same("phone", h.Phone, "13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000", " 138-0013-8000 ",
		"(+86) 138 0013 8000", "(0086)138-0013-8000", "+86.138.0013.8000", "138.0013.8000")
	same("phone", h.Phone, "+44 20 7946 0958", "442079460958", "(44) 2079460958")
	same("id", h.IDNumber, "11010519491231002X", "11010519491231002x", "110105 19491231 002X")
	p, _ := h.Phone("13800138000")
	i, _ := h.IDNumber("13800138000")
	if p == i {
		t.Error("a phone number and an ID number with the same digits hash alike")
	}
	if other, _ := New([]byte("another secret of enough length!")).Phone("13800138000"); other == p {
		t.Error("the hash does not depend on the secret")
	}
	if p != h.Mac(DomainPhone, "13800138000") {
		t.Error("Phone is not Mac over the 11 digits")
	}
	for _, bad := range []string{"", "12", "abc", "1380013800a"} {
		if _, err := h.Phone(bad); !errors.Is(err, ErrBadPhone) {
			t.Errorf("phone %q: %v", bad, err)
		}
	}
	if _, err := h.IDNumber("12-34"); !errors.Is(err, ErrBadIDNumber) {
		t.Errorf("id 12-34: %v", err)
	}
}
