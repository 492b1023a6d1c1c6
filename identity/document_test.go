package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

func TestVerifyIDDocument(t *testing.T) {
	valid := idFor("19900307")
	badCheck := valid[:17] + map[bool]string{true: "0", false: "X"}[valid[17] == 'X']
	tests := []struct {
		name, person, id string
		cause            error // nil = accepted
	}{
		{"valid", "张三", valid, nil},
		{"public example with X", "张三", "11010519491231002X", nil},
		{"lower-case x", "张三", "11010519491231002x", nil},
		{"wrong check character", "张三", badCheck, identity.ErrBadIDNumber},
		{"impossible date", "张三", withIDCheck("11010519900230123"), identity.ErrBadIDNumber},
		{"future birth", "张三", withIDCheck("11010521000101123"), identity.ErrBadIDNumber},
		{"unknown region", "张三", withIDCheck("00010519900307123"), identity.ErrBadIDNumber},
		{"15 digits", "张三", "110105900307123", identity.ErrBadIDNumber},
		{"empty name", " ", valid, identity.ErrBadName},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, identity.Options{})
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u := e.user(t, fmt.Sprintf("id%d", i))
				err := e.svc.VerifyIDDocument(context.Background(), u, tc.person, tc.id)
				st := e.state(t, u)
				if tc.cause != nil {
					refusal(t, err, clienterr.InvalidRequest, tc.cause)
					if st.Level != identity.LevelUnverified {
						t.Fatalf("refused number recorded level %s", st.Level)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if st.Level != identity.LevelIDDocument || st.IDNumber != "1101**********"+strings.ToUpper(tc.id[14:]) {
					t.Fatalf("state = %+v", st)
				}
			})
		}
	})
}

// checker is an IDChecker that answers with err.
type checker struct{ err error }

func (c checker) CheckID(context.Context, string, string) error { return c.err }

func TestIDChecker(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   clienterr.Code // "" = accepted
		method string
	}{
		{"match", nil, "", "id_checked"},
		{"mismatch", fmt.Errorf("provider: %w", identity.ErrIDMismatch), clienterr.Forbidden, ""},
		{"provider down", errors.New("connection refused"), clienterr.Unavailable, ""},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, db, identity.Options{IDChecker: checker{tc.err}})
				u := e.user(t, "checked")
				err := e.svc.VerifyIDDocument(context.Background(), u, "王五", idFor("19850614"))
				st := e.state(t, u)
				if tc.code != "" {
					refusal(t, err, tc.code, nil)
					if st.Level != identity.LevelUnverified {
						t.Fatalf("level %s after a failed check", st.Level)
					}
					return
				}
				if err != nil || st.Method != tc.method {
					t.Fatalf("err %v, method %q, want %q", err, st.Method, tc.method)
				}
			})
		}
	})
}

func TestVerifyOrganisation(t *testing.T) {
	valid := withUSCCCheck("91350100M00010012")
	wrong := valid[:17] + map[bool]string{true: "1", false: "0"}[valid[17] == '0']
	tests := []struct {
		name, code, org string
		cause           error
	}{
		{"valid", valid, "示例有限公司", nil},
		{"public example", "91350100M000100Y43", "示例有限公司", nil},
		{"lower case", strings.ToLower(valid), "示例有限公司", nil},
		{"wrong check character", wrong, "示例有限公司", identity.ErrBadCreditCode},
		{"forbidden letter", valid[:10] + "I" + valid[11:], "示例有限公司", identity.ErrBadCreditCode},
		{"too short", valid[:17], "示例有限公司", identity.ErrBadCreditCode},
		{"no name", valid, "", identity.ErrBadName},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, identity.Options{})
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u := e.user(t, fmt.Sprintf("org%d", i))
				err := e.svc.VerifyOrganisation(context.Background(), u, tc.code, tc.org)
				st := e.state(t, u)
				if tc.cause != nil {
					refusal(t, err, clienterr.InvalidRequest, tc.cause)
					if st.Level != identity.LevelUnverified {
						t.Fatalf("refused code recorded level %s", st.Level)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if st.Level != identity.LevelOrganisation || st.OrgName != tc.org || !strings.HasSuffix(st.CreditCode, strings.ToUpper(tc.code[14:])) {
					t.Fatalf("state = %+v", st)
				}
			})
		}
	})
}

// TestNoPlaintextStored verifies through every path that writes, then
// reads every column of every identity table and looks for any of the
// identifiers in any common spelling.
func TestNoPlaintextStored(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{})
		const phone, ip = "13812345678", "203.0.113.77"
		id, uscc, name := idFor("20100307"), withUSCCCheck("91110000MA0000001"), "赵六"
		u := e.user(t, "private")
		if err := e.svc.StartPhone(ctx, e.tenant.ID, u.ID, phone, ip); err != nil {
			t.Fatal(err)
		}
		code := e.sms.lastCode(t)
		if err := e.svc.ConfirmPhone(ctx, e.tenant.ID, u.ID, phone, code); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.VerifyIDDocument(ctx, u, name, id); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.VerifyOrganisation(ctx, u, uscc, "某公司"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.MinorGate(ctx, u, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		secrets := []string{phone, "8613812345678", "12345678", id, id[:17], "20100307", "2010-03-07", uscc, name, ip}
		cells := 0
		for _, table := range []string{"identity_states", "identity_codes", "identity_counters"} {
			for _, v := range dumpTable(t, db, table) {
				cells++
				cell := fmt.Sprint(v)
				check := secrets
				if _, isText := v.(string); isText {
					// Six digits turn up by chance in long numbers, so the
					// code is looked for in text cells only.
					check = append(check[:len(check):len(check)], code)
				}
				for _, s := range check {
					if strings.Contains(cell, s) {
						t.Errorf("%s holds %q in %q", table, s, cell)
					}
				}
			}
		}
		if cells < 20 {
			t.Fatalf("scanned only %d cells: the writes did not happen", cells)
		}
	})
}

// dumpTable returns every non-NULL cell of table.
func dumpTable(t *testing.T, db *store.DB, table string) []any {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if v != nil {
				out = append(out, v)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHashes(t *testing.T) {
	db := storetest.Open(t, store.Options{DataDir: t.TempDir()})
	e := newEnv(t, db, identity.Options{})
	other := newService(t, identity.Options{DB: db, Users: e.accounts.Users,
		Secret: []byte("another-secret-0123456789abcdef-xyz")})
	h1, err1 := e.svc.HashPhone("13812345678")
	h2, err2 := e.svc.HashPhone("+86 138 1234 5678")
	h3, err3 := other.HashPhone("13812345678")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if h1 != h2 || h1 == h3 || len(h1) != 64 {
		t.Fatalf("phone hashes %s %s %s: want equal spellings to match and secrets to differ", h1, h2, h3)
	}
	id := idFor("19900307")
	i1, err := e.svc.HashIDNumber(id)
	if err != nil || i1 == h1 || len(i1) != 64 {
		t.Fatalf("id hash %q, %v", i1, err)
	}
	if _, err := e.svc.HashIDNumber(id[:17] + "Y"); err == nil {
		t.Fatal("invalid ID number hashed")
	}
	if _, err := e.svc.HashPhone("12345"); !errors.Is(err, identity.ErrBadPhone) {
		t.Fatalf("bad phone: %v", err)
	}
}

// TestOtherIDNumberRefused verifies a minor's ID number and then an
// adult's for the same user, one after the other and at once: the second
// number is refused and the user stays a minor with the first.
func TestOtherIDNumberRefused(t *testing.T) {
	child, adult := idFor("20150307"), idFor("19800307")
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, identity.Options{})
		u := e.user(t, "kim")
		if err := e.svc.VerifyIDDocument(ctx, u, "金", child); err != nil {
			t.Fatal(err)
		}
		refusal(t, e.svc.VerifyIDDocument(ctx, u, "金", adult), clienterr.Conflict, identity.ErrOtherIDNumber)
		if err := e.svc.VerifyIDDocument(ctx, u, "金", strings.ToLower(child)); err != nil {
			t.Errorf("the same number again: %v", err)
		}
		if st := e.state(t, u); !st.Minor || !strings.HasSuffix(st.IDNumber, child[14:]) {
			t.Errorf("state after another number: %+v", st)
		}
		// At once: exactly one of two different numbers wins.
		v := e.user(t, "lee")
		errs := make(chan error, 2)
		for _, id := range []string{child, adult} {
			go func() { errs <- e.svc.VerifyIDDocument(ctx, v, "李", id) }()
		}
		var refused int
		for range 2 {
			if err := <-errs; errors.Is(err, identity.ErrOtherIDNumber) {
				refused++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if refused != 1 {
			t.Errorf("%d of two different numbers at once refused, want 1", refused)
		}
	})
}
