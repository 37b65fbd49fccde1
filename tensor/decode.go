package tensor

import "encoding/binary"

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
