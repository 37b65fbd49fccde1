package tensor

import (
	"encoding/binary"
	"math"
)

// q4kDecode is the batch-1 (decode) Q4_K kernel of one kernel set, where
// the platform has one: dot4 computes the four rows at w[0:], w[stride:],
// w[2*stride:], w[3*stride:] against an activation laid out by
// prepQ4KDecode, each result bit-identical to ks.dotQ[Q4_K] on that row.
// MatMul uses it for batch-1 Q4_K products of that set, with decode's far
// stride.
var q4kDecode struct {
	ks   *kernelSet
	dot4 func(w []byte, stride int, xs []byte, nb int, out *[4]float32)
}

// prepQ4KDecode lays out the nb Q8_K blocks of xq for q4kDecode.dot4 in
// xs (same block size): d as is; each 16-quant half class-shuffled to
// positions [0,8,1,9,...,7,15] (the order the weights are shuffled to, so
// that word k of a VPMADDUBSW is class k); the 16 bsums summed in pairs
// (bsums[2g]+bsums[2g+1], one per 32-value group: at most 32·128, so an
// int16), then eight zero words. The integer sums the kernel forms from
// these are the same as from xq, so its results are the same bits.
func prepQ4KDecode(xq, xs []byte, nb int) {
	xq, xs = xq[:nb*q8KBlockBytes], xs[:nb*q8KBlockBytes]
	for i := range nb {
		y := xq[i*q8KBlockBytes : (i+1)*q8KBlockBytes]
		o := xs[i*q8KBlockBytes : (i+1)*q8KBlockBytes]
		copy(o[:4], y[:4])
		for h := 4; h < 4+QK_K; h += 16 {
			for k := range 8 {
				o[h+2*k] = y[h+k]
				o[h+2*k+1] = y[h+k+8]
			}
		}
		const bs = 4 + QK_K
		for g := range 8 {
			s := int16(binary.LittleEndian.Uint16(y[bs+4*g:])) + int16(binary.LittleEndian.Uint16(y[bs+4*g+2:]))
			binary.LittleEndian.PutUint16(o[bs+2*g:], uint16(s))
		}
		clear(o[bs+16:])
	}
}

// q40Decode is the batch-1 Q4_0 kernel of one kernel set, where the
// platform has one: dot4 computes the four rows at w[0:], w[stride:], ...
// against the Q8_0 activation xq and its table ys from prepQ40Decode,
// each result bit-identical to ks.dotQ[Q4_0] on that row.
var q40Decode struct {
	ks   *kernelSet
	dot4 func(w []byte, stride int, xq, ys []byte, nb int, out *[4]float32)
}

// q40TableBytes is the size of prepQ40Decode's table for nb blocks.
func q40TableBytes(nb int) int { return 32 * nb }

// prepQ40Decode writes the table q40Decode.dot4 reads beside the nb Q8_0
// blocks of xq: first dy (the block scale as float32) four times per
// block, then 8·Σy (the block's quant sum times the Q4_0 offset, int32)
// four times per block; 16 bytes per block each, so that two blocks load
// as one vector. |8·Σy| <= 8·32·128, so the int32 is exact.
func prepQ40Decode(xq, ys []byte, nb int) {
	xq, ys = xq[:nb*34], ys[:q40TableBytes(nb)]
	for i := range nb {
		y := xq[i*34 : (i+1)*34]
		dy := math.Float32bits(h16(y[0], y[1]))
		s := int32(0)
		for _, q := range y[2:34] {
			s += int32(int8(q))
		}
		for k := range 4 {
			binary.LittleEndian.PutUint32(ys[16*i+4*k:], dy)
			binary.LittleEndian.PutUint32(ys[16*nb+16*i+4*k:], uint32(8*s))
		}
	}
}
