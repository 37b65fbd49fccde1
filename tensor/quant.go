package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// QuantizeRow encodes src as type t into dst with ggml's reference
// (round-to-nearest) quantizers: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, and the activation types Q8_1 and Q8_K. The K weight types need
// ggml's iterative scale search and are not supported. len(src) must be a
// whole number of blocks and dst at least RowBytes(t, len(src)) long.
func QuantizeRow(t Type, src []float32, dst []byte) error {
	need, err := RowBytes(t, len(src))
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	if len(dst) < need {
		return fmt.Errorf("quantize %d values to %s: need %d bytes, have %d", len(src), t, need, len(dst))
	}
	dst = dst[:need]
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			putFP16(dst[2*i:], v)
		}
	case BF16:
		for i, v := range src {
			putBF16(dst[2*i:], v)
		}
	case Q4_0:
		quantizeQ4_0(src, dst)
	case Q4_1:
		quantizeQ4_1(src, dst)
	case Q5_0:
		quantizeQ5_0(src, dst)
	case Q5_1:
		quantizeQ5_1(src, dst)
	case Q8_0:
		quantizeQ8_0Go(src, dst)
	case Q8_1:
		quantizeQ8_1Go(src, dst)
	case Q8_K:
		quantizeQ8_KGo(src, dst)
	default:
		return fmt.Errorf("quantize: no reference quantizer for %s", t)
	}
	return nil
}

// CanQuantize reports whether QuantizeRow supports t.
func CanQuantize(t Type) bool {
	switch t {
	case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K:
		return true
	}
	return false
}

// absMaxSigned returns the value of largest magnitude (the first one on
// ties) and its magnitude, as ggml's q4_0/q5_0 quantizers search it.
func absMaxSigned(x []float32) (mx, amax float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); amax < a {
			amax, mx = a, v
		}
	}
	return mx, amax
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// truncClamp is C's MIN(hi, (int8_t)v): truncation toward zero, then a cap.
func truncClamp(v float32, hi int32) uint8 { return uint8(min(hi, int32(int8(v)))) }

// quantizeQ4_0 is ggml's quantize_row_q4_0_ref.
func quantizeQ4_0(x []float32, dst []byte) {
	for ib := 0; ib < len(x)/32; ib++ {
		xb, b := x[ib*32:ib*32+32], dst[ib*18:ib*18+18]
		mx, _ := absMaxSigned(xb)
		d := mx / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		for j := range 16 {
			lo := truncClamp(float32(xb[j]*id)+8.5, 15)
			hi := truncClamp(float32(xb[j+16]*id)+8.5, 15)
			b[2+j] = lo | hi<<4
		}
	}
}

// quantizeQ4_1 is ggml's quantize_row_q4_1_ref.
func quantizeQ4_1(x []float32, dst []byte) {
	for ib := 0; ib < len(x)/32; ib++ {
		xb, b := x[ib*32:ib*32+32], dst[ib*20:ib*20+20]
		lo, hi := minMax(xb)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		putFP16(b[2:], lo)
		for j := range 16 {
			q0 := truncClamp(float32((xb[j]-lo)*id)+0.5, 15)
			q1 := truncClamp(float32((xb[j+16]-lo)*id)+0.5, 15)
			b[4+j] = q0 | q1<<4
		}
	}
}

// quantizeQ5_0 is ggml's quantize_row_q5_0_ref.
func quantizeQ5_0(x []float32, dst []byte) {
	for ib := 0; ib < len(x)/32; ib++ {
		xb, b := x[ib*32:ib*32+32], dst[ib*22:ib*22+22]
		mx, _ := absMaxSigned(xb)
		d := mx / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		var qh uint32
		for j := range 16 {
			q0 := truncClamp(float32(xb[j]*id)+16.5, 31)
			q1 := truncClamp(float32(xb[j+16]*id)+16.5, 31)
			b[6+j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0>>4) << uint(j)
			qh |= uint32(q1>>4) << uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// quantizeQ5_1 is ggml's quantize_row_q5_1_ref.
func quantizeQ5_1(x []float32, dst []byte) {
	for ib := 0; ib < len(x)/32; ib++ {
		xb, b := x[ib*32:ib*32+32], dst[ib*24:ib*24+24]
		lo, hi := minMax(xb)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		putFP16(b[2:], lo)
		var qh uint32
		for j := range 16 {
			q0 := truncClamp(float32((xb[j]-lo)*id)+0.5, 31)
			q1 := truncClamp(float32((xb[j+16]-lo)*id)+0.5, 31)
			b[8+j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0>>4) << uint(j)
			qh |= uint32(q1>>4) << uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// RandomBlocks returns nblocks valid random blocks of type t: finite
// scales and values of magnitude around 0.1 (like trained weights), for
// benchmark and test models. It panics only for an unknown t, a programming
// error.
func RandomBlocks(t Type, nblocks int, rng *rand.Rand) []byte {
	ti, ok := t.Info()
	if !ok {
		panic(fmt.Sprintf("tensor.RandomBlocks: unknown type %d", uint32(t)))
	}
	out := make([]byte, nblocks*ti.BlockBytes)
	if CanQuantize(t) {
		x := make([]float32, nblocks*ti.BlockSize)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.05)
		}
		if err := QuantizeRow(t, x, out); err != nil {
			panic(err) // unreachable: sizes computed above
		}
		return out
	}
	// K weight types: random quants and packed scales, with the super-block
	// scales chosen so that the largest reachable value is about 0.2.
	fillRand(rng, out)
	scale := func(maxProduct float64) float32 {
		return float32(0.2 / maxProduct * (0.5 + rng.Float64()))
	}
	for i := 0; i < nblocks; i++ {
		b := out[i*ti.BlockBytes : (i+1)*ti.BlockBytes]
		switch t {
		case Q2_K:
			putFP16(b[80:], scale(15*3))
			putFP16(b[82:], scale(15))
		case Q3_K:
			putFP16(b[108:], scale(32*4))
		case Q4_K:
			putFP16(b[0:], scale(63*15))
			putFP16(b[2:], scale(63))
		case Q5_K:
			putFP16(b[0:], scale(63*31))
			putFP16(b[2:], scale(63))
		case Q6_K:
			// Keep the int8 scales in a realistic band instead of ±128.
			for j := 192; j < 208; j++ {
				b[j] = byte(int8(rng.IntN(64) - 32))
			}
			putFP16(b[208:], scale(32*32))
		}
	}
	return out
}

func fillRand(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}
