package stats

import "testing"

// BenchmarkCompute summarises a 32000-value tensor (the 110m fixture's
// logits; a traced decode step summarises about 5x that in all): the
// all-finite fast path that Compute takes, and the general path.
func BenchmarkCompute(b *testing.B) {
	xs := make([]float32, 32000)
	for i := range xs {
		xs[i] = float32(i%251)*0.37 - 40
	}
	for _, bc := range []struct {
		name string
		f    func([]float32) Summary
	}{{"Compute", Compute}, {"any", computeAny}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(xs)))
			for range b.N {
				bc.f(xs)
			}
		})
	}
}

// BenchmarkTopK ranks the top 10 of a 32000-value vocabulary (LM_HEAD's
// top_k_logits, once per traced token).
func BenchmarkTopK(b *testing.B) {
	xs := make([]float32, 32000)
	for i := range xs {
		xs[i] = float32((i*7919)%32000)*0.001 - 16
	}
	dst := make([]int, 0, 10)
	for range b.N {
		dst = TopK(xs, 10, dst)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/value")
}
