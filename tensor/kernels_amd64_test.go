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

// halfFields lists the byte offsets of the F16 scale fields in one block of
// each block type; random blocks get finite scales there so that results are
// comparable numbers (random bits elsewhere, so every quant value, -128
// included, is exercised). Q8_K's scale is a float32 at offset 0.
var halfFields = map[Type][]int{
	Q4_0: {0}, Q4_1: {0, 2}, Q5_0: {0}, Q5_1: {0, 2}, Q8_0: {0}, Q8_1: {0, 2},
	Q2_K: {80, 82}, Q3_K: {108}, Q4_K: {0, 2}, Q5_K: {0, 2}, Q6_K: {208},
}

// randBlocks returns nb random blocks of type t, preceded by off junk bytes
// (the returned slice starts after them, so it is misaligned by off).
func randBlocks(r *rand.Rand, t Type, nb, off int) []byte {
	ti, _ := t.Info()
	b := make([]byte, off+nb*ti.BlockBytes)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b = b[off:]
	for i := 0; i < nb; i++ {
		blk := b[i*ti.BlockBytes:]
		for _, o := range halfFields[t] {
			putFP16(blk[o:], float32(r.NormFloat64()*0.01))
		}
		if t == Q8_K {
			putF32(blk, float32(r.NormFloat64()*0.01))
		}
	}
	return b
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

// quantizedActs returns nb blocks of vecDotType(t) made by the Go quantizer
// from random floats, misaligned by off bytes.
func quantizedActs(r *rand.Rand, t Type, nb, off int) []byte {
	vt := vecDotType(t)
	ti, _ := vt.Info()
	x := randF32(r, nb*ti.BlockSize)
	dst := make([]byte, off+nb*ti.BlockBytes)[off:]
	switch vt {
	case Q8_0:
		goKernels.quantizeQ8_0(x, dst)
	case Q8_1:
		goKernels.quantizeQ8_1(x, dst)
	case Q8_K:
		goKernels.quantizeQ8_K(x, dst)
	}
	return dst
}

func sameF32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestDotQAVX2 requires bit-identical results for every block type: the
// assembly keeps the Go kernels' integer sums and float summation order.
func TestDotQAVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, typ := range Types() {
		if goKernels.dotQ[typ] == nil {
			continue
		}
		ti, _ := typ.Info()
		nbs := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 24, 64}
		if ti.BlockSize == QK_K {
			nbs = []int{0, 1, 2, 3, 4, 5, 8}
		}
		for _, nb := range nbs {
			for off := 0; off < 4; off++ {
				for _, acts := range []string{"quantized", "random"} {
					t.Run(fmt.Sprintf("%v/nb=%d/off=%d/%s", typ, nb, off, acts), func(t *testing.T) {
						w := randBlocks(r, typ, nb, off)
						var xq []byte
						if acts == "random" {
							xq = randBlocks(r, vecDotType(typ), nb, 3-off)
						} else {
							xq = quantizedActs(r, typ, nb, 3-off)
						}
						got := avx2Kernels.dotQ[typ](w, xq, nb)
						want := goKernels.dotQ[typ](w, xq, nb)
						if !sameF32(got, want) {
							t.Fatalf("avx2 %v (%#x), go %v (%#x)", got, math.Float32bits(got), want, math.Float32bits(want))
						}
					})
				}
			}
		}
	}
}

// TestQuantizeAVX2 requires the activation quantizers to write the same
// bytes as the Go ones, including all-zero blocks and exact .5 ties.
func TestQuantizeAVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(9, 10))
	quantizers := []struct {
		vt        Type
		fast, ref func([]float32, []byte)
	}{
		{Q8_0, avx2Kernels.quantizeQ8_0, goKernels.quantizeQ8_0},
		{Q8_1, avx2Kernels.quantizeQ8_1, goKernels.quantizeQ8_1},
		{Q8_K, avx2Kernels.quantizeQ8_K, goKernels.quantizeQ8_K},
	}
	inputs := []struct {
		name string
		gen  func(n int) []float32
	}{
		{"normal", func(n int) []float32 { return randF32(r, n) }},
		{"scaled", func(n int) []float32 {
			x := randF32(r, n)
			s := float32(math.Pow(10, r.Float64()*20-10))
			for i := range x {
				x[i] *= s
			}
			return x
		}},
		{"zeros", func(n int) []float32 { return make([]float32, n) }},
		{"ties", func(n int) []float32 {
			// amax 127 makes id 1, so the x.5 values are exact ties.
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.IntN(254)-127) + 0.5
				if i%32 == 0 {
					x[i] = 127
				}
			}
			return x
		}},
	}
	for _, q := range quantizers {
		ti, _ := q.vt.Info()
		for _, in := range inputs {
			for _, nb := range []int{0, 1, 2, 3, 24} {
				for off := 0; off < 4; off++ {
					t.Run(fmt.Sprintf("%v/%s/nb=%d/off=%d", q.vt, in.name, nb, off), func(t *testing.T) {
						x := append(make([]float32, off), in.gen(nb*ti.BlockSize)...)[off:]
						got := make([]byte, off+nb*ti.BlockBytes+1)[off:]
						want := make([]byte, len(got))
						got[len(got)-1], want[len(want)-1] = 0xa5, 0xa5 // sentinel
						q.fast(x, got[:len(got)-1])
						q.ref(x, want[:len(want)-1])
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("byte %d (block %d, offset %d): avx2 %#x, go %#x", i, i/ti.BlockBytes, i%ti.BlockBytes, got[i], want[i])
							}
						}
					})
				}
			}
		}
	}
}

// TestDotQx4AVX2 requires each of the four rows of a four-row dot to equal
// the Go one-row dot bit for bit, with rows packed (stride = row bytes) or
// spaced out, misaligned weights and activations, and every tail length.
func TestDotQx4AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(11, 12))
	for _, typ := range Types() {
		if goKernels.dotQ[typ] == nil {
			continue
		}
		ti, _ := typ.Info()
		nbs := []int{0, 1, 2, 3, 5, 24, 64}
		if ti.BlockSize == QK_K {
			nbs = []int{0, 1, 2, 3}
		}
		for _, nb := range nbs {
			for _, gap := range []int{0, 7} {
				for off := 0; off < 4; off += 3 {
					t.Run(fmt.Sprintf("%v/nb=%d/gap=%d/off=%d", typ, nb, gap, off), func(t *testing.T) {
						stride := nb*ti.BlockBytes + gap
						w := make([]byte, off+4*stride)[off:]
						for i := 0; i < 4; i++ {
							copy(w[i*stride:], randBlocks(r, typ, nb, 0))
						}
						xq := quantizedActs(r, typ, nb, 3-off)
						var got [4]float32
						avx2Kernels.dotQx4[typ](w[:3*stride+nb*ti.BlockBytes], stride, xq, nb, &got)
						for i := range got {
							want := goKernels.dotQ[typ](w[i*stride:], xq, nb)
							if !sameF32(got[i], want) {
								t.Fatalf("row %d: avx2 %v (%#x), go %v (%#x)", i, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
							}
						}
						goKernels.dotQx4[typ](w[:3*stride+nb*ti.BlockBytes], stride, xq, nb, &got)
						for i := range got {
							if want := goKernels.dotQ[typ](w[i*stride:], xq, nb); !sameF32(got[i], want) {
								t.Fatalf("go dotQx4 row %d: %v, want %v", i, got[i], want)
							}
						}
					})
				}
			}
		}
	}
}

// TestDotFloatx4AVX2 requires the four-row F32/F16 dots to equal the avx2
// one-row dots bit for bit (so MatMul's results do not depend on how rows
// fall into groups of four), for every tail length, packed or spaced rows
// and misaligned slices; and the Go fallbacks to equal the Go one-row dots.
func TestDotFloatx4AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range floatLens {
		for _, gap := range []int{0, 5} {
			for off := 0; off < 4; off += 3 {
				t.Run(fmt.Sprintf("n=%d/gap=%d/off=%d", n, gap, off), func(t *testing.T) {
					stride := n + gap
					w := randF32(r, off+4*stride)[off:]
					x := randF32(r, n+3-off)[3-off:]
					h := make([]byte, 1+8*stride)[1:]
					for i := 0; i < 4*stride; i++ {
						putFP16(h[2*i:], w[i])
					}
					for _, ks := range []*kernelSet{&avx2Kernels, &goKernels} {
						var got, got16 [4]float32
						ks.dotF32x4(w[:3*stride+n], stride, x, &got)
						ks.dotF16x4(h[:2*(3*stride+n)], 2*stride, x, &got16)
						for i := range got {
							if want := ks.dotF32(w[i*stride:i*stride+n], x); !sameF32(got[i], want) {
								t.Fatalf("%s dotF32x4 row %d: %v, one-row %v", ks.name, i, got[i], want)
							}
							if want := ks.dotF16(h[2*i*stride:], x); !sameF32(got16[i], want) {
								t.Fatalf("%s dotF16x4 row %d: %v, one-row %v", ks.name, i, got16[i], want)
							}
						}
					}
				})
			}
		}
	}
}

// TestRoundF16AVX2 requires the hardware F32→F16→F32 rounding to equal the
// Go one bit for bit: random magnitudes from 1e-10 to 1e10 (subnormal
// halves, overflow to infinity), exact ties, ±0 and infinities.
func TestRoundF16AVX2(t *testing.T) {
	requireAVX2(t)
	if avx2Kernels.roundF16 == nil {
		t.Skip("no F16C")
	}
	r := rand.New(rand.NewPCG(15, 16))
	special := []float32{0, float32(math.Copysign(0, -1)), 1 + 0x1p-11, 1 + 3*0x1p-11, 65504, 65519, 65520, 70000, -70000,
		0x1p-24, 0x1p-25, 3 * 0x1p-26, 6e-8, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-10, -2.5e-5}
	for _, n := range floatLens {
		for off := 0; off < 4; off++ {
			x := make([]float32, n+off)[off:]
			for i := range x {
				x[i] = float32(r.NormFloat64() * math.Pow(10, r.Float64()*20-10))
				if i < len(special) && off == 0 {
					x[i] = special[i]
				}
			}
			got, want := make([]float32, n), make([]float32, n)
			avx2Kernels.roundF16(got, x)
			goKernels.roundF16(want, x)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d off=%d: x[%d]=%g: avx2 %g, go %g", n, off, i, x[i], got[i], want[i])
				}
			}
		}
	}
}
