package awsapi

import (
	"context"
	"errors"
	"sync"
)

// ForEach runs fn(ctx, i) for i in [0,n) with at most limit at a time (at
// least one) and returns every error, joined. Every i runs: a caller that
// must stop early makes fn return at once (its AWS calls are refused once
// the run is stopping), so each item still reports what became of it.
func ForEach(ctx context.Context, limit, n int, fn func(context.Context, int) error) error {
	limit = max(limit, 1)
	sem := make(chan struct{}, limit)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
