// Package hyperscan counts literal matches with Intel's Hyperscan through
// cgo, as a comparator for the lexicon's benchmarks. Its code is built only
// with the build tag "hyperscan" (and cgo, and Debian's libhyperscan-dev),
// so the product and the normal test run stay pure Go:
//
//	go test -tags hyperscan -run '^$' -bench Match ./safety/lexicon
package hyperscan
