package tensor

import (
	"fmt"
	"unsafe"
)

//go:noescape
func repackQ4_0x8AVX2(w *byte, stride int, nb int, dst *byte)

//go:noescape
func repackQ8_0x8AVX2(w *byte, stride int, nb int, dst *byte)

//go:noescape
func gemmQ4_0x8x4AVX2(buf *byte, nb int, y *byte, ystride int, corr *int32, cstride int, out *float32, ostride int)

//go:noescape
func prefetchT1(p *byte, n int)

// prefetchQx8 enables prefetchRows (a variable so that benchmarks can A/B
// it).
var prefetchQx8 = true

// prefetchRows hints the weight rows [r, r+k) of w into L2, within the
// data: the rows a tile repacks next, fetched from memory while the
// current group computes.
func prefetchRows(w Matrix, r, k int) {
	if next := r * w.RowBytes; prefetchQx8 && next < len(w.Data) {
		prefetchT1(&w.Data[next], min(k*w.RowBytes, len(w.Data)-next))
	}
}

//go:noescape
func sum8Q8_0AVX2(y *byte, ystride int, nt int, nb int, dst *int32)

//go:noescape
func gemmQ8_0x8x4AVX2(buf *byte, nb int, y *byte, ystride int, out *float32, ostride int)

func init() {
	if hasAVX2 {
		tileQx8 = tileQ0x8
	}
}

// q0x8 describes the eight-row kernels of one weight type: the block
// bytes of a row and of the repacked tile (q0x8_amd64.s).
type q0x8 struct {
	wb, pb int
	repack func(w *byte, stride int, nb int, dst *byte)
}

var q0x8Kernels = [BF16 + 1]*q0x8{
	Q4_0: {18, 288, repackQ4_0x8AVX2},
	Q8_0: {34, 544, repackQ8_0x8AVX2},
}

// tileQ0x8 computes, with the avx2 set, rows t0.. of dst = w · xq in
// groups of eight (Q4_K: tileQ4_Kx8), each group repacked once into the worker's scratch
// (bufs[worker], grown as needed) and run against the activations four at
// a time (a leftover one to three through a last group overlapping the one
// before: those outputs rewritten with the same bits). It returns the first
// row it left (fewer than eight remain, or the type, set or batch has no
// eight-row kernel). Every output equals dotQ of its row and activation.
func tileQ0x8(ks *kernelSet, w Matrix, xq []byte, xqStride, nb, batch int, dst []float32, t0, t1 int, bufs [][]float32, worker int) int {
	if ks != &avx2Kernels || nb <= 0 || t1-t0 < 8 {
		return t0
	}
	if w.Type == Q4_K {
		return tileQ4_Kx8(w, xq, xqStride, nb, batch, dst, t0, t1, bufs, worker)
	}
	k := q0x8Kernels[w.Type]
	if k == nil || batch < 4 {
		return t0
	}
	rows := w.Rows
	switch {
	case xqStride < nb*34 || w.RowBytes < nb*k.wb || t0 < 0 || t1 > rows:
		panic(fmt.Sprintf("tensor: eight-row %v tile: %d blocks, row %d bytes, activation stride %d, rows %d-%d of %d", w.Type, nb, w.RowBytes, xqStride, t0, t1, rows))
	case len(xq) < (batch-1)*xqStride+nb*34 || len(dst) < (batch-1)*rows+t1 || len(w.Data) < t1*w.RowBytes:
		panic(fmt.Sprintf("tensor: eight-row %v tile out of range: %d activation bytes, %d outputs, %d weight bytes", w.Type, len(xq), len(dst), len(w.Data)))
	}
	wn, cn := nb*k.pb, 0
	if w.Type == Q4_0 {
		cn = batch * nb // the activations' 8·Σy per block, once per tile
	}
	if need := (wn+3)/4 + cn; cap(bufs[worker]) < need {
		bufs[worker] = growScratch(bufs[worker], need)
	}
	scratch := bufs[worker][:(wn+3)/4+cn]
	buf := (*byte)(unsafe.Pointer(unsafe.SliceData(scratch)))
	var corr []int32
	if cn > 0 {
		corr = unsafe.Slice((*int32)(unsafe.Pointer(&scratch[(wn+3)/4])), cn)
		sum8Q8_0AVX2(&xq[0], xqStride, batch, nb, &corr[0])
	}
	r := t0
	for ; r+8 <= t1; r += 8 {
		k.repack(&w.Data[r*w.RowBytes], w.RowBytes, nb, buf)
		prefetchRows(w, r+8, 8)
		for c := 0; c < batch; c += 4 {
			c = min(c, batch-4)
			if cn > 0 {
				gemmQ4_0x8x4AVX2(buf, nb, &xq[c*xqStride], xqStride, &corr[c*nb], 4*nb, &dst[c*rows+r], rows)
			} else {
				gemmQ8_0x8x4AVX2(buf, nb, &xq[c*xqStride], xqStride, &dst[c*rows+r], rows)
			}
		}
	}
	return r
}

// growScratch returns a worker scratch of capacity need with buf's length:
// the pool's other users of the same scratch (a dequantized row, sliced
// to its length at prepare) keep the length they set.
func growScratch(buf []float32, need int) []float32 {
	return make([]float32, len(buf), need)
}
