// Package packaging holds what an operator installs Firebreak with — the
// systemd unit, the container build file, example configurations for one
// node and for a cluster behind nginx, and Prometheus alerting rules — and
// the tests that keep them true: the examples load with the real config
// loader and build a replica, and every series the alerting rules name is
// one a running replica exports.
package packaging
