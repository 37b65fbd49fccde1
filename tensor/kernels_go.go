package tensor

import (
	"encoding/binary"
	"math"
)

// The pure-Go kernels. The float dots keep four float32 accumulators (a
// fixed order, so every call with the same inputs gives the same bits); the
// quantized dots follow the generic C of ggml-cpu/quants.c operation for
// operation, with explicit float32 conversions so the compiler can never
// fuse a multiply-add and change the rounding.

func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float32(a[i] * b[i])
		s1 += float32(a[i+1] * b[i+1])
		s2 += float32(a[i+2] * b[i+2])
		s3 += float32(a[i+3] * b[i+3])
	}
	for ; i < len(a); i++ {
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
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float32(fp16(w[2*i:]) * x[i])
		s1 += float32(fp16(w[2*i+2:]) * x[i+1])
		s2 += float32(fp16(w[2*i+4:]) * x[i+2])
		s3 += float32(fp16(w[2*i+6:]) * x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float32(fp16(w[2*i:]) * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBF16Go(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float32(bf16(w[2*i:]) * x[i])
		s1 += float32(bf16(w[2*i+2:]) * x[i+1])
		s2 += float32(bf16(w[2*i+4:]) * x[i+2])
		s3 += float32(bf16(w[2*i+6:]) * x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float32(bf16(w[2*i:]) * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

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

func dotQ4_0Q8_0Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := w[ib*18 : ib*18+18]
		y := xq[ib*34 : ib*34+34]
		qs, yq := x[2:18], y[2:34]
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			s0 += (int32(qs[j]&0x0f) - 8) * int32(int8(yq[j]))
			s1 += (int32(qs[j]>>4) - 8) * int32(int8(yq[j+16]))
		}
		sumf += float32(float32(float32(s0+s1)*fp16(x)) * fp16(y))
	}
	return sumf
}

func dotQ4_1Q8_1Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := w[ib*20 : ib*20+20]
		y := xq[ib*36 : ib*36+36]
		qs, yq := x[4:20], y[4:36]
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			s0 += int32(qs[j]&0x0f) * int32(int8(yq[j]))
			s1 += int32(qs[j]>>4) * int32(int8(yq[j+16]))
		}
		a := float32(float32(fp16(x)*fp16(y)) * float32(s0+s1))
		sumf += float32(a + float32(fp16(x[2:])*fp16(y[2:])))
	}
	return sumf
}

func dotQ5_0Q8_0Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := w[ib*22 : ib*22+22]
		y := xq[ib*34 : ib*34+34]
		qh := binary.LittleEndian.Uint32(x[2:])
		qs, yq := x[6:22], y[2:34]
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			h0 := int32((qh>>uint(j))&1) << 4
			h1 := int32((qh>>uint(j+16))&1) << 4
			s0 += (int32(qs[j]&0x0f) | h0 - 16) * int32(int8(yq[j]))
			s1 += (int32(qs[j]>>4) | h1 - 16) * int32(int8(yq[j+16]))
		}
		sumf += float32(float32(fp16(x)*fp16(y)) * float32(s0+s1))
	}
	return sumf
}

func dotQ5_1Q8_1Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := w[ib*24 : ib*24+24]
		y := xq[ib*36 : ib*36+36]
		qh := binary.LittleEndian.Uint32(x[4:])
		qs, yq := x[8:24], y[4:36]
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			h0 := int32((qh>>uint(j))&1) << 4
			h1 := int32((qh>>uint(j+16))&1) << 4
			s0 += (int32(qs[j]&0x0f) | h0) * int32(int8(yq[j]))
			s1 += (int32(qs[j]>>4) | h1) * int32(int8(yq[j+16]))
		}
		a := float32(float32(fp16(x)*fp16(y)) * float32(s0+s1))
		sumf += float32(a + float32(fp16(x[2:])*fp16(y[2:])))
	}
	return sumf
}

func dotQ8_0Q8_0Go(w, xq []byte, nb int) float32 {
	var sumf float32
	for ib := 0; ib < nb; ib++ {
		x := w[ib*34 : ib*34+34]
		y := xq[ib*34 : ib*34+34]
		xs, ys := x[2:34], y[2:34]
		var s int32
		for j := range 32 {
			s += int32(int8(xs[j])) * int32(int8(ys[j]))
		}
		sumf += float32(float32(s) * float32(fp16(x)*fp16(y)))
	}
	return sumf
}

// ---- K-quant dots (ggml_vec_dot_<t>_q8_K_generic) ----

// q8KBlockBytes is the size of one block_q8_K.
const q8KBlockBytes = 4 + QK_K + QK_K/16*2

// q8K splits one block_q8_K into its scale, quants and 16 block sums.
func q8K(y []byte) (d float32, qs []byte, bsum func(j int) int32) {
	d = f32(y)
	qs = y[4 : 4+QK_K]
	bs := y[4+QK_K : q8KBlockBytes]
	return d, qs, func(j int) int32 { return int32(int16(binary.LittleEndian.Uint16(bs[2*j:]))) }
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

// laneSums accumulates scale(p)*q8[p]*a[p] into eight lanes by p mod 8, the
// aux32 array of ggml's generic K dots; group is the number of values that
// share one scale.
func laneSums(a *[QK_K]int8, q8 []byte, scale func(g int) int32, group int) [8]int32 {
	var aux [8]int32
	q8 = q8[:QK_K]
	for p := 0; p < QK_K; p += 8 {
		s := scale(p / group)
		for l := 0; l < 8; l++ {
			aux[l] += s * int32(int16(int32(int8(q8[p+l]))*int32(a[p+l])))
		}
	}
	return aux
}

func dotQ2_KQ8_KGo(w, xq []byte, nb int) float32 {
	const bb = 84
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*bb : i*bb+bb]
		yd, q8, bsum := q8K(xq[i*q8KBlockBytes:])
		sc, q2 := x[0:16], x[16:80]
		var summs int32
		for j := 0; j < 16; j++ {
			summs += bsum(j) * int32(sc[j]>>4)
		}
		dall := float32(yd * fp16(x[80:]))
		dmin := float32(yd * fp16(x[82:]))
		var isum int32
		is := 0
		for k := 0; k < QK_K/128; k++ {
			shift := uint(0)
			for j := 0; j < 4; j++ {
				d := int32(sc[is] & 0xf)
				is++
				var isuml int32
				for l := 0; l < 16; l++ {
					isuml += int32(int8(q8[l])) * int32((q2[l]>>shift)&3)
				}
				isum += d * isuml
				d = int32(sc[is] & 0xf)
				is++
				isuml = 0
				for l := 16; l < 32; l++ {
					isuml += int32(int8(q8[l])) * int32((q2[l]>>shift)&3)
				}
				isum += d * isuml
				shift += 2
				q8 = q8[32:]
			}
			q2 = q2[32:]
		}
		sumf += float32(float32(dall*float32(isum)) - float32(dmin*float32(summs)))
	}
	return sumf
}

func dotQ3_KQ8_KGo(w, xq []byte, nb int) float32 {
	const bb = 110
	var sums [8]float32
	var a [QK_K]int8
	for i := 0; i < nb; i++ {
		x := w[i*bb : i*bb+bb]
		yd, q8, _ := q8K(xq[i*q8KBlockBytes:])
		hm, q3 := x[0:32], x[32:96]
		m := uint8(1)
		for j := 0; j < QK_K; j += 128 {
			for s := 0; s < 4; s++ {
				for l := 0; l < 32; l++ {
					v := int8((q3[l] >> (2 * uint(s))) & 3)
					if hm[l]&m == 0 {
						v -= 4
					}
					a[j+32*s+l] = v
				}
				m <<= 1
			}
			q3 = q3[32:]
		}
		scales := q3KScales(x[96:108])
		aux := laneSums(&a, q8, func(g int) int32 { return int32(scales[g]) - 32 }, 16)
		d := float32(fp16(x[108:]) * yd)
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
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
	var a [QK_K]int8
	for i := 0; i < nb; i++ {
		x := w[i*bb : i*bb+bb]
		yd, q8, bsum := q8K(xq[i*q8KBlockBytes:])
		q4 := x[qsOff : qsOff+128]
		for j := 0; j < QK_K/64; j++ {
			for l := 0; l < 32; l++ {
				a[64*j+l] = int8(q4[32*j+l] & 0xf)
				a[64*j+32+l] = int8(q4[32*j+l] >> 4)
			}
		}
		if high {
			hm := x[16:48]
			m := uint8(1)
			for k := 0; k < QK_K/32; k++ {
				for l := 0; l < 32; l++ {
					if hm[l]&m != 0 {
						a[32*k+l] += 16
					}
				}
				m <<= 1
			}
		}
		var scales, mins [8]int32
		for j := range 8 {
			s, m := scaleMinK4(j, x[4:16])
			scales[j], mins[j] = int32(s), int32(m)
		}
		var sumi int32
		for j := 0; j < QK_K/16; j++ {
			sumi += bsum(j) * mins[j/2]
		}
		aux := laneSums(&a, q8, func(g int) int32 { return scales[g] }, 32)
		d := float32(fp16(x) * yd)
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
		dmin := float32(fp16(x[2:]) * yd)
		sumf -= float32(dmin * float32(sumi))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

func dotQ4_KQ8_KGo(w, xq []byte, nb int) float32 { return dotQ45K(w, xq, nb, false) }

func dotQ5_KQ8_KGo(w, xq []byte, nb int) float32 { return dotQ45K(w, xq, nb, true) }

func dotQ6_KQ8_KGo(w, xq []byte, nb int) float32 {
	const bb = 210
	var sums [8]float32
	var a [QK_K]int8
	for i := 0; i < nb; i++ {
		x := w[i*bb : i*bb+bb]
		yd, q8, _ := q8K(xq[i*q8KBlockBytes:])
		ql, qh, sc := x[0:128], x[128:192], x[192:208]
		for j := 0; j < QK_K; j += 128 {
			for l := 0; l < 32; l++ {
				a[j+l] = int8(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
				a[j+l+32] = int8(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				a[j+l+64] = int8(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				a[j+l+96] = int8(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			}
			ql, qh = ql[64:], qh[32:]
		}
		aux := laneSums(&a, q8, func(g int) int32 { return int32(int8(sc[g])) }, 16)
		d := float32(fp16(x[208:]) * yd)
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}
