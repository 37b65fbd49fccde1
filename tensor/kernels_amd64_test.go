package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The avx2 kernels are checked against the pure-Go ones on random inputs:
// lengths that exercise every loop tail, n=0, and slices offset by 1..3
// elements or bytes so nothing relies on alignment.

func requireAVX2(t testing.TB) {
	t.Helper()
	if !hasAVX2 {
		t.Skip("CPU lacks AVX2/FMA: the avx2 kernels are not installed")
	}
}

// floatLens covers the 32- and 8-wide loops and every scalar tail length.
var floatLens = []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 31, 32, 33, 39, 40, 63, 64, 65, 100, 255, 256, 257, 768, 2053}

func randF32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// dotTol bounds |fast - reference| for two float32 dot products of n terms
// that differ only in summation order: each is within depth*u*sum|a_i b_i|
// of the exact value, where depth is its longest addition chain (n/4 + 1
// for the Go kernel's four accumulators; n/32 + 8 for the 32-lane
// assembly plus its reduction tree and scalar tail) and u = 2^-24.
func dotTol(n int, sumAbs float64) float64 {
	depth := float64(n/4+1) + float64(n/32+8+8)
	return depth * 0x1p-24 * sumAbs
}

func TestDotF32AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range floatLens {
		for off := 0; off < 4; off++ {
			t.Run(fmt.Sprintf("n=%d/off=%d", n, off), func(t *testing.T) {
				a := randF32(r, n+off)[off:]
				b := randF32(r, n+3)[3-off : 3-off+n]
				got := avx2Kernels.dotF32(a, b)
				want := goKernels.dotF32(a, b)
				var sumAbs float64
				for i := range a {
					sumAbs += math.Abs(float64(a[i]) * float64(b[i]))
				}
				if d := math.Abs(float64(got) - float64(want)); d > dotTol(n, sumAbs) {
					t.Fatalf("avx2 %v, go %v: |diff| %g > bound %g", got, want, d, dotTol(n, sumAbs))
				}
			})
		}
	}
}

// The half-float dots check the same bound, with the products formed from
// the decoded weights.
func TestDotF16BF16AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(3, 4))
	kinds := []struct {
		name      string
		put       func([]byte, float32)
		get       func([]byte) float32
		fast, ref func([]byte, []float32) float32
	}{
		{"F16", putFP16, fp16, avx2Kernels.dotF16, goKernels.dotF16},
		{"BF16", putBF16, bf16, avx2Kernels.dotBF16, goKernels.dotBF16},
	}
	for _, k := range kinds {
		if k.name == "F16" && avx2Kernels.dotF16 == nil {
			continue
		}
		for _, n := range floatLens {
			for off := 0; off < 4; off++ {
				t.Run(fmt.Sprintf("%s/n=%d/off=%d", k.name, n, off), func(t *testing.T) {
					wb := make([]byte, 2*n+off)[off:]
					for i := 0; i < n; i++ {
						k.put(wb[2*i:], float32(r.NormFloat64()))
					}
					x := randF32(r, n+off)[off:]
					got, want := k.fast(wb, x), k.ref(wb, x)
					var sumAbs float64
					for i := range x {
						sumAbs += math.Abs(float64(k.get(wb[2*i:])) * float64(x[i]))
					}
					if d := math.Abs(float64(got) - float64(want)); d > dotTol(n, sumAbs) {
						t.Fatalf("avx2 %v, go %v: |diff| %g > bound %g", got, want, d, dotTol(n, sumAbs))
					}
				})
			}
		}
	}
}

// axpy and scale multiply then add exactly as the Go loops do, so they are
// compared bit for bit.
func TestAxpyScaleF32AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range floatLens {
		for off := 0; off < 4; off++ {
			t.Run(fmt.Sprintf("n=%d/off=%d", n, off), func(t *testing.T) {
				alpha := float32(r.NormFloat64())
				x := randF32(r, n+off)[off:]
				y0 := randF32(r, n+4)[4-off : 4-off+n]
				guard := float32(r.NormFloat64())
				y0 = append(y0[:n:n], guard) // a sentinel after y must survive
				yg, ya := append([]float32(nil), y0...), append([]float32(nil), y0...)
				goKernels.axpyF32(alpha, x, yg[:n])
				avx2Kernels.axpyF32(alpha, x, ya[:n])
				for i := range yg {
					if math.Float32bits(yg[i]) != math.Float32bits(ya[i]) {
						t.Fatalf("axpy y[%d]: avx2 %v, go %v", i, ya[i], yg[i])
					}
				}
				goKernels.scaleF32(alpha, yg[:n])
				avx2Kernels.scaleF32(alpha, ya[:n])
				for i := range yg {
					if math.Float32bits(yg[i]) != math.Float32bits(ya[i]) {
						t.Fatalf("scale x[%d]: avx2 %v, go %v", i, ya[i], yg[i])
					}
				}
			})
		}
	}
}
