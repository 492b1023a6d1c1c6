package sanction_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/firebreak/firebreak/sanction"
	"github.com/firebreak/firebreak/store"
	"github.com/firebreak/firebreak/store/storetest"
)

// fillBlacklist writes exact entries of every kind, then CIDR prefixes
// of random lengths (half IPv4 /8–/31, half IPv6 /16–/127), straight to
// the table.
func fillBlacklist(b *testing.B, db *store.DB, exact, cidrs int) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []sanction.Kind{sanction.KindUser, sanction.KindDevice, sanction.KindPhone, sanction.KindIDNumber, sanction.KindIP}
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		ins, err := tx.Prepare(`INSERT INTO blacklist (id, tenant_id, kind, value, reason, created_by, created_at)
			VALUES ($1, $2, $3, $4, 'bench', 'adm_1', 0)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range exact {
			k := kinds[i%len(kinds)]
			if _, err := ins.Exec(fmt.Sprint("blk_", i), "", string(k), benchValue(k, i)); err != nil {
				return err
			}
		}
		seen := map[netip.Prefix]bool{}
		for i := 0; len(seen) < cidrs; i++ {
			p := randomPrefix(r, i%2 == 0)
			if seen[p] {
				continue
			}
			seen[p] = true
			if _, err := ins.Exec(fmt.Sprint("net_", i), "", "ip", p.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchValue(k sanction.Kind, i int) string {
	switch k {
	case sanction.KindPhone, sanction.KindIDNumber:
		sum := sha256.Sum256([]byte(fmt.Sprint(k, i)))
		return hex.EncodeToString(sum[:])
	case sanction.KindIP:
		return netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}).String() + "/32"
	}
	return fmt.Sprint(k, "_", i)
}

func randomPrefix(r *rand.Rand, v4 bool) netip.Prefix {
	var a netip.Addr
	var bits int
	if v4 {
		a, bits = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}), 8+r.IntN(24)
	} else {
		var b16 [16]byte
		for i := range b16 {
			b16[i] = byte(r.IntN(256))
		}
		a, bits = netip.AddrFrom16(b16), 16+r.IntN(112)
	}
	return netip.PrefixFrom(a, bits).Masked()
}

// BenchmarkRequestCheck measures what the gateway asks on every request:
// Standing and Blocked for one user, both answered from memory, with
// 100,000 exact blacklist entries and 1,000 prefixes of random lengths.
// Subjects are not blacklisted, so every probe runs.
func BenchmarkRequestCheck(b *testing.B) {
	db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
	fillBlacklist(b, db, 100_000, 1_000)
	s := newService(b, db, sanction.Options{})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	subs := make([]sanction.Subject, 1024)
	for i := range subs {
		v4 := i%4 != 0
		subs[i] = sanction.Subject{
			TenantID: "ten_1", EndUserID: fmt.Sprint("usr_", i), DeviceID: fmt.Sprint("dev_", i),
			PhoneHash: benchValue(sanction.KindPhone, -i-1), IP: randomPrefix(r, v4).Addr().Next(),
		}
		if _, err := s.Standing(ctx, "ten_1", subs[i].EndUserID); err != nil {
			b.Fatal(err)
		}
	}
	blocked := 0
	for _, sub := range subs {
		if _, ok := s.Blocked(ctx, sub); ok {
			blocked++
		}
	}
	b.Logf("%d of %d subjects fall in a blacklisted prefix", blocked, len(subs))
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			sub := &subs[i&1023]
			i++
			if st, err := s.Standing(ctx, sub.TenantID, sub.EndUserID); err != nil || st.Action != sanction.None {
				b.Fatal(st, err)
			}
			s.Blocked(ctx, *sub)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(1024)
			for pb.Next() {
				sub := &subs[i&1023]
				i++
				if _, err := s.Standing(ctx, sub.TenantID, sub.EndUserID); err != nil {
					b.Error(err)
					return
				}
				s.Blocked(ctx, *sub)
			}
		})
	})
}

// BenchmarkRecordViolation measures the database path of a strike on the
// embedded SQLite store: one transaction with the ladder's counting
// queries, then a fresh standing. Users are spread so that most
// violations only warn.
func BenchmarkRecordViolation(b *testing.B) {
	db := storetest.Open(b, store.Options{DataDir: b.TempDir()})
	s := newService(b, db, sanction.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, err := s.RecordViolation(ctx, sanction.Violation{TenantID: "ten_1", EndUserID: fmt.Sprint("usr_", i%4096), Code: "A1a"})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
