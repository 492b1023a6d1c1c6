// Package bench measures what the gateway costs: the latency it adds to a
// chat completion over calling the model server directly, side by side in
// one run, on the whole pipeline `firebreak serve` builds (test/stack) in
// front of the scripted fake upstream on loopback.
//
// The normal test run only checks that the load generator and both sides
// work. The measurements are opt-in:
//
//	FIREBREAK_BENCH=1 go test ./test/bench -run TestLatencyReport -count=1 -v
//	go test ./test/bench -run '^$' -bench . -benchtime=2000x
//
// The first is an open-loop, fixed-rate load (default 1,000 requests/s,
// 10,000 requests per side, 32 workers; FIREBREAK_BENCH_RATE, _REQUESTS,
// _WORKERS and _STREAMS change it) plus time to first byte and total of
// 50-delta streams. The second is one request at a time. docs/benchmarks.md
// has the figures and how to profile the gateway's side.
package bench
