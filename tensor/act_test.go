package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// siluMulRef is SwiGLU's g·sigmoid(g)·u in float64, rounded to float32
// after the silu and after the product, as the engine does (a silu in
// float32's denormal range loses bits there that the product can magnify).
func siluMulRef(g, u float32) float32 {
	x := float64(g)
	return float32(float64(float32(x/(1+math.Exp(-x)))) * float64(u))
}

// ulpDiff is the distance between a and b in float32 steps (both finite).
func ulpDiff(a, b float32) int64 {
	ord := func(f float32) int64 {
		b := int64(math.Float32bits(f))
		if b&0x80000000 != 0 {
			return 0x80000000 - b
		}
		return b
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return d
}

// siluInputs are the values every SiluMul test runs: normal activations,
// the clamping range of the exponential, and the special values.
func siluInputs(r *rand.Rand) []float32 {
	g := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-40, 1, -1, 20, -20, 80, -80, 87, -87, 88.3, -88.3, 88.5, -88.5, 89, -89, 100, -100, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32}
	for range 4000 {
		g = append(g, float32(r.NormFloat64()*3), float32((r.Float64()-0.5)*200))
	}
	return g
}

// checkSilu holds got to the float64 SwiGLU of (g, u): within 3 ulp, and,
// where the result is below 1e-30 in magnitude (the exponential clamped or
// flushed at ±88.4), within 1e-30.
func checkSilu(t *testing.T, name string, g, u, got float32) {
	t.Helper()
	want := siluMulRef(g, u)
	if math.Abs(float64(want)) < 1e-30 {
		if math.Abs(float64(got-want)) > 1e-30 {
			t.Fatalf("%s: silu(%g)·%g = %g, want %g", name, g, u, got, want)
		}
		return
	}
	if d := ulpDiff(got, want); d > 3 {
		t.Fatalf("%s: silu(%g)·%g = %g (%#x), want %g (%#x): %d ulp", name, g, u, got, math.Float32bits(got), want, math.Float32bits(want), d)
	}
}

// TestSiluMul holds SiluMul of every kernel set to the float64 SwiGLU
// within 3 ulp, over ordinary activations and the exponential's clamping
// range, and requires NaN to stay NaN and ±Inf to stay non-finite.
func TestSiluMul(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	g := siluInputs(r)
	u := make([]float32, len(g))
	for i := range u {
		u[i] = float32(r.NormFloat64())
	}
	u[0], u[1] = 1, -1
	for _, name := range KernelNames() {
		t.Run(name, func(t *testing.T) {
			withKernels(t, name)
			got := append([]float32(nil), g...)
			SiluMul(got, u)
			for i := range g {
				checkSilu(t, name, g[i], u[i], got[i])
			}
			nf := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1, 2, 3, 4, 5, 6}
			SiluMul(nf, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
			if !math.IsNaN(float64(nf[0])) || !math.IsInf(float64(nf[1]), 1) || !(math.IsNaN(float64(nf[2])) || math.IsInf(float64(nf[2]), 0)) {
				t.Fatalf("silu(NaN, +Inf, -Inf) = %v", nf[:3])
			}
		})
	}
}

// TestSiluMulSplit: the value of each element does not depend on where a
// call starts or ends (the engine splits SwiGLU across workers by thread
// count, and a prompt row equals the same token run alone).
func TestSiluMulSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	g := randVec(r, 103, 4)
	u := randVec(r, 103, 1)
	for _, name := range KernelNames() {
		withKernels(t, name)
		whole := append([]float32(nil), g...)
		SiluMul(whole, u)
		for _, cut := range []int{0, 1, 5, 8, 13, 50, 97, 102} {
			for _, cut2 := range []int{cut, cut + 1, 103} {
				if cut2 > 103 {
					continue
				}
				parts := append([]float32(nil), g...)
				SiluMul(parts[:cut], u[:cut])
				SiluMul(parts[cut:cut2], u[cut:cut2])
				SiluMul(parts[cut2:], u[cut2:])
				for i := range parts {
					if !sameF32(parts[i], whole[i]) {
						t.Fatalf("%s: cuts %d,%d: element %d is %v, whole call %v", name, cut, cut2, i, parts[i], whole[i])
					}
				}
			}
		}
	}
}

// TestAllFinite: every kernel set finds a NaN, +Inf or -Inf at any
// position of slices of every length around the vector widths, and passes
// slices of finite extremes (max, denormals, -0).
func TestAllFinite(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, name := range KernelNames() {
		withKernels(t, name)
		for _, n := range []int{0, 1, 7, 31, 32, 33, 64, 100, 129} {
			x := randVec(r, n, 10)
			for i := range x {
				switch i % 5 {
				case 1:
					x[i] = math.MaxFloat32
				case 2:
					x[i] = -math.SmallestNonzeroFloat32
				case 3:
					x[i] = float32(math.Copysign(0, -1))
				}
			}
			if !AllFinite(x) {
				t.Fatalf("%s: n=%d: finite values reported non-finite", name, n)
			}
			for i := range x {
				for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
					old := x[i]
					x[i] = bad
					if AllFinite(x) {
						t.Fatalf("%s: n=%d: %v at %d not found", name, n, bad, i)
					}
					x[i] = old
				}
			}
		}
	}
}

// withKernels makes name the active set for the rest of the test.
func withKernels(t testing.TB, name string) {
	t.Helper()
	prev := KernelName()
	if err := UseKernels(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { UseKernels(prev) })
}

// FuzzSiluMul: any float bits (g, u pairs) through the active set stay
// within 3 ulp of the float64 SwiGLU where it is finite, NaN where g is
// NaN, and each element independent of the slice length.
func FuzzSiluMul(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f})
	f.Add(make([]byte, 72))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b) / 8
		g, u := make([]float32, n), make([]float32, n)
		for i := range n {
			g[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[8*i:]))
			u[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[8*i+4:]))
		}
		got := append([]float32(nil), g...)
		SiluMul(got, u)
		for i := range n {
			one := []float32{g[i]}
			SiluMul(one, u[i:i+1])
			if !sameF32(one[0], got[i]) {
				t.Fatalf("element %d: %v in a call of %d, %v alone", i, got[i], n, one[0])
			}
			want := siluMulRef(g[i], u[i])
			gi := float64(g[i])
			switch {
			case math.IsNaN(gi):
				if !math.IsNaN(float64(got[i])) {
					t.Fatalf("silu(NaN)·%v = %v", u[i], got[i])
				}
			case math.IsInf(float64(want), 0) || math.IsNaN(float64(want)) || math.IsInf(gi, 0) || math.Abs(gi) > 88 || math.Abs(float64(u[i])) > 1e36:
				// Overflow and the clamped exponential: no ulp bound.
			default:
				checkSilu(t, fmt.Sprint(KernelName()), g[i], u[i], got[i])
			}
		}
	})
}

// FuzzAllFinite: AllFinite agrees with a per-value test on any bits.
func FuzzAllFinite(f *testing.F) {
	f.Add(make([]byte, 4*40))
	f.Add([]byte{0, 0, 0x80, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		x := make([]float32, len(b)/4)
		want := true
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if math.IsNaN(float64(x[i])) || math.IsInf(float64(x[i]), 0) {
				want = false
			}
		}
		if got := AllFinite(x); got != want {
			t.Fatalf("AllFinite = %v, want %v", got, want)
		}
	})
}

// BenchmarkSiluMul: SwiGLU over one FFN row of the 110M model (2048).
//
//	go test -run '^$' -bench 'SiluMul|AllFinite' ./tensor/
func BenchmarkSiluMul(b *testing.B) {
	r := rand.New(rand.NewPCG(47, 48))
	g0, u := randVec(r, 2048, 3), randVec(r, 2048, 1)
	g := make([]float32, len(g0))
	for _, name := range KernelNames() {
		b.Run(name, func(b *testing.B) {
			withKernels(b, name)
			b.SetBytes(8 * 2048)
			for b.Loop() {
				copy(g, g0)
				SiluMul(g, u)
			}
		})
	}
}

func BenchmarkAllFinite(b *testing.B) {
	x := randVec(rand.New(rand.NewPCG(49, 50)), 64*768, 1)
	for _, name := range KernelNames() {
		b.Run(name, func(b *testing.B) {
			withKernels(b, name)
			b.SetBytes(4 * int64(len(x)))
			for b.Loop() {
				if !AllFinite(x) {
					b.Fatal("non-finite")
				}
			}
		})
	}
}
