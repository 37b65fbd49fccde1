package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// withKernels runs f with the AVX2 kernels on (avx2) or off, restoring
// the choice made at init. It skips the AVX2 run on a CPU without them.
func withKernels(t testing.TB, avx2 bool, f func()) {
	t.Helper()
	if avx2 && !avx2Available() {
		t.Skip("no AVX2 kernels on this CPU")
	}
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	useAVX2 = avx2
	f()
}

// sameBits reports whether two summaries are identical bit for bit (NaN
// fields included).
func sameBits(a, b Summary) bool {
	fa := []float64{a.Min, a.Max, a.Mean, a.Std, a.L2, a.AbsMax}
	fb := []float64{b.Min, b.Max, b.Mean, b.Std, b.L2, b.AbsMax}
	for i := range fa {
		if math.Float64bits(fa[i]) != math.Float64bits(fb[i]) {
			return false
		}
	}
	return a.N == b.N && a.NaN == b.NaN && a.Inf == b.Inf && a.Zero == b.Zero && a.Hist == b.Hist
}

// special are the values that take the kernels' edge paths: both zeros
// (a zero minimum or maximum keeps the sign of the first zero), NaN and
// the infinities (the general path), subnormals and the float32 extremes.
var special = []float32{0, float32(math.Copysign(0, -1)), nan32, inf32, -inf32, math.SmallestNonzeroFloat32,
	-math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32, 1, -1}

// randomTensor draws n values: mostly normal ones at one scale, some
// special, some repeated (runs in one bin).
func randomTensor(r *rand.Rand, n int) []float32 {
	xs := make([]float32, n)
	scale := math.Pow(10, float64(r.IntN(12)-6))
	offset := float32(0)
	if r.IntN(3) == 0 {
		offset = float32(r.NormFloat64() * scale * 100)
	}
	pSpecial := []float64{0, 0.001, 0.05, 0.5}[r.IntN(4)]
	for i := range xs {
		switch {
		case r.Float64() < pSpecial:
			xs[i] = special[r.IntN(len(special))]
		case i > 0 && r.IntN(4) == 0:
			xs[i] = xs[i-1]
		default:
			xs[i] = offset + float32(r.NormFloat64()*scale)
		}
	}
	return xs
}

// TestKernelsAgree: Compute gives the same bits with the AVX2 kernels as
// with the Go loops, on random tensors of every length up to 70 and the
// model's sizes, with and without zeros, NaN, Inf, subnormals and the
// float32 extremes.
func TestKernelsAgree(t *testing.T) {
	if !avx2Available() {
		t.Skip("no AVX2 kernels on this CPU")
	}
	r := rand.New(rand.NewPCG(7, 11))
	lengths := []int{768, 769, 2048, 2051, 32000}
	for n := range 71 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for rep := range 40 {
			xs := randomTensor(r, n)
			var goSum, asmSum Summary
			withKernels(t, false, func() { goSum = Compute(xs) })
			withKernels(t, true, func() { asmSum = Compute(xs) })
			if !sameBits(goSum, asmSum) {
				t.Fatalf("n=%d rep %d: AVX2 %+v, Go %+v (values %v)", n, rep, asmSum, goSum, xs[:min(n, 16)])
			}
		}
	}
}

// TestKernelsAgreeProperty is TestKernelsAgree over rapid's inputs
// (shrunk to a small failing tensor on a mismatch).
func TestKernelsAgreeProperty(t *testing.T) {
	if !avx2Available() {
		t.Skip("no AVX2 kernels on this CPU")
	}
	gen := rapid.OneOf(genValue(), rapid.SampledFrom(special))
	rapid.Check(t, func(rt *rapid.T) {
		xs := rapid.SliceOfN(gen, 0, 100).Draw(rt, "xs")
		var goSum, asmSum Summary
		withKernels(t, false, func() { goSum = Compute(xs) })
		withKernels(t, true, func() { asmSum = Compute(xs) })
		if !sameBits(goSum, asmSum) {
			rt.Fatalf("AVX2 %+v, Go %+v", asmSum, goSum)
		}
	})
}

// TestZeroExtremeSign: a minimum or maximum of zero is the first zero of
// the tensor, sign included (as the in-order comparisons find it), with
// either kernel, wherever the zeros fall among the lanes.
func TestZeroExtremeSign(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	tests := []struct {
		xs       []float32
		min, max float64 // want; the sign of a zero counts
	}{
		{[]float32{1, 2, 3, 4, 5, 6, 7, 0, 9, negZero}, 0, 9},
		{[]float32{1, 2, 3, 4, 5, 6, 7, negZero, 9, 0}, math.Copysign(0, -1), 9},
		{[]float32{negZero, 0, 0, 0, 0, 0, 0, 0, 0}, math.Copysign(0, -1), math.Copysign(0, -1)},
		{[]float32{0, negZero, negZero, negZero, negZero, negZero, negZero, negZero}, 0, 0},
		{[]float32{-1, -2, -3, -4, -5, -6, -7, -8, negZero, 0, 0}, -8, math.Copysign(0, -1)},
		{[]float32{-1, -2, -3, -4, -5, -6, -7, -8, -9, -1, -2, 0}, -9, 0},
	}
	for _, tc := range tests {
		for _, avx2 := range []bool{false, true} {
			if avx2 && !avx2Available() {
				continue
			}
			var s Summary
			withKernels(t, avx2, func() { s = Compute(tc.xs) })
			if math.Float64bits(s.Min) != math.Float64bits(tc.min) || math.Float64bits(s.Max) != math.Float64bits(tc.max) {
				t.Errorf("avx2=%v %v: min %v max %v (signbits %v %v), want %v %v", avx2, tc.xs, s.Min, s.Max,
					math.Signbit(s.Min), math.Signbit(s.Max), tc.min, tc.max)
			}
		}
	}
}

// BenchmarkComputeKernels: Compute's cost per value for the tensor sizes
// of a traced 110m decode step (768: the hidden state, 2048: the FFN,
// 32000: the logits), with each kind of kernel.
func BenchmarkComputeKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{768, 2048, 32000} {
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(r.NormFloat64())
		}
		for _, k := range []struct {
			name string
			avx2 bool
		}{{"go", false}, {"avx2", true}} {
			b.Run(k.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				withKernels(b, k.avx2, func() {
					b.SetBytes(int64(4 * n))
					for range b.N {
						Compute(xs)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
				})
			})
		}
	}
}

// TestHistBoundaries: values on and a few float32 steps around every bin
// edge (where a vector conversion could round or truncate differently
// from the Go formula), over ranges of every kind: around zero, all negative,
// subnormal, the float32 extremes, a few steps wide. Both kernels must bin
// them alike.
func TestHistBoundaries(t *testing.T) {
	if !avx2Available() {
		t.Skip("no AVX2 kernels on this CPU")
	}
	sub := float32(math.SmallestNonzeroFloat32)
	ranges := [][2]float32{{-1, 1}, {0, 1}, {-3.5, -0.25}, {1e-3, 1e-3 + 1e-9}, {-sub * 40, sub * 7}, {0, sub * 3},
		{-math.MaxFloat32, math.MaxFloat32}, {-1e30, 3}, {100, 100.00002}, {-7, float32(math.Copysign(0, -1))}, {1, 1 + 1<<4*1.1920929e-07}}
	for _, r := range ranges {
		lo, hi := r[0], r[1]
		xs := []float32{lo, hi}
		for b := 0; b <= HistBins; b++ {
			edge := float32(float64(lo) + float64(b)*(float64(hi)-float64(lo))/HistBins)
			v := edge
			for range 4 {
				v = math.Nextafter32(v, float32(math.Inf(-1)))
			}
			for range 9 {
				if v >= lo && v <= hi {
					xs = append(xs, v)
				}
				v = math.Nextafter32(v, float32(math.Inf(1)))
			}
		}
		for len(xs) < 1000 {
			xs = append(xs, xs...)
		}
		var goSum, asmSum Summary
		withKernels(t, false, func() { goSum = Compute(xs) })
		withKernels(t, true, func() { asmSum = Compute(xs) })
		if goSum.Hist != asmSum.Hist || !sameBits(goSum, asmSum) {
			t.Errorf("[%g, %g]: AVX2 hist %v, Go %v", lo, hi, asmSum.Hist, goSum.Hist)
		}
		if goSum.Hist.Total() != len(xs) {
			t.Errorf("[%g, %g]: %d values binned of %d", lo, hi, goSum.Hist.Total(), len(xs))
		}
	}
}

// TestFirstGreaterKernels: the AVX2 scan finds the same first value above
// the threshold as the Go loop (NaN never above, equal values not above),
// and TopK ranks the same with either, on random tensors with specials.
func TestFirstGreaterKernels(t *testing.T) {
	if !avx2Available() {
		t.Skip("no AVX2 kernels on this CPU")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 80 {
		for rep := range 30 {
			xs := randomTensor(r, n)
			th := []float32{0, 1, -1, inf32, -inf32, float32(r.NormFloat64())}[rep%6]
			if n > 0 && rep%5 == 0 {
				th = xs[r.IntN(n)]
				if th != th {
					th = 0
				}
			}
			var got, want int
			withKernels(t, true, func() { got = firstGreater(xs, th) })
			withKernels(t, false, func() { want = firstGreater(xs, th) })
			if got != want {
				t.Fatalf("n=%d t=%v: AVX2 %d, Go %d (%v)", n, th, got, want, xs)
			}
		}
	}
	for _, n := range []int{10, 100, 32000} {
		xs := randomTensor(r, n)
		var a, b []int
		withKernels(t, true, func() { a = TopK(xs, 10, nil) })
		withKernels(t, false, func() { b = TopK(xs, 10, nil) })
		if !slices.Equal(a, b) {
			t.Errorf("n=%d: TopK AVX2 %v, Go %v", n, a, b)
		}
	}
}
