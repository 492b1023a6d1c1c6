// Package bench measures what the gateway costs: the latency it adds to a
// chat completion over calling the model server directly, side by side in
// one run, on the whole pipeline `firebreak serve` builds (test/stack) in
// front of the scripted fake upstream on loopback. Three sides are
// measured: direct (the fake upstream), gateway (as served, audit trail
// included) and gateway-noaudit (the same without the audit trail).
//
// The normal test run only checks that the load generator and every side
// work. The measurements are opt-in:
//
//	FIREBREAK_BENCH=1 go test ./test/bench -run TestLatencyReport -count=1 -v
//	go test ./test/bench -run '^$' -bench . -benchtime=2000x
//
// The first is an open-loop, fixed-rate load (default 1,000 requests/s,
// 10,000 requests per side, 32 workers), then time to first byte, first
// text and total of 50-delta streams sent at once (500 per side) and paced
// at one delta per millisecond (100 per side); FIREBREAK_BENCH_POSTGRES=1
// puts the store on the PostgreSQL test server; FIREBREAK_BENCH_RATE,
// _REQUESTS, _WORKERS, _STREAMS and _PACED change the counts. The second is
// one request at a time. docs/benchmarks.md has the figures and how to
// profile each side.
package bench
