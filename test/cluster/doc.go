// Package cluster is the multi-node test: three replicas of the firebreak
// binary on one PostgreSQL and one Redis behind nginx, on loopback. See
// cluster_test.go; its figures are in docs/benchmarks.md ("Cluster").
package cluster
