package tensor

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

//go:noescape
func repackQ4_Kx8AVX2(w *byte, stride int, nsb int, dst *byte)

//go:noescape
func repackQ8_Kx8AVX2(y *byte, nsb int, dst *byte)

//go:noescape
func gemmQ4_Kx8AVX2(w *byte, nsb int, yp *byte, ypstride int, y *byte, ystride int, nt int, out *float32, ostride int)

// q4kx8Bytes is one repacked super-block of eight Q4_K rows
// (q4kx8_amd64.s).
const q4kx8Bytes = 2624

// tileQ4_Kx8 is tileQ0x8 for Q4_K weights (nb super-blocks a row): the
// activations' quants are permuted once per call into position classes,
// then each group of eight rows is repacked (nibbles, d and dmin in
// assembly, the 6-bit scales and mins here) and run against all of them.
// Every output equals dotQ of its row and activation.
func tileQ4_Kx8(w Matrix, xq []byte, xqStride, nb, batch int, dst []float32, t0, t1 int, bufs [][]float32, worker int) int {
	rows := w.Rows
	switch {
	case xqStride < nb*q8KBlockBytes || w.RowBytes < nb*144 || t0 < 0 || t1 > rows:
		panic(fmt.Sprintf("tensor: eight-row Q4_K tile: %d super-blocks, row %d bytes, activation stride %d, rows %d-%d of %d", nb, w.RowBytes, xqStride, t0, t1, rows))
	case len(xq) < (batch-1)*xqStride+nb*q8KBlockBytes || len(dst) < (batch-1)*rows+t1 || len(w.Data) < t1*w.RowBytes:
		panic(fmt.Sprintf("tensor: eight-row Q4_K tile out of range: %d activation bytes, %d outputs, %d weight bytes", len(xq), len(dst), len(w.Data)))
	}
	wn, yn := nb*q4kx8Bytes, batch*nb*256
	if need := (wn + yn + 3) / 4; cap(bufs[worker]) < need {
		bufs[worker] = growScratch(bufs[worker], need)
	}
	all := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bufs[worker]))), wn+yn)
	wb, yp := all[:wn], all[wn:]
	for c := range batch {
		repackQ8_Kx8AVX2(&xq[c*xqStride], nb, &yp[c*nb*256])
	}
	r := t0
	for ; r+8 <= t1; r += 8 {
		repackQ4_Kx8AVX2(&w.Data[r*w.RowBytes], w.RowBytes, nb, &wb[0])
		prefetchRows(w, r+8, 8)
		for i := range 8 {
			row := w.Data[(r+i)*w.RowBytes:]
			for sb := range nb {
				sc, mn := scalesMinsK4(row[sb*144+4 : sb*144+16])
				o := wb[sb*q4kx8Bytes+4*i:]
				for j := range 8 {
					binary.LittleEndian.PutUint32(o[64+32*j:], uint32(mn>>(8*j)&0xff)*0x10001)
					binary.LittleEndian.PutUint32(o[320+32*j:], uint32(sc>>(8*j)&0xff)*0x10001)
				}
			}
		}
		gemmQ4_Kx8AVX2(&wb[0], nb, &yp[0], nb*256, &xq[0], xqStride, batch, &dst[r], rows)
	}
	return r
}

// scalesMinsK4 unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K
// block's 12 packed bytes at once (byte j of sc and mn: scaleMinK4(j)),
// with ggml's kmask shuffle instead of eight branchy calls.
func scalesMinsK4(p []byte) (sc, mn uint64) {
	const k1, k2, k3 = 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303
	u0 := binary.LittleEndian.Uint32(p[0:])
	u1 := binary.LittleEndian.Uint32(p[4:])
	u2 := binary.LittleEndian.Uint32(p[8:])
	sc = uint64(u0&k1) | uint64(u2&k2|(u0>>6&k3)<<4)<<32
	mn = uint64(u1&k1) | uint64(u2>>4&k2|(u1>>6&k3)<<4)<<32
	return sc, mn
}
