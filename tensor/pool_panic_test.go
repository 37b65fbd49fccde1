package tensor

import (
	"sync/atomic"
	"testing"
)

// TestPoolPanicReachesCaller: a panic in any chunk, on a worker goroutine
// or on the caller's, is re-raised on the calling goroutine after every
// chunk finished (so the engine's recover can report it and close the
// trace instead of the process dying), and the pool keeps working.
func TestPoolPanicReachesCaller(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	for _, bad := range []int{0, 99} { // chunk 0 runs on the caller, the last on a worker
		var done atomic.Int64
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("chunk with %d: recovered %v, want boom", bad, r)
				}
			}()
			p.Parallel(100, func(start, end int) {
				if start <= bad && bad < end {
					panic("boom")
				}
				done.Add(int64(end - start))
			})
		}()
		if p.Threads() > 1 && done.Load() == 0 {
			t.Errorf("chunk with %d: no other chunk ran", bad)
		}
		var sum atomic.Int64
		p.Parallel(100, func(start, end int) {
			for i := start; i < end; i++ {
				sum.Add(int64(i))
			}
		})
		if sum.Load() != 4950 {
			t.Errorf("after the panic: sum %d, want 4950", sum.Load())
		}
	}
}
