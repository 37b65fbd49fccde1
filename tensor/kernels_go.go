package tensor

import (
	"encoding/binary"
	"math"
)

// The pure-Go kernels. The float dots keep four float32 accumulators (a
// fixed order, so every call with the same inputs gives the same bits); the
// quantized dots follow the generic C of ggml-cpu/quants.c operation for
// operation (Q4_1 and Q2_K: the float order of the x86 AVX2 versions, see
// there), with explicit float32 conversions so the compiler can never fuse
// a multiply-add and change the rounding.

func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 && len(b) >= 4 {
		aa, bb := (*[4]float32)(a), (*[4]float32)(b)
		s0 += float32(aa[0] * bb[0])
		s1 += float32(aa[1] * bb[1])
		s2 += float32(aa[2] * bb[2])
		s3 += float32(aa[3] * bb[3])
		a, b = a[4:], b[4:]
	}
	for i := range a {
		s0 += float32(a[i] * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyF32Go(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(alpha * v)
	}
}

func scaleF32Go(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func dotF16Go(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1, s2, s3 float32
	for len(x) >= 4 && len(w) >= 8 {
		ww, xx := (*[8]byte)(w), (*[4]float32)(x)
		s0 += float32(h16(ww[0], ww[1]) * xx[0])
		s1 += float32(h16(ww[2], ww[3]) * xx[1])
		s2 += float32(h16(ww[4], ww[5]) * xx[2])
		s3 += float32(h16(ww[6], ww[7]) * xx[3])
		w, x = w[8:], x[4:]
	}
	for i := range x {
		s0 += float32(h16(w[2*i], w[2*i+1]) * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBF16Go(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1, s2, s3 float32
	for len(x) >= 4 && len(w) >= 8 {
		ww, xx := (*[8]byte)(w), (*[4]float32)(x)
		s0 += float32(hb16(ww[0], ww[1]) * xx[0])
		s1 += float32(hb16(ww[2], ww[3]) * xx[1])
		s2 += float32(hb16(ww[4], ww[5]) * xx[2])
		s3 += float32(hb16(ww[6], ww[7]) * xx[3])
		w, x = w[8:], x[4:]
	}
	for i := range x {
		s0 += float32(hb16(w[2*i], w[2*i+1]) * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// hb16 decodes a bfloat16 from its two little-endian bytes.
func hb16(lo, hi byte) float32 { return math.Float32frombits(uint32(lo)<<16 | uint32(hi)<<24) }

// roundf is C's roundf: to nearest, halves away from zero.
func roundf(v float32) int32 { return int32(math.Round(float64(v))) }

// nearestInt is ggml's nearest_int: to nearest, halves to even, via the
// 1.5*2^23 magic-number trick (valid for |v| <= 4194303).
func nearestInt(v float32) int32 {
	f := float32(v + 12582912)
	return int32(math.Float32bits(f)&0x007fffff) - 0x00400000
}

// quantizeQ8_0Go is ggml's quantize_row_q8_0_ref.
func quantizeQ8_0Go(x []float32, dst []byte) {
	const bb = 34
	for ib := 0; ib < len(x)/32; ib++ {
		xb := x[ib*32 : ib*32+32]
		b := dst[ib*bb : ib*bb+bb]
		var amax float32
		for _, v := range xb {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		for j, v := range xb {
			b[2+j] = byte(int8(roundf(v * id)))
		}
	}
}

// quantizeQ8_1Go is ggml's quantize_row_q8_1_ref; s = d * sum(qs).
func quantizeQ8_1Go(x []float32, dst []byte) {
	const bb = 36
	for ib := 0; ib < len(x)/32; ib++ {
		xb := x[ib*32 : ib*32+32]
		b := dst[ib*bb : ib*bb+bb]
		var amax float32
		for _, v := range xb {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		var sum int32
		for j := 0; j < 16; j++ {
			q0 := roundf(xb[j] * id)
			q1 := roundf(xb[16+j] * id)
			b[4+j] = byte(int8(q0))
			b[4+16+j] = byte(int8(q1))
			sum += q0 + q1
		}
		putFP16(b[2:], float32(sum)*d)
	}
}

// quantizeQ8_KGo is ggml's quantize_row_q8_K_ref: float32 d, 256 int8,
// 16 int16 sums of 16 values each.
func quantizeQ8_KGo(x []float32, dst []byte) {
	const bb = 4 + QK_K + QK_K/16*2
	for ib := 0; ib < len(x)/QK_K; ib++ {
		xb := x[ib*QK_K : ib*QK_K+QK_K]
		b := dst[ib*bb : ib*bb+bb]
		var mx, amax float32
		for _, v := range xb {
			if ax := float32(math.Abs(float64(v))); ax > amax {
				amax, mx = ax, v
			}
		}
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / mx
		qs := b[4 : 4+QK_K]
		for j, v := range xb {
			qs[j] = byte(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := 0; j < QK_K/16; j++ {
			var s int16
			for _, q := range qs[16*j : 16*j+16] {
				s += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(b[4+QK_K+2*j:], uint16(s))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

// ---- 32-value block dots (ggml_vec_dot_<t>_q8_<n>_generic) ----
//
// The integer sums may be formed in any order (they are exact); every
// float operation is the one of ggml's generic C, in its order. Blocks are
// viewed as array pointers so the inner loops carry no bounds checks.
// kernels_ref_test.go keeps the literal transliterations they must match.

// h16 decodes a half from its two little-endian bytes.
func h16(b0, b1 byte) float32 { return f16Table[uint16(b0)|uint16(b1)<<8] }

func dotQ4_0Q8_0Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := (*[18]byte)(w[ib*18:])
		y := (*[34]byte)(xq[ib*34:])
		qs, lo, hi := (*[16]byte)(x[2:]), (*[16]byte)(y[2:]), (*[16]byte)(y[18:])
		var s int32
		for j := range 16 {
			s += (int32(qs[j]&0x0f)-8)*int32(int8(lo[j])) + (int32(qs[j]>>4)-8)*int32(int8(hi[j]))
		}
		sumf += float32(float32(float32(s)*h16(x[0], x[1])) * h16(y[0], y[1]))
	}
	return sumf
}

// dotQ4_1Q8_1Go follows the float accumulation of ggml's x86 AVX2
// ggml_vec_dot_q4_1_q8_1, which the reference llama.cpp build ran: eight
// float lanes (lane l holds the block's products 4l..4l+3) accumulated
// with fused multiply-adds, the m·s terms summed apart, then the AVX
// horizontal sum. With the generic C order, one activation-quantization
// flip moved tiny-llama-q4_1's logits 0.03 away from llama.cpp's; with this
// order they agree to 5e-6. The integer sums are the generic algorithm's.
func dotQ4_1Q8_1Go(w, xq []byte, nb int) float32 {
	var acc [8]float32
	var summs float32
	for ib := 0; ib < nb; ib++ {
		x := (*[20]byte)(w[ib*20:])
		y := (*[36]byte)(xq[ib*36:])
		summs += float32(h16(x[2], x[3]) * h16(y[2], y[3]))
		d0d1 := h16(x[0], x[1]) * h16(y[0], y[1])
		qs, lo, hi := (*[16]byte)(x[4:]), (*[16]byte)(y[4:]), (*[16]byte)(y[20:])
		for l := range 4 {
			var s0, s1 int32 // lanes l (low nibbles) and l+4 (high nibbles)
			for k := 4 * l; k < 4*l+4; k++ {
				s0 += int32(qs[k]&0x0f) * int32(int8(lo[k]))
				s1 += int32(qs[k]>>4) * int32(int8(hi[k]))
			}
			acc[l] = fma32(d0d1, float32(s0), acc[l])
			acc[l+4] = fma32(d0d1, float32(s1), acc[l+4])
		}
	}
	return hsum8(&acc) + summs
}

func dotQ5_0Q8_0Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := (*[22]byte)(w[ib*22:])
		y := (*[34]byte)(xq[ib*34:])
		qh := binary.LittleEndian.Uint32(x[2:6])
		qs, lo, hi := (*[16]byte)(x[6:]), (*[16]byte)(y[2:]), (*[16]byte)(y[18:])
		var s int32
		for j := range 16 {
			h0 := int32(qh>>uint(j)&1) << 4
			h1 := int32(qh>>uint(j+16)&1) << 4
			s += (int32(qs[j]&0x0f)|h0-16)*int32(int8(lo[j])) + (int32(qs[j]>>4)|h1-16)*int32(int8(hi[j]))
		}
		sumf += float32(float32(h16(x[0], x[1])*h16(y[0], y[1])) * float32(s))
	}
	return sumf
}

func dotQ5_1Q8_1Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := (*[24]byte)(w[ib*24:])
		y := (*[36]byte)(xq[ib*36:])
		qh := binary.LittleEndian.Uint32(x[4:8])
		qs, lo, hi := (*[16]byte)(x[8:]), (*[16]byte)(y[4:]), (*[16]byte)(y[20:])
		var s int32
		for j := range 16 {
			h0 := int32(qh>>uint(j)&1) << 4
			h1 := int32(qh>>uint(j+16)&1) << 4
			s += (int32(qs[j]&0x0f)|h0)*int32(int8(lo[j])) + (int32(qs[j]>>4)|h1)*int32(int8(hi[j]))
		}
		a := float32(float32(h16(x[0], x[1])*h16(y[0], y[1])) * float32(s))
		sumf += float32(a + float32(h16(x[2], x[3])*h16(y[2], y[3])))
	}
	return sumf
}

func dotQ8_0Q8_0Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := (*[34]byte)(w[ib*34:])
		y := (*[34]byte)(xq[ib*34:])
		xs, ys := (*[32]byte)(x[2:]), (*[32]byte)(y[2:])
		var s0, s1 int32
		for j := 0; j < 32; j += 2 {
			s0 += int32(int8(xs[j])) * int32(int8(ys[j]))
			s1 += int32(int8(xs[j+1])) * int32(int8(ys[j+1]))
		}
		sumf += float32(float32(s0+s1) * float32(h16(x[0], x[1])*h16(y[0], y[1])))
	}
	return sumf
}

// ---- K-quant dots (ggml_vec_dot_<t>_q8_K_generic) ----
//
// ggml's generic K dots accumulate scale·q8·q into eight int32 lanes by
// position mod 8 and convert each lane to float separately (d·aux32[l] into
// sums[l]); the lanes are kept here so the float rounding is the same.

// q8KBlockBytes is the size of one block_q8_K.
const q8KBlockBytes = 4 + QK_K + QK_K/16*2

// q8KBlock is one block_q8_K: float32 d, 256 int8 quants, 16 int16 sums.
type q8KBlock = [q8KBlockBytes]byte

func q8KD(y *q8KBlock) float32 { return f32(y[0:4]) }

func q8KBsum(y *q8KBlock, j int) int32 {
	return int32(int16(uint16(y[4+QK_K+2*j]) | uint16(y[4+QK_K+2*j+1])<<8))
}

// scaleMinK4 is ggml's get_scale_min_k4: the j-th 6-bit scale and min of
// the 12 packed bytes of a Q4_K/Q5_K block.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// q3KScales unpacks the sixteen 6-bit scales of a Q3_K block (still offset
// by 32), exactly as the kmask shuffle in ggml.
func q3KScales(s []byte) [16]int8 {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	a0 := binary.LittleEndian.Uint32(s[0:])
	a1 := binary.LittleEndian.Uint32(s[4:])
	tmp := binary.LittleEndian.Uint32(s[8:])
	aux := [4]uint32{
		a0&kmask2 | ((tmp>>0)&kmask1)<<4,
		a1&kmask2 | ((tmp>>2)&kmask1)<<4,
		(a0>>4)&kmask2 | ((tmp>>4)&kmask1)<<4,
		(a1>>4)&kmask2 | ((tmp>>6)&kmask1)<<4,
	}
	var out [16]int8
	for i, v := range aux {
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = int8(v), int8(v>>8), int8(v>>16), int8(v>>24)
	}
	return out
}

// addLanes adds d·aux[l] to sums[l], each product rounded to float32.
func addLanes(sums *[8]float32, d float32, aux *[8]int32) {
	for l := range 8 {
		sums[l] += float32(d * float32(aux[l]))
	}
}

func sumLanes(sumf float32, sums *[8]float32) float32 {
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// dotQ2_KQ8_KGo follows the float accumulation of ggml's x86 AVX2
// ggml_vec_dot_q2_K_q8_K (see dotQ4_1Q8_1Go for why): eight float lanes,
// per super-block first the mins (lane l: bsums 2l and 2l+1 times their
// mins, scaled by -d·dmin) then the quants (lane l: bytes 4l..4l+3 of each
// 32-value group, scaled by d), both fused multiply-adds, then the AVX
// horizontal sum.
func dotQ2_KQ8_KGo(w, xq []byte, nb int) float32 {
	var acc [8]float32
	for i := 0; i < nb; i++ {
		x := (*[84]byte)(w[i*84:])
		y := (*q8KBlock)(xq[i*q8KBlockBytes:])
		sc := (*[16]byte)(x[0:])
		yd := q8KD(y)
		d := float32(yd * h16(x[80], x[81]))
		dmin := -float32(yd * h16(x[82], x[83]))
		for l := range 8 {
			prod := q8KBsum(y, 2*l)*int32(sc[2*l]>>4) + q8KBsum(y, 2*l+1)*int32(sc[2*l+1]>>4)
			acc[l] = fma32(dmin, float32(prod), acc[l])
		}
		var sumi [8]int32
		for j := range 2 {
			q2 := (*[32]byte)(x[16+32*j:])
			for k := range 4 {
				shift := uint(2 * k)
				q8 := (*[32]byte)(y[4+128*j+32*k:])
				s0, s1 := int32(sc[8*j+2*k]&0xf), int32(sc[8*j+2*k+1]&0xf)
				for l := range 4 {
					var a, b int32 // lanes l (bytes 0..15) and l+4 (bytes 16..31)
					for m := 4 * l; m < 4*l+4; m++ {
						a += int32(q2[m]>>shift&3) * int32(int8(q8[m]))
						b += int32(q2[m+16]>>shift&3) * int32(int8(q8[m+16]))
					}
					sumi[l] += s0 * a
					sumi[l+4] += s1 * b
				}
			}
		}
		for l := range 8 {
			acc[l] = fma32(d, float32(sumi[l]), acc[l])
		}
	}
	return hsum8(&acc)
}

// hsum8 is ggml's hsum_float_8: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
func hsum8(a *[8]float32) float32 {
	r0, r1, r2, r3 := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
	return (r0 + r2) + (r1 + r3)
}

// fma32 is a float32 fused multiply-add, a*b+c rounded once (VFMADD*PS).
// The product is exact in float64; the sum is rounded to float64, with the
// TwoSum error used to settle the one case where rounding that to float32
// could go the wrong way (a float64 result exactly halfway between two
// float32 values). Results in the float32 subnormal range are not needed
// here and may differ in the last bit.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	if u := math.Float64bits(s); e != 0 && u&(1<<29-1) == 1<<28 {
		if (e > 0) == (s > 0) {
			u++
		} else {
			u--
		}
		s = math.Float64frombits(u)
	}
	return float32(s)
}

func dotQ3_KQ8_KGo(w, xq []byte, nb int) float32 {
	var sums [8]float32
	for i := 0; i < nb; i++ {
		x := (*[110]byte)(w[i*110:])
		y := (*q8KBlock)(xq[i*q8KBlockBytes:])
		hm := (*[32]byte)(x[0:])
		scales := q3KScales(x[96:108])
		var aux [8]int32
		for n := range 2 {
			q := (*[32]byte)(x[32+32*n:])
			for s := range 4 {
				shift, hbit := uint(2*s), uint(4*n+s)
				yb := (*[32]byte)(y[4+128*n+32*s:])
				for l := 0; l < 32; l += 8 {
					sc := int32(scales[8*n+2*s+l/16]) - 32
					q8, qq, hh := (*[8]byte)(yb[l:]), (*[8]byte)(q[l:]), (*[8]byte)(hm[l:])
					for k := range 8 {
						v := int32(qq[k]>>shift&3) - int32((hh[k]>>hbit&1)^1)<<2
						aux[k] += sc * v * int32(int8(q8[k]))
					}
				}
			}
		}
		addLanes(&sums, float32(h16(x[108], x[109])*q8KD(y)), &aux)
	}
	return sumLanes(0, &sums)
}

// dotQ45K is the shared body of the Q4_K and Q5_K dots; high reports
// whether the block carries a fifth bit plane (Q5_K).
func dotQ45K(w, xq []byte, nb int, high bool) float32 {
	bb, qsOff := 144, 16
	if high {
		bb, qsOff = 176, 48
	}
	var sums [8]float32
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*bb : i*bb+bb]
		y := (*q8KBlock)(xq[i*q8KBlockBytes:])
		packed := x[4:16]
		var scales, mins [8]int32
		for j := range 8 {
			s, m := scaleMinK4(j, packed)
			scales[j], mins[j] = int32(s), int32(m)
		}
		var sumi int32
		for j := range 16 {
			sumi += q8KBsum(y, j) * mins[j/2]
		}
		var qh *[32]byte
		if high {
			qh = (*[32]byte)(x[16:48])
		}
		var aux [8]int32
		for j := range 4 {
			q := (*[32]byte)(x[qsOff+32*j:])
			lo, hi := (*[32]byte)(y[4+64*j:]), (*[32]byte)(y[4+64*j+32:])
			s1, s2 := scales[2*j], scales[2*j+1]
			for l := 0; l < 32; l += 8 {
				qq, a, b := (*[8]byte)(q[l:]), (*[8]byte)(lo[l:]), (*[8]byte)(hi[l:])
				if high {
					hh := (*[8]byte)(qh[l:])
					b0, b1 := uint(2*j), uint(2*j+1)
					for k := range 8 {
						v0 := int32(qq[k]&0xf) | int32(hh[k]>>b0&1)<<4
						v1 := int32(qq[k]>>4) | int32(hh[k]>>b1&1)<<4
						aux[k] += s1*v0*int32(int8(a[k])) + s2*v1*int32(int8(b[k]))
					}
					continue
				}
				for k := range 8 {
					aux[k] += s1*int32(qq[k]&0xf)*int32(int8(a[k])) + s2*int32(qq[k]>>4)*int32(int8(b[k]))
				}
			}
		}
		yd := q8KD(y)
		addLanes(&sums, float32(h16(x[0], x[1])*yd), &aux)
		sumf -= float32(float32(h16(x[2], x[3])*yd) * float32(sumi))
	}
	return sumLanes(sumf, &sums)
}

func dotQ4_KQ8_KGo(w, xq []byte, nb int) float32 { return dotQ45K(w, xq, nb, false) }

func dotQ5_KQ8_KGo(w, xq []byte, nb int) float32 { return dotQ45K(w, xq, nb, true) }

func dotQ6_KQ8_KGo(w, xq []byte, nb int) float32 {
	var sums [8]float32
	for i := 0; i < nb; i++ {
		x := (*[210]byte)(w[i*210:])
		y := (*q8KBlock)(xq[i*q8KBlockBytes:])
		var aux [8]int32
		for h := range 2 {
			ql := (*[64]byte)(x[64*h:])
			qh := (*[32]byte)(x[128+32*h:])
			sc := (*[8]byte)(x[192+8*h:])
			yb := (*[128]byte)(y[4+128*h:])
			for l := 0; l < 32; l += 8 {
				is := l / 16
				s0, s1 := int32(int8(sc[is])), int32(int8(sc[is+2]))
				s2, s3 := int32(int8(sc[is+4])), int32(int8(sc[is+6]))
				lA, lB, hh := (*[8]byte)(ql[l:]), (*[8]byte)(ql[l+32:]), (*[8]byte)(qh[l:])
				y0, y1 := (*[8]byte)(yb[l:]), (*[8]byte)(yb[l+32:])
				y2, y3 := (*[8]byte)(yb[l+64:]), (*[8]byte)(yb[l+96:])
				for k := range 8 {
					q1 := int32(lA[k]&0xf|(hh[k]&3)<<4) - 32
					q2 := int32(lB[k]&0xf|(hh[k]>>2&3)<<4) - 32
					q3 := int32(lA[k]>>4|(hh[k]>>4&3)<<4) - 32
					q4 := int32(lB[k]>>4|(hh[k]>>6&3)<<4) - 32
					aux[k] += s0*q1*int32(int8(y0[k])) + s1*q2*int32(int8(y1[k])) +
						s2*q3*int32(int8(y2[k])) + s3*q4*int32(int8(y3[k]))
				}
			}
		}
		addLanes(&sums, float32(h16(x[208], x[209])*q8KD(y)), &aux)
	}
	return sumLanes(0, &sums)
}
