package tensor

import (
	"math"
	"testing"
)

// FuzzTileQ0x8 feeds arbitrary bytes, scales included (NaN and Inf scales
// occur), as eight-plus Q4_0 or Q8_0 weight rows and as four-plus Q8_0
// activation rows; every output of the eight-row tiles must equal the Go
// one-row dot bit for bit (any NaN matching any NaN). Q8_0 weights take
// activation quants of -128 as -127, the quantizers' range, which
// dotQ8_0Q8_0x4x4AVX2 and gemmQ8_0x8x4AVX2 assume.
//
//	go test -run '^$' -fuzz FuzzTileQ0x8 -fuzztime 60s ./tensor/
func FuzzTileQ0x8(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4, 5}, false, uint8(1), uint8(4), uint8(8))
	f.Add([]byte{0x80, 0x80, 0x7f}, []byte{0x80, 0x00, 0x3c}, true, uint8(3), uint8(6), uint8(13))
	f.Fuzz(func(t *testing.T, wdata, xdata []byte, q8 bool, nb8, batch8, rows8 uint8) {
		requireAVX2(t)
		typ, wb := Q4_0, 18
		if q8 {
			typ, wb = Q8_0, 34
		}
		nb, batch, rows := 1+int(nb8)%8, 4+int(batch8)%9, 8+int(rows8)%12
		data := cycleBytes(wdata, rows*nb*wb)
		xs := nb * 34
		xq := cycleBytes(xdata, batch*xs)
		if q8 {
			for i := range xq {
				if i%34 >= 2 && xq[i] == 0x80 {
					xq[i] = 0x81
				}
			}
		}
		w := Matrix{Type: typ, Rows: rows, Cols: nb * 32, RowBytes: nb * wb, Data: data}
		dst := make([]float32, batch*rows)
		end := tileQ0x8(&avx2Kernels, w, xq, xs, nb, batch, dst, 0, rows, make([][]float32, 1), 0)
		for c := range batch {
			for i := range end {
				want := goKernels.dotQ[typ](data[i*nb*wb:], xq[c*xs:], nb)
				if g := dst[c*rows+i]; !sameF32(g, want) {
					t.Fatalf("%v nb=%d act %d row %d: %v (%#x), go %v (%#x)", typ, nb, c, i, g, math.Float32bits(g), want, math.Float32bits(want))
				}
			}
		}
	})
}

// FuzzTileQ4_Kx8: arbitrary bytes as eight-plus Q4_K weight rows (any d,
// dmin, scales, mins and nibbles) and Q8_K activation blocks (any d, quants
// and bsums); every output equals the Go one-row dot bit for bit.
//
//	go test -run '^$' -fuzz FuzzTileQ4_Kx8 -fuzztime 60s ./tensor/
func FuzzTileQ4_Kx8(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4, 5}, uint8(1), uint8(1), uint8(8))
	f.Add([]byte{0x80, 0xff, 0x7f, 0x00}, []byte{0x80, 0x00, 0x3c, 0x7f}, uint8(2), uint8(6), uint8(13))
	f.Fuzz(func(t *testing.T, wdata, xdata []byte, nb8, batch8, rows8 uint8) {
		requireAVX2(t)
		nb, batch, rows := 1+int(nb8)%3, 1+int(batch8)%7, 8+int(rows8)%12
		data := cycleBytes(wdata, rows*nb*144)
		xs := nb * q8KBlockBytes
		xq := cycleBytes(xdata, batch*xs)
		w := Matrix{Type: Q4_K, Rows: rows, Cols: nb * QK_K, RowBytes: nb * 144, Data: data}
		dst := make([]float32, batch*rows)
		end := tileQ0x8(&avx2Kernels, w, xq, xs, nb, batch, dst, 0, rows, make([][]float32, 1), 0)
		for c := range batch {
			for i := range end {
				want := goKernels.dotQ[Q4_K](data[i*nb*144:], xq[c*xs:], nb)
				if g := dst[c*rows+i]; !sameF32(g, want) {
					t.Fatalf("nb=%d act %d row %d: %v (%#x), go %v (%#x)", nb, c, i, g, math.Float32bits(g), want, math.Float32bits(want))
				}
			}
		}
	})
}
