package sanction

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestTrieMatchesBruteForce inserts and removes random nested and
// overlapping prefixes and checks every lookup against a scan of all
// prefixes.
func TestTrieMatchesBruteForce(t *testing.T) {
	for _, fam := range []struct {
		name string
		bits int
	}{{"ipv4", 32}, {"ipv6", 128}} {
		t.Run(fam.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(fam.bits)))
			// A few base addresses make prefixes nest and share paths.
			bases := make([]netip.Addr, 4)
			for i := range bases {
				bases[i] = randomAddr(r, fam.bits)
			}
			now := time.Unix(1000, 0)
			var root *node
			live := map[netip.Prefix]*Entry{}
			for round := range 2000 {
				p, _ := bases[r.IntN(len(bases))].Prefix(r.IntN(fam.bits))
				if _, ok := live[p]; ok && r.IntN(2) == 0 {
					root = removeNode(root, p)
					delete(live, p)
				} else {
					e := &Entry{ID: fmt.Sprint(round), prefix: p}
					if r.IntN(8) == 0 {
						e.ExpiresAt = now // expired at now
					}
					insert(&root, e)
					live[p] = e
				}
				a := bases[r.IntN(len(bases))]
				if r.IntN(3) == 0 {
					a = randomAddr(r, fam.bits)
				}
				got, want := match(root, a, now), bruteForce(live, a, now)
				if got != want {
					t.Fatalf("round %d: match(%v) = %v, want %v", round, a, got, want)
				}
			}
		})
	}
}

func randomAddr(r *rand.Rand, bits int) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	if bits == 32 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

func bruteForce(live map[netip.Prefix]*Entry, a netip.Addr, now time.Time) *Entry {
	var best *Entry
	for p, e := range live {
		if p.Contains(a) && e.liveAt(now) && (best == nil || p.Bits() > best.prefix.Bits()) {
			best = e
		}
	}
	return best
}
