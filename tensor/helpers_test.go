package tensor

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// randF32 returns n standard-normal float32 values (shared by the kernel
// tests and benchmarks on every architecture).
func randF32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// cpuMetric pins the benchmark to its OS thread and returns a func, to be
// deferred, that reports the thread's CPU time per op as "cpu-ns/op"
// (Linux): compare variants by it when the machine is shared.
func cpuMetric(b *testing.B) func() {
	runtime.LockOSThread()
	t0, ok := threadCPU()
	return func() {
		if t1, ok1 := threadCPU(); ok && ok1 && b.N > 0 {
			b.ReportMetric(float64(t1-t0)/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}
