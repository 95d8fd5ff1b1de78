// Package parallel runs independent pieces of one job on every core. The
// function and the stream mode are short processes over many objects; the
// pieces (documents to parse, bindings to plan) share nothing, and the
// caller puts their results together in input order, so the output does not
// depend on which core ran what.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each runs f(0) … f(n-1) on up to GOMAXPROCS goroutines and returns when
// all have returned. f must be safe to call concurrently for different i.
func Each(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}
