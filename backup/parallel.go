package backup

import (
	"context"
	"sync"
)

// eachParallel runs fn for 0..n-1 on at most workers goroutines. After the
// first error it hands out no more work, and returns that error once the
// running calls end.
func eachParallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var first error
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(workers, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(inner, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-inner.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		return ctx.Err()
	}
	return first
}

// counter counts finished pieces for progress lines.
type counter struct {
	mu    sync.Mutex
	n     int
	bytes int64
}

func (c *counter) add(bytes int64) (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.bytes += bytes
	return c.n, c.bytes
}
