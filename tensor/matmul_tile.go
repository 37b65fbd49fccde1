package tensor

// tileBatched computes rows [t0, t1) of dst = w · x for batch > 1
// activation rows (dst[b*w.Rows+r], x[b*w.Cols:]) with the batched
// kernels of ks, which reuse the weight work for several activation rows,
// and reports whether it did; where there is no batched kernel it returns
// false and the caller runs its per-row loop. With xq != nil (quantized
// activations, xqStride bytes and nb blocks a row) it uses dotQx4n and
// dotQxn[w.Type] if the set has either, after the eight-row repacked
// tiles (tileQx8: Q4_0, Q8_0, Q4_K with avx2) have taken the tile's rows
// in eights; otherwise F32 and F16 weights (x already rounded to F16 for
// those) go through dotF32x4n/dotF16x4n. Every output is bit-identical to
// the per-row loop's, since the batched kernels equal the four-row or
// one-row ones. bufs[worker] is scratch for misaligned F32 rows (see
// f32Row) and for tileQx8's repacked rows.
//
// The Pool's row loop calls it once per tile of rows.
func tileBatched(ks *kernelSet, w Matrix, x []float32, xq []byte, xqStride, nb, batch int, dst []float32, t0, t1 int, bufs [][]float32, worker int) bool {
	cols, rows := w.Cols, w.Rows
	if xq != nil {
		dot4n, dotn, dot := ks.dotQx4n[w.Type], ks.dotQxn[w.Type], ks.dotQ[w.Type]
		if dot4n == nil && dotn == nil {
			return false
		}
		r := t0
		if tileQx8 != nil {
			r = tileQx8(ks, w, xq, xqStride, nb, batch, dst, t0, t1, bufs, worker)
		}
		if dot4n != nil {
			for ; r+4 <= t1; r += 4 {
				dot4n(w.Data[r*w.RowBytes:], w.RowBytes, xq, xqStride, nb, batch, dst[r:], rows)
			}
		}
		for ; r < t1; r++ {
			if dotn != nil {
				dotn(w.Row(r), xq, xqStride, nb, batch, dst[r:], rows)
				continue
			}
			for b := range batch {
				dst[b*rows+r] = dot(w.Row(r), xq[b*xqStride:], nb)
			}
		}
		return true
	}
	switch w.Type {
	case F32:
		r := t0
		for ; r+4 <= t1; r += 4 {
			ws := f32Row(w.Data[r*w.RowBytes:(r+4)*w.RowBytes], 4*cols, bufs, worker)
			ks.dotF32x4n(ws, cols, x, cols, batch, dst[r:], rows)
		}
		for ; r < t1; r++ {
			wr := f32Row(w.Row(r), cols, bufs, worker)
			for b := range batch {
				dst[b*rows+r] = ks.dotF32(wr, x[b*cols:(b+1)*cols])
			}
		}
	case F16:
		r := t0
		for ; r+4 <= t1; r += 4 {
			ks.dotF16x4n(w.Data[r*w.RowBytes:(r+4)*w.RowBytes], w.RowBytes, x, cols, batch, dst[r:], rows)
		}
		for ; r < t1; r++ {
			for b := range batch {
				dst[b*rows+r] = ks.dotF16(w.Row(r), x[b*cols:(b+1)*cols])
			}
		}
	default:
		return false
	}
	return true
}

// tileQx8, where set (amd64 with AVX2: q0x8_amd64.go), computes the
// quantized rows t0.. of tileBatched's tile in groups of eight with kernels
// that repack the group's weights once for all the activations, and
// returns the first row it left for the four-row kernels; bit-identical to
// them. bufs[worker] is its scratch.
var tileQx8 func(ks *kernelSet, w Matrix, xq []byte, xqStride, nb, batch int, dst []float32, t0, t1 int, bufs [][]float32, worker int) int
