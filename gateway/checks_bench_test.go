package gateway_test

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/sanction"
)

// BenchmarkUserChecks is the per-request cost of knowing who the end user
// is and whether they may be served, on cache hits: the end user, the
// blacklist (10k entries and 1k prefixes loaded), the sanction standing,
// the real-name requirement and minors' mode.
func BenchmarkUserChecks(b *testing.B) {
	h := newHarness(b, harnessOptions{sanctions: true, identity: config.Identity{Require: map[string]string{"*": "unverified"}}})
	ctx := b.Context()
	for i := range 10_000 {
		if _, err := h.sanction.AddEntry(ctx, sanction.Entry{Kind: sanction.KindUser, Value: "blocked-" + strconv.Itoa(i), Reason: "bench", CreatedBy: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1_000 {
		prefix := "10." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ".0/24"
		if _, err := h.sanction.AddEntry(ctx, sanction.Entry{Kind: sanction.KindIP, Value: prefix, Reason: "bench", CreatedBy: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	ip := netip.MustParseAddr("192.0.2.7")
	check := func() {
		u, err := h.accounts.Users.Resolve(ctx, h.tenant.ID, "bench-user")
		if err != nil {
			b.Fatal(err)
		}
		if _, blocked := h.sanction.Blocked(ctx, sanction.Subject{TenantID: h.tenant.ID, EndUserID: u.ID, IP: ip, DeviceID: "dev-1"}); blocked {
			b.Fatal("blocked")
		}
		if st, err := h.sanction.Standing(ctx, h.tenant.ID, u.ID); err != nil || !st.Allowed() {
			b.Fatal(st, err)
		}
		if err := h.identity.Check(ctx, u, "general"); err != nil {
			b.Fatal(err)
		}
		if err := h.identity.MinorGate(ctx, u, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	check() // warm the caches
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		check()
	}
}
