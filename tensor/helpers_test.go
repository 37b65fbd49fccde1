package tensor

import "math/rand/v2"

// randF32 returns n standard-normal float32 values (shared by the kernel
// tests and benchmarks on every architecture).
func randF32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}
