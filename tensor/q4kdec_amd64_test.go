package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// fixBsums rewrites the bsums of the nb Q8_K blocks of xq from their
// quants, as the quantizer writes them (the decode kernel's contract).
func fixBsums(xq []byte, nb int) {
	for i := range nb {
		y := xq[i*q8KBlockBytes:]
		for j := range QK_K / 16 {
			s := 0
			for _, q := range y[4+16*j : 4+16*(j+1)] {
				s += int(int8(q))
			}
			binary.LittleEndian.PutUint16(y[4+QK_K+2*j:], uint16(int16(s)))
		}
	}
}

// checkQ4KDecode runs q4kDecode.dot4 on the four rows of w (stride bytes
// apart) and requires each result to equal the Go one-row Q4_K dot (and
// so the avx2 one) bit for bit.
func checkQ4KDecode(t *testing.T, w []byte, stride int, xq []byte, nb int) {
	t.Helper()
	xs := make([]byte, len(xq))
	prepQ4KDecode(xq, xs, nb)
	var got [4]float32
	q4kDecode.dot4(w, stride, xs, nb, &got)
	for i := range got {
		want := goKernels.dotQ[Q4_K](w[i*stride:], xq, nb)
		if !sameF32(got[i], want) {
			t.Fatalf("row %d (nb=%d stride=%d): decode %v (%#x), go %v (%#x)", i, nb, stride, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
		}
		if a := avx2Kernels.dotQ[Q4_K](w[i*stride:], xq, nb); !sameF32(a, want) {
			t.Fatalf("row %d: avx2 one-row %v, go %v", i, a, want)
		}
	}
}

// TestDotQ4KDecode holds the decode Q4_K kernel to the Go one-row dot bit
// for bit: random weight blocks (every nibble and 6-bit scale), activations
// quantized from normal, huge-range and constant floats, packed and spaced
// rows, misaligned slices, 0 to 8 super-blocks.
func TestDotQ4KDecode(t *testing.T) {
	requireAVX2(t)
	if q4kDecode.dot4 == nil || q4kDecode.ks != &avx2Kernels {
		t.Fatal("avx2 set without the decode Q4_K kernel")
	}
	r := rand.New(rand.NewPCG(21, 22))
	acts := map[string]func(n int) []float32{
		"normal": func(n int) []float32 { return randF32(r, n) },
		"huge-range": func(n int) []float32 {
			x := randF32(r, n)
			for i := range x {
				x[i] *= float32(math.Pow(10, float64(r.IntN(20)-10)))
			}
			return x
		},
		"constant": func(n int) []float32 { // every quant -128 or 127
			x := make([]float32, n)
			for i := range x {
				x[i] = -1
			}
			return x
		},
	}
	for _, nb := range []int{0, 1, 2, 3, 5, 8} {
		for _, gap := range []int{0, 7, 1000} {
			for _, off := range []int{0, 3} {
				for name, act := range acts {
					t.Run(fmt.Sprintf("nb=%d/gap=%d/off=%d/%s", nb, gap, off, name), func(t *testing.T) {
						stride := nb*144 + gap
						w := make([]byte, off+4*stride)[off:]
						for i := range 4 {
							copy(w[i*stride:], randBlocks(r, Q4_K, nb, 0))
						}
						xq := make([]byte, 1+nb*q8KBlockBytes)[1:]
						goKernels.quantizeQ8_K(act(nb*QK_K), xq)
						checkQ4KDecode(t, w[:3*stride+nb*144], stride, xq, nb)
					})
				}
			}
		}
	}
}

// FuzzDotQ4KDecode feeds arbitrary bytes as Q4_K weights (NaN and Inf
// scales included) and as Q8_K activations (any d, any quants, bsums made
// consistent with them); the decode kernel must match the Go dot bit for
// bit (any NaN matching any NaN).
//
//	go test -run '^$' -fuzz FuzzDotQ4KDecode -fuzztime 60s ./tensor/
func FuzzDotQ4KDecode(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4, 5}, uint8(1), uint16(0))
	f.Add([]byte{0xff, 0x3f, 0x80}, []byte{0x80}, uint8(3), uint16(5))
	f.Fuzz(func(t *testing.T, wdata, xdata []byte, nb8 uint8, gap16 uint16) {
		requireAVX2(t)
		nb := int(nb8) % 9
		stride := nb*144 + int(gap16)%300
		w := cycleBytes(wdata, 3*stride+nb*144)
		xq := cycleBytes(xdata, nb*q8KBlockBytes)
		fixBsums(xq, nb)
		checkQ4KDecode(t, w, stride, xq, nb)
	})
}

// checkQ40Decode runs q40Decode.dot4 on the four rows of w and requires
// each result to equal the Go one-row Q4_0 dot bit for bit.
func checkQ40Decode(t *testing.T, w []byte, stride int, xq []byte, nb int) {
	t.Helper()
	ys := make([]byte, q40TableBytes(nb))
	prepQ40Decode(xq, ys, nb)
	var got [4]float32
	q40Decode.dot4(w, stride, xq, ys, nb, &got)
	for i := range got {
		want := goKernels.dotQ[Q4_0](w[i*stride:], xq, nb)
		if !sameF32(got[i], want) {
			t.Fatalf("row %d (nb=%d stride=%d): decode %v (%#x), go %v (%#x)", i, nb, stride, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
		}
	}
}

// TestDotQ40Decode holds the decode Q4_0 kernel to the Go one-row dot bit
// for bit: random weight blocks, quantized and random activation blocks
// (every quant, -128 included), packed and spaced rows, misaligned
// slices, odd and even block counts (the one-block tail).
func TestDotQ40Decode(t *testing.T) {
	requireAVX2(t)
	if q40Decode.dot4 == nil || q40Decode.ks != &avx2Kernels {
		t.Fatal("avx2 set without the decode Q4_0 kernel")
	}
	r := rand.New(rand.NewPCG(23, 24))
	for _, nb := range []int{0, 1, 2, 3, 4, 5, 24, 64} {
		for _, gap := range []int{0, 5, 1000} {
			for _, off := range []int{0, 3} {
				for _, acts := range []string{"quantized", "random"} {
					t.Run(fmt.Sprintf("nb=%d/gap=%d/off=%d/%s", nb, gap, off, acts), func(t *testing.T) {
						stride := nb*18 + gap
						w := make([]byte, off+4*stride)[off:]
						for i := range 4 {
							copy(w[i*stride:], randBlocks(r, Q4_0, nb, 0))
						}
						xq := quantizedActs(r, Q4_0, nb, 3-off)
						if acts == "random" {
							xq = randBlocks(r, Q8_0, nb, 3-off)
						}
						checkQ40Decode(t, w[:3*stride+nb*18], stride, xq, nb)
					})
				}
			}
		}
	}
}

// FuzzDotQ40Decode: arbitrary bytes as Q4_0 weights and Q8_0 activations
// (NaN and Inf scales included); bit-identical to the Go dot.
//
//	go test -run '^$' -fuzz FuzzDotQ40Decode -fuzztime 60s ./tensor/
func FuzzDotQ40Decode(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4, 5}, uint8(3), uint16(0))
	f.Add([]byte{0x00, 0x7c, 0x80}, []byte{0x80, 0xff}, uint8(8), uint16(7))
	f.Fuzz(func(t *testing.T, wdata, xdata []byte, nb8 uint8, gap16 uint16) {
		requireAVX2(t)
		nb := int(nb8) % 40
		stride := nb*18 + int(gap16)%300
		w := cycleBytes(wdata, 3*stride+nb*18)
		xq := cycleBytes(xdata, nb*34)
		checkQ40Decode(t, w, stride, xq, nb)
	})
}
