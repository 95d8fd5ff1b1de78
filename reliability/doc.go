// Package reliability holds the fault-injection, kill-and-rerun and
// concurrency suites: they run the real iambind binary against moto.
package reliability
