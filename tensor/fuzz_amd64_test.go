package tensor

import (
	"encoding/binary"
	"math"
	"testing"
)

// Fuzz targets comparing the avx2 kernels with the Go ones. Run each for a
// bounded time, e.g.
//
//	go test -run '^$' -fuzz FuzzDotQ -fuzztime 60s ./tensor/

// dotQTypes are the block types with an integer dot, in id order.
func dotQTypes() []Type {
	var out []Type
	for _, t := range Types() {
		if goKernels.dotQ[t] != nil {
			out = append(out, t)
		}
	}
	return out
}

// cycleBytes fills n bytes by repeating data (zeros when data is empty).
func cycleBytes(data []byte, n int) []byte {
	out := make([]byte, n)
	if len(data) == 0 {
		return out
	}
	for i := range out {
		out[i] = data[i%len(data)] ^ byte(i/len(data))
	}
	return out
}

// FuzzDotQ feeds arbitrary bytes, scales included (so NaN and Inf scales
// occur), as weight and activation blocks; results must be bit-identical
// (any NaN matching any NaN).
func FuzzDotQ(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4, 5}, uint8(0), uint8(1), uint8(0))
	f.Add([]byte{0x80, 0x80, 0x7f}, []byte{0x80}, uint8(4), uint8(9), uint8(2))
	f.Fuzz(func(t *testing.T, wdata, xdata []byte, tsel, nb8, off8 uint8) {
		requireAVX2(t)
		types := dotQTypes()
		typ := types[int(tsel)%len(types)]
		ti, _ := typ.Info()
		vti, _ := vecDotType(typ).Info()
		nb := int(nb8) % 20
		off := int(off8) % 4
		stride := nb * ti.BlockBytes
		w := cycleBytes(wdata, off+4*stride)[off:]
		xq := cycleBytes(xdata, off+nb*vti.BlockBytes)[off:]
		got := avx2Kernels.dotQ[typ](w, xq, nb)
		want := goKernels.dotQ[typ](w, xq, nb)
		if !sameF32(got, want) {
			t.Fatalf("%v nb=%d: avx2 %v (%#x), go %v (%#x)", typ, nb, got, math.Float32bits(got), want, math.Float32bits(want))
		}
		var four [4]float32
		avx2Kernels.dotQx4[typ](w, stride, xq, nb, &four)
		for i, g := range four {
			if want := goKernels.dotQ[typ](w[i*stride:], xq, nb); !sameF32(g, want) {
				t.Fatalf("%v nb=%d four-row dot, row %d: avx2 %v, go %v", typ, nb, i, g, want)
			}
		}
		// The batched four-row × several-activation dot, where there is
		// one, against five activation rows (a group of four and an
		// overlapping last one). Its contract excludes the quant -128 in
		// Q8_0 activations, which no quantizer produces: clamp it.
		if dot4n := avx2Kernels.dotQx4n[typ]; dot4n != nil && nb > 0 {
			const nt = 5
			xs := nb * vti.BlockBytes
			xn := cycleBytes(append(xdata, wdata...), off+nt*xs)[off:]
			if vecDotType(typ) == Q8_0 {
				for i := range xn {
					if i%34 >= 2 && xn[i] == 0x80 {
						xn[i] = 0x81
					}
				}
			}
			var outs [4 * nt]float32
			dot4n(w, stride, xn, xs, nb, nt, outs[:], 4)
			for j, g := range outs {
				c, k := j/4, j%4
				if want := goKernels.dotQ[typ](w[k*stride:], xn[c*xs:], nb); !sameF32(g, want) {
					t.Fatalf("%v nb=%d batched four-row dot, activation %d row %d: avx2 %v, go %v", typ, nb, c, k, g, want)
				}
			}
		}
		// The batched one-row × several-activation dot, where there is
		// one: five activation rows (a group of four and one more).
		if dotn := avx2Kernels.dotQxn[typ]; dotn != nil {
			const nt = 5
			xs := nb * vti.BlockBytes
			xn := cycleBytes(append(xdata, wdata...), off+nt*xs)[off:]
			var outs [nt]float32
			dotn(w, xn, xs, nb, nt, outs[:], 1)
			for c, g := range outs {
				if want := goKernels.dotQ[typ](w, xn[c*xs:], nb); !sameF32(g, want) {
					t.Fatalf("%v nb=%d batched dot, activation %d: avx2 %v, go %v", typ, nb, c, g, want)
				}
			}
		}
	})
}

// boundedFloats decodes int16 pairs of data as values in [-128, 128) times
// 2^(scale-8), so that no order of summation overflows.
func boundedFloats(data []byte, n int, scale uint8) []float32 {
	b := cycleBytes(data, 2*n)
	out := make([]float32, n)
	m := float32(math.Ldexp(1, int(scale%16)-8))
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 256 * m
	}
	return out
}

// FuzzDotF32 checks the float dots (F32, F16, BF16) against the Go ones
// within the summation-order bound of dotTol, the four-row and batched
// kernels against the one-row ones and axpy/scale bit for bit.
func FuzzDotF32(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{5, 6, 7}, uint16(33), uint8(0))
	f.Fuzz(func(t *testing.T, adata, bdata []byte, n16 uint16, scale uint8) {
		requireAVX2(t)
		n := int(n16) % 2100
		a := boundedFloats(adata, n, scale)
		b := boundedFloats(bdata, n, scale>>4)
		check := func(name string, got, want float32, prod func(i int) float64) {
			var sumAbs float64
			for i := 0; i < n; i++ {
				sumAbs += math.Abs(prod(i))
			}
			if d := math.Abs(float64(got) - float64(want)); d > dotTol(n, sumAbs) {
				t.Fatalf("%s n=%d: avx2 %v, go %v: |diff| %g > %g", name, n, got, want, d, dotTol(n, sumAbs))
			}
		}
		check("dotF32", avx2Kernels.dotF32(a, b), goKernels.dotF32(a, b),
			func(i int) float64 { return float64(a[i]) * float64(b[i]) })
		h := make([]byte, 2*n)
		bf := make([]byte, 2*n)
		for i, v := range a {
			putFP16(h[2*i:], v)
			putBF16(bf[2*i:], v)
		}
		check("dotF16", avx2Kernels.dotF16(h, b), goKernels.dotF16(h, b),
			func(i int) float64 { return float64(fp16(h[2*i:])) * float64(b[i]) })
		check("dotBF16", avx2Kernels.dotBF16(bf, b), goKernels.dotBF16(bf, b),
			func(i int) float64 { return float64(bf16(bf[2*i:])) * float64(b[i]) })
		// The four-row kernels must equal the one-row ones bit for bit.
		if n > 0 {
			w4 := boundedFloats(append(adata, bdata...), 4*n, scale)
			h4 := make([]byte, 8*n)
			for i, v := range w4 {
				putFP16(h4[2*i:], v)
			}
			var o32, o16 [4]float32
			avx2Kernels.dotF32x4(w4, n, b, &o32)
			avx2Kernels.dotF16x4(h4, 2*n, b, &o16)
			for i := range o32 {
				if want := avx2Kernels.dotF32(w4[i*n:(i+1)*n], b); !sameF32(o32[i], want) {
					t.Fatalf("dotF32x4 n=%d row %d: %v, one-row %v", n, i, o32[i], want)
				}
				if want := avx2Kernels.dotF16(h4[2*i*n:], b); !sameF32(o16[i], want) {
					t.Fatalf("dotF16x4 n=%d row %d: %v, one-row %v", n, i, o16[i], want)
				}
			}
		}
		// The batched four-row kernels (four activation rows: a group of
		// three and one more) must equal the one-row ones bit for bit.
		if n > 0 {
			const nt = 4
			w4 := boundedFloats(append(bdata, adata...), 4*n, scale)
			x4 := boundedFloats(append(adata, byte(n)), nt*n, scale>>4)
			h4 := make([]byte, 8*n)
			for i, v := range w4 {
				putFP16(h4[2*i:], v)
			}
			o32, o16 := make([]float32, 4*nt), make([]float32, 4*nt)
			avx2Kernels.dotF32x4n(w4, n, x4, n, nt, o32, 4)
			avx2Kernels.dotF16x4n(h4, 2*n, x4, n, nt, o16, 4)
			for j := range o32 {
				c, i := j/4, j%4
				if want := avx2Kernels.dotF32(w4[i*n:(i+1)*n], x4[c*n:(c+1)*n]); !sameF32(o32[j], want) {
					t.Fatalf("dotF32x4n n=%d activation %d row %d: %v, one-row %v", n, c, i, o32[j], want)
				}
				if want := avx2Kernels.dotF16(h4[2*i*n:], x4[c*n:(c+1)*n]); !sameF32(o16[j], want) {
					t.Fatalf("dotF16x4n n=%d activation %d row %d: %v, one-row %v", n, c, i, o16[j], want)
				}
			}
		}
		alpha := float32(int8(scale)) / 16
		yg, ya := append([]float32(nil), b...), append([]float32(nil), b...)
		goKernels.axpyF32(alpha, a, yg)
		avx2Kernels.axpyF32(alpha, a, ya)
		goKernels.scaleF32(alpha, yg)
		avx2Kernels.scaleF32(alpha, ya)
		for i := range yg {
			if math.Float32bits(yg[i]) != math.Float32bits(ya[i]) {
				t.Fatalf("axpy+scale n=%d [%d]: avx2 %v, go %v", n, i, ya[i], yg[i])
			}
		}
	})
}

// FuzzQuantize checks the Q8_0, Q8_1 and Q8_K quantizers byte for byte on
// finite inputs over a wide range of magnitudes.
func FuzzQuantize(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(1), uint8(8))
	f.Add([]byte{0x80, 0x00}, uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, nb8, scale uint8) {
		requireAVX2(t)
		nb := int(nb8) % 6
		for _, q := range []struct {
			vt        Type
			fast, ref func([]float32, []byte)
		}{
			{Q8_0, avx2Kernels.quantizeQ8_0, goKernels.quantizeQ8_0},
			{Q8_1, avx2Kernels.quantizeQ8_1, goKernels.quantizeQ8_1},
			{Q8_K, avx2Kernels.quantizeQ8_K, goKernels.quantizeQ8_K},
		} {
			ti, _ := q.vt.Info()
			x := boundedFloats(data, nb*ti.BlockSize, scale)
			got := make([]byte, nb*ti.BlockBytes)
			want := make([]byte, nb*ti.BlockBytes)
			q.fast(x, got)
			q.ref(x, want)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v nb=%d byte %d: avx2 %#x, go %#x", q.vt, nb, i, got[i], want[i])
				}
			}
		}
	})
}
