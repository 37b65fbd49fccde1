package tensor

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The AVX2/FMA/F16C kernels (float_amd64.s, quant_amd64.s). The assembly
// takes raw pointers and lengths; these wrappers check lengths the way the
// Go kernels' reslicing does, so a bad call panics in Go rather than reading
// out of bounds in assembly.

//go:noescape
func dotF32AVX2(a, b *float32, n int) float32

//go:noescape
func axpyF32AVX2(alpha float32, x, y *float32, n int)

//go:noescape
func scaleF32AVX2(alpha float32, x *float32, n int)

//go:noescape
func dotF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func roundF16AVX2(dst, x *float32, n int)

//go:noescape
func dotBF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dotF16x4AVX2(w *byte, stride int, x *float32, n int, out *[4]float32)

//go:noescape
func dotF32x4x3AVX2(w *float32, stride int, x *float32, xstride int, n int, out *float32, ostride int)

//go:noescape
func dotF32x4x3KAVX2(w *float32, stride int, x *float32, xstride int, n int, out *float32, ostride int)

//go:noescape
func dotF16x4x3AVX2(w *byte, stride int, x *float32, xstride int, n int, out *float32, ostride int)

//go:noescape
func dotQ4_0Q8_0x4x4AVX2(w *byte, stride int, y *byte, ystride int, nb int, out *float32, ostride int)

//go:noescape
func dotQ8_0Q8_0x4x4AVX2(w *byte, stride int, y *byte, ystride int, nb int, out *float32, ostride int)

//go:noescape
func dotQ4_KQ8_Kr4AVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)

//go:noescape
func dotQ4_KQ8_Kx4AVX2(w, y *byte, ystride int, nb int, out *float32, ostride int)

//go:noescape
func dotQ8_0Q8_0AVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0AVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ4_1Q8_1AVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ5_0Q8_0AVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ5_1Q8_1AVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ2_KQ8_KAVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ3_KQ8_KAVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ4_KQ8_KAVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ5_KQ8_KAVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ6_KQ8_KAVX2(w, y *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0x4AVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)

//go:noescape
func dotQ8_0Q8_0x4AVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)

//go:noescape
func quantizeQ8_0AVX2(x *float32, dst *byte, nb int)

//go:noescape
func quantizeQ8_KAVX2(x *float32, dst *byte, nb int)

//go:noescape
func quantizeQ8_1AVX2(x *float32, dst *byte, nb int)

// avx2Kernels is the SIMD set; entries left nil are filled from goKernels by
// registerKernels.
var avx2Kernels = kernelSet{
	name:      "avx2",
	dotF32:    dotF32Asm,
	axpyF32:   axpyF32Asm,
	scaleF32:  scaleF32Asm,
	dotF32x4:  dotF32x4Asm,
	dotF32x4n: dotF32x4nAsm,
	dotBF16:   dotBF16Asm,

	quantizeQ8_0: quantizeQ8_0Asm,
	quantizeQ8_1: quantizeQ8_1Asm,
	quantizeQ8_K: quantizeQ8_KAsm,
	dotQ: [BF16 + 1]func(w, xq []byte, nb int) float32{
		Q4_0: blockDot(dotQ4_0Q8_0AVX2, 18, 34),
		Q8_0: blockDot(dotQ8_0Q8_0AVX2, 34, 34),
		Q4_1: blockDot(dotQ4_1Q8_1AVX2, 20, 36),
		Q5_0: blockDot(dotQ5_0Q8_0AVX2, 22, 34),
		Q5_1: blockDot(dotQ5_1Q8_1AVX2, 24, 36),
		Q2_K: blockDot(dotQ2_KQ8_KAVX2, 84, q8KBlockBytes),
		Q3_K: blockDot(dotQ3_KQ8_KAVX2, 110, q8KBlockBytes),
		Q4_K: blockDot(dotQ4_KQ8_KAVX2, 144, q8KBlockBytes),
		Q5_K: blockDot(dotQ5_KQ8_KAVX2, 176, q8KBlockBytes),
		Q6_K: blockDot(dotQ6_KQ8_KAVX2, 210, q8KBlockBytes),
	},
	dotQx4: [BF16 + 1]func(w []byte, stride int, xq []byte, nb int, out *[4]float32){
		Q4_0: blockDot4(dotQ4_0Q8_0x4AVX2, 18, 34),
		Q8_0: blockDot4(dotQ8_0Q8_0x4AVX2, 34, 34),
		Q4_K: blockDot4(dotQ4_KQ8_Kr4AVX2, 144, q8KBlockBytes),
	},
	dotQxn: [BF16 + 1]func(w, xq []byte, xqStride, nb, nt int, out []float32, ostride int){
		Q4_K: dotQ4_KQ8_KxnAsm,
	},
	dotQx4n: [BF16 + 1]func(w []byte, stride int, xq []byte, xqStride, nb, nt int, out []float32, ostride int){
		Q4_0: dotQ4_0Q8_0x4nAsm,
		Q8_0: dotQ8_0Q8_0x4nAsm,
	},
}

// hasAVX2 reports whether this CPU runs the avx2 set (AVX2 and FMA; the
// OS-saved YMM state is part of cpu.X86.HasAVX).
var hasAVX2 = cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if !hasAVX2 {
		return
	}
	if cpu.X86.HasF16C {
		avx2Kernels.dotF16 = dotF16Asm
		avx2Kernels.dotF16x4 = dotF16x4Asm
		avx2Kernels.dotF16x4n = dotF16x4nAsm
		avx2Kernels.roundF16 = roundF16Asm
	}
	registerKernels(&avx2Kernels)
}

// f32p returns a pointer to the first element of x, or nil when x is empty
// (the assembly never dereferences it then).
func f32p(x []float32) *float32 {
	if len(x) == 0 {
		return nil
	}
	return unsafe.SliceData(x)
}

func bytep(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return unsafe.SliceData(b)
}

func dotF32Asm(a, b []float32) float32 {
	b = b[:len(a)]
	return dotF32AVX2(f32p(a), f32p(b), len(a))
}

func axpyF32Asm(alpha float32, x, y []float32) {
	y = y[:len(x)]
	axpyF32AVX2(alpha, f32p(x), f32p(y), len(x))
}

func scaleF32Asm(alpha float32, x []float32) { scaleF32AVX2(alpha, f32p(x), len(x)) }

func dotF16Asm(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	return dotF16AVX2(bytep(w), f32p(x), len(x))
}

func dotBF16Asm(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	return dotBF16AVX2(bytep(w), f32p(x), len(x))
}

func dotF32x4Asm(w []float32, stride int, x []float32, out *[4]float32) {
	if len(x) == 0 {
		*out = [4]float32{}
		return
	}
	if stride < 0 {
		panic("tensor: negative row stride")
	}
	w = w[:3*stride+len(x)]
	// Two single-pass pairs stream from DRAM faster than the two-pass
	// four-row kernel (BenchmarkDotF32Cold); same bits.
	dotF32x2AVX2(&w[0], stride, &x[0], len(x), (*[2]float32)(out[:2]))
	dotF32x2AVX2(&w[2*stride], stride, &x[0], len(x), (*[2]float32)(out[2:]))
}

func dotF16x4Asm(w []byte, stride int, x []float32, out *[4]float32) {
	if len(x) == 0 {
		*out = [4]float32{}
		return
	}
	if stride < 0 {
		panic("tensor: negative row stride")
	}
	w = w[:3*stride+2*len(x)]
	dotF16x4AVX2(&w[0], stride, &x[0], len(x), out)
}

// blockDot wraps an assembly block dot whose weight and activation blocks
// are wb and yb bytes long.
func blockDot(f func(w, y *byte, nb int) float32, wb, yb int) func(w, xq []byte, nb int) float32 {
	return func(w, xq []byte, nb int) float32 {
		w, xq = w[:nb*wb], xq[:nb*yb]
		return f(bytep(w), bytep(xq), nb)
	}
}

// blockDot4 wraps an assembly four-row block dot; the slicing checks that
// all four rows and the activation are in bounds.
func blockDot4(f func(w *byte, stride int, y *byte, nb int, out *[4]float32), wb, yb int) func(w []byte, stride int, xq []byte, nb int, out *[4]float32) {
	return func(w []byte, stride int, xq []byte, nb int, out *[4]float32) {
		if nb <= 0 {
			*out = [4]float32{}
			return
		}
		if stride < 0 {
			panic("tensor: negative row stride")
		}
		w, xq = w[:3*stride+nb*wb], xq[:nb*yb]
		f(&w[0], stride, &xq[0], nb, out)
	}
}

func quantizeQ8_0Asm(x []float32, dst []byte) {
	nb := len(x) / 32
	dst = dst[:nb*34]
	quantizeQ8_0AVX2(f32p(x), bytep(dst), nb)
}

func quantizeQ8_KAsm(x []float32, dst []byte) {
	nb := len(x) / QK_K
	dst = dst[:nb*q8KBlockBytes]
	quantizeQ8_KAVX2(f32p(x), bytep(dst), nb)
}

func roundF16Asm(dst, x []float32) {
	dst = dst[:len(x)]
	roundF16AVX2(f32p(dst), f32p(x), len(x))
}

func quantizeQ8_1Asm(x []float32, dst []byte) {
	nb := len(x) / 32
	dst = dst[:nb*36]
	quantizeQ8_1AVX2(f32p(x), bytep(dst), nb)
}

// checkTile validates a batched four-row call, since the assembly trusts
// it: non-negative strides, and every weight row (wn elements each),
// activation and output in bounds.
func checkTile(wlen, stride, wn, xlen, n, nt, olen, ostride int) {
	switch {
	case stride < 0 || ostride < 0 || n < 0:
		panic("tensor: negative stride or length in a batched dot")
	case wlen < 3*stride+wn || xlen < nt*n || olen < (nt-1)*ostride+4:
		panic(fmt.Sprintf("tensor: batched dot out of range: %d weights (stride %d, row %d), %d activations (%d×%d), %d outputs (stride %d)",
			wlen, stride, wn, xlen, nt, n, olen, ostride))
	}
}

// tileKBlock is the row length from which the K-blocked F32 tile runs: at
// 2048 values its rows and activations overflow L1 (BenchmarkMatMul
// F32 768x2048 ran at ~60% of 2048x768's GFLOP/s).
var tileKBlock = 1024

// dotF32x4nAsm runs the 4×3 assembly tile over the activations in groups
// of three (fewer than three with dotF32x4Asm: the same bits).
func dotF32x4nAsm(w []float32, stride int, x []float32, n, nt int, out []float32, ostride int) {
	if nt <= 0 {
		return
	}
	checkTile(len(w), stride, n, len(x), n, nt, len(out), ostride)
	c := 0
	if n > 0 {
		tile := dotF32x4x3AVX2
		if n >= tileKBlock {
			tile = dotF32x4x3KAVX2
		}
		for ; c+3 <= nt; c += 3 {
			tile(&w[0], stride, &x[c*n], n, n, &out[c*ostride], ostride)
		}
		if c < nt && nt >= 3 {
			// The last one or two activations with the two before them:
			// those outputs are rewritten with the same bits, cheaper than
			// one-activation calls (a 64-token prompt leaves one).
			c = nt - 3
			tile(&w[0], stride, &x[c*n], n, n, &out[c*ostride], ostride)
			c = nt
		}
	}
	for ; c < nt; c++ {
		dotF32x4Asm(w, stride, x[c*n:(c+1)*n], (*[4]float32)(out[c*ostride:c*ostride+4]))
	}
}

// dotF16x4nAsm is dotF32x4nAsm for F16 rows (stride in bytes).
func dotF16x4nAsm(w []byte, stride int, x []float32, n, nt int, out []float32, ostride int) {
	if nt <= 0 {
		return
	}
	checkTile(len(w), stride, 2*n, len(x), n, nt, len(out), ostride)
	c := 0
	if n > 0 {
		for ; c+3 <= nt; c += 3 {
			dotF16x4x3AVX2(&w[0], stride, &x[c*n], n, n, &out[c*ostride], ostride)
		}
		if c < nt && nt >= 3 { // as in dotF32x4nAsm
			c = nt - 3
			dotF16x4x3AVX2(&w[0], stride, &x[c*n], n, n, &out[c*ostride], ostride)
			c = nt
		}
	}
	for ; c < nt; c++ {
		dotF16x4Asm(w, stride, x[c*n:(c+1)*n], (*[4]float32)(out[c*ostride:c*ostride+4]))
	}
}

// dotQ4_KQ8_KxnAsm runs the one-row × four-activation Q4_K assembly over
// the activations in groups of four, the rest with the one-row kernel.
func dotQ4_KQ8_KxnAsm(w, xq []byte, xqStride, nb, nt int, out []float32, ostride int) {
	if nt <= 0 {
		return
	}
	const wb, yb = 144, q8KBlockBytes
	switch {
	case xqStride < 0 || ostride < 0 || nb < 0:
		panic("tensor: negative stride or length in a batched dot")
	case len(w) < nb*wb || len(xq) < (nt-1)*xqStride+nb*yb || len(out) < (nt-1)*ostride+1:
		panic(fmt.Sprintf("tensor: batched Q4_K dot out of range: %d weight bytes, %d activation bytes (%d rows, stride %d), %d outputs (stride %d), %d blocks",
			len(w), len(xq), nt, xqStride, len(out), ostride, nb))
	}
	c := 0
	if nb > 0 {
		for ; c+4 <= nt; c += 4 {
			dotQ4_KQ8_Kx4AVX2(&w[0], &xq[c*xqStride], xqStride, nb, &out[c*ostride], ostride)
		}
	}
	for ; c < nt; c++ {
		out[c*ostride] = dotQ4_KQ8_KAVX2(bytep(w), bytep(xq[c*xqStride:]), nb)
	}
}

// dotQ4_0Q8_0x4nAsm and dotQ8_0Q8_0x4nAsm run the four-row ×
// four-activation assembly over the activations in groups of four; a
// leftover one to three go through a last group overlapping the previous
// one (its outputs rewritten with the same bits), or, with fewer than four
// activations in all, through the four-row kernel one activation at a
// time.
func dotQ4_0Q8_0x4nAsm(w []byte, stride int, xq []byte, xqStride, nb, nt int, out []float32, ostride int) {
	dotQ0x4n(dotQ4_0Q8_0x4x4AVX2, dotQ4_0Q8_0x4AVX2, 18, w, stride, xq, xqStride, nb, nt, out, ostride)
}

func dotQ8_0Q8_0x4nAsm(w []byte, stride int, xq []byte, xqStride, nb, nt int, out []float32, ostride int) {
	dotQ0x4n(dotQ8_0Q8_0x4x4AVX2, dotQ8_0Q8_0x4AVX2, 34, w, stride, xq, xqStride, nb, nt, out, ostride)
}

// dotQ0x4n checks a batched call against Q8_0 activations (34-byte
// blocks) and weight blocks of wb bytes, then runs it with x4x4 (and x4
// for fewer than four activations).
func dotQ0x4n(x4x4 func(w *byte, stride int, y *byte, ystride int, nb int, out *float32, ostride int),
	x4 func(w *byte, stride int, y *byte, nb int, out *[4]float32),
	wb int, w []byte, stride int, xq []byte, xqStride, nb, nt int, out []float32, ostride int) {
	if nt <= 0 {
		return
	}
	const yb = 34
	switch {
	case stride < 0 || xqStride < 0 || ostride < 0 || nb < 0:
		panic("tensor: negative stride or length in a batched dot")
	case len(w) < 3*stride+nb*wb || len(xq) < (nt-1)*xqStride+nb*yb || len(out) < (nt-1)*ostride+4:
		panic(fmt.Sprintf("tensor: batched dot out of range: %d weight bytes (stride %d), %d activation bytes (%d rows, stride %d), %d outputs (stride %d), %d blocks",
			len(w), stride, len(xq), nt, xqStride, len(out), ostride, nb))
	}
	if nb == 0 || nt < 4 {
		for c := range nt {
			x4(bytep(w), stride, bytep(xq[c*xqStride:]), nb, (*[4]float32)(out[c*ostride:c*ostride+4]))
		}
		return
	}
	c := 0
	for ; c+4 <= nt; c += 4 {
		x4x4(&w[0], stride, &xq[c*xqStride], xqStride, nb, &out[c*ostride], ostride)
	}
	if c < nt {
		c = nt - 4
		x4x4(&w[0], stride, &xq[c*xqStride], xqStride, nb, &out[c*ostride], ostride)
	}
}

//go:noescape
func dotF32x2AVX2(w *float32, stride int, x *float32, n int, out *[2]float32)
