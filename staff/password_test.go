package staff

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	phc, err := DefaultArgon2.hashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=47104,t=1,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the default cost", phc)
	}
	if ok, err := verifyPassword(phc, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := verifyPassword(phc, "correct horse batterY"); ok {
		t.Fatal("wrong password accepted")
	}
	again, _ := DefaultArgon2.hashPassword("correct horse battery")
	if again == phc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=16$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		if _, err := verifyPassword(bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}
