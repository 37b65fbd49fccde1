package tensor

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Straightforward transliterations of ggml's generic C dot products
// (ggml-cpu/quants.c, ggml_vec_dot_<t>_q8_<n>_generic): the oracles the
// optimized pure-Go kernels must match bit for bit. They are themselves
// checked against float64 math in TestQuantizedDots.

// ---- 32-value block dots (ggml_vec_dot_<t>_q8_<n>_generic) ----

func dotQ4_0Q8_0Ref(w, xq []byte, nb int) float32 {
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

func dotQ5_0Q8_0Ref(w, xq []byte, nb int) float32 {
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

func dotQ5_1Q8_1Ref(w, xq []byte, nb int) float32 {
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

func dotQ8_0Q8_0Ref(w, xq []byte, nb int) float32 {
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

func dotQ3_KQ8_KRef(w, xq []byte, nb int) float32 {
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
func dotQ45KRef(w, xq []byte, nb int, high bool) float32 {
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

func dotQ4_KQ8_KRef(w, xq []byte, nb int) float32 { return dotQ45KRef(w, xq, nb, false) }

func dotQ5_KQ8_KRef(w, xq []byte, nb int) float32 { return dotQ45KRef(w, xq, nb, true) }

func dotQ6_KQ8_KRef(w, xq []byte, nb int) float32 {
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

// q8K splits one block_q8_K into its scale, quants and 16 block sums.
func q8K(y []byte) (d float32, qs []byte, bsum func(j int) int32) {
	d = f32(y)
	qs = y[4 : 4+QK_K]
	bs := y[4+QK_K : q8KBlockBytes]
	return d, qs, func(j int) int32 { return int32(int16(binary.LittleEndian.Uint16(bs[2*j:]))) }
}

// TestDotsMatchGGMLTransliteration: the optimized Go dots give the same
// bits as the literal transliterations of ggml's C — the generic versions,
// and for Q4_1 and Q2_K the x86 AVX2 ones — for random valid blocks and
// extreme activations.
func TestDotsMatchGGMLTransliteration(t *testing.T) {
	refs := map[Type]func(w, xq []byte, nb int) float32{
		Q4_0: dotQ4_0Q8_0Ref, Q4_1: dotQ4_1Q8_1AVX2Ref, Q5_0: dotQ5_0Q8_0Ref, Q5_1: dotQ5_1Q8_1Ref,
		Q8_0: dotQ8_0Q8_0Ref, Q2_K: dotQ2_KQ8_KAVX2Ref, Q3_K: dotQ3_KQ8_KRef, Q4_K: dotQ4_KQ8_KRef,
		Q5_K: dotQ5_KQ8_KRef, Q6_K: dotQ6_KQ8_KRef,
	}
	rng := rand.New(rand.NewPCG(41, 42))
	const n = 8 * QK_K
	for _, wt := range Types() {
		ref := refs[wt]
		if ref == nil {
			continue
		}
		t.Run(wt.String(), func(t *testing.T) {
			ti, _ := wt.Info()
			vi, _ := vecDotType(wt).Info()
			for trial := range 50 {
				w := RandomBlocks(wt, n/ti.BlockSize, rng)
				if trial%5 == 4 {
					// Fully random bytes: every bit pattern of quants and
					// scales, fp16 scales clamped finite.
					fillRand(rng, w)
					clampHalves(wt, w)
				}
				x := randVec(rng, n, math.Exp(rng.Float64()*8-4))
				if trial%7 == 3 {
					for i := range x {
						x[i] = float32(1 - 2*float64(i%2)) // ±1: saturated quants
					}
				}
				xq := make([]byte, n/vi.BlockSize*vi.BlockBytes)
				if err := QuantizeRow(vecDotType(wt), x, xq); err != nil {
					t.Fatal(err)
				}
				got := goKernels.dotQ[wt](w, xq, n/ti.BlockSize)
				want := ref(w, xq, n/ti.BlockSize)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("trial %d: %g (%#x), transliteration %g (%#x)", trial, got, math.Float32bits(got), want, math.Float32bits(want))
				}
			}
		})
	}
}

// clampHalves rewrites every fp16 scale of the weight blocks to a finite
// random value so that random bytes stay a valid block.
func clampHalves(t Type, w []byte) {
	ti, _ := t.Info()
	var offs []int
	switch t {
	case Q4_0, Q5_0, Q8_0:
		offs = []int{0}
	case Q4_1, Q5_1, Q4_K, Q5_K:
		offs = []int{0, 2}
	case Q2_K:
		offs = []int{80, 82}
	case Q3_K:
		offs = []int{108}
	case Q6_K:
		offs = []int{208}
	}
	for b := 0; b < len(w); b += ti.BlockBytes {
		for _, o := range offs {
			w[b+o+1] &= 0xbb // exponent well below Inf, any sign
		}
	}
}

// fmaRef is a float32 fused multiply-add computed exactly with math/big
// and rounded once, to nearest even.
func fmaRef(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
	f, _ := x.SetMode(big.ToNearestEven).Float32()
	return f
}

// hsumFloat8Ref is ggml's hsum_float_8, step by step as its intrinsics.
func hsumFloat8Ref(v [8]float32) float32 {
	var res [4]float32
	for i := range 4 { // _mm_add_ps(extractf128(x,1), castps256_ps128(x))
		res[i] = v[i+4] + v[i]
	}
	res[0], res[1] = res[0]+res[2], res[1]+res[3] // _mm_movehl_ps
	return res[0] + res[1]                        // _mm_movehdup_ps, _mm_add_ss
}

// maddubs and madd are _mm256_maddubs_epi16 (unsigned × signed bytes, pairs
// summed with int16 saturation) and _mm256_madd_epi16 (int16 pairs to int32).
func maddubs(u, s [32]byte) [16]int32 {
	var out [16]int32
	for i := range out {
		v := int32(u[2*i])*int32(int8(s[2*i])) + int32(u[2*i+1])*int32(int8(s[2*i+1]))
		out[i] = max(-32768, min(32767, v))
	}
	return out
}

func madd(a, b [16]int32) [8]int32 {
	var out [8]int32
	for i := range out {
		out[i] = a[2*i]*b[2*i] + a[2*i+1]*b[2*i+1]
	}
	return out
}

// dotQ4_1Q8_1AVX2Ref transliterates the x86 AVX2 ggml_vec_dot_q4_1_q8_1.
func dotQ4_1Q8_1AVX2Ref(w, xq []byte, nb int) float32 {
	var acc [8]float32
	var summs float32
	ones := [16]int32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	for ib := 0; ib < nb; ib++ {
		x, y := w[ib*20:], xq[ib*36:]
		summs += fp16(x[2:]) * fp16(y[2:])
		d0d1 := fp16(x) * fp16(y)
		var qx, qy [32]byte // bytes_from_nibbles_32: low nibbles, then high
		for j := range 16 {
			qx[j], qx[j+16] = x[4+j]&0xf, x[4+j]>>4
		}
		copy(qy[:], y[4:36])
		xy := madd(maddubs(qx, qy), ones) // mul_sum_us8_pairs_float
		for l := range 8 {
			acc[l] = fmaRef(d0d1, float32(xy[l]), acc[l])
		}
	}
	return hsumFloat8Ref(acc) + summs
}

// dotQ2_KQ8_KAVX2Ref transliterates the x86 AVX2 ggml_vec_dot_q2_K_q8_K.
func dotQ2_KQ8_KAVX2Ref(w, xq []byte, nb int) float32 {
	var acc [8]float32
	for i := 0; i < nb; i++ {
		x, y := w[i*84:], xq[i*q8KBlockBytes:]
		yd, q8, bsum := q8K(y)
		d := yd * fp16(x[80:])
		dmin := -yd * fp16(x[82:])
		var mins, bs [16]int32
		for j := range 16 {
			mins[j], bs[j] = int32(x[j]>>4), bsum(j)
		}
		prod := madd(mins, bs)
		for l := range 8 {
			acc[l] = fmaRef(dmin, float32(prod[l]), acc[l])
		}
		var sumi [8]int32
		for j := range 2 {
			for k := range 4 {
				var q2v, q8v [32]byte
				for b := range 32 {
					q2v[b] = x[16+32*j+b] >> (2 * k) & 3
					q8v[b] = q8[128*j+32*k+b]
				}
				// get_scale_shuffle_q3k(k): bytes 0..15 take scale 2k of
				// this half, bytes 16..31 scale 2k+1, as int16 pairs.
				var scales [16]int32
				for m := range 16 {
					scales[m] = int32(x[8*j+2*k+m/8] & 0xf)
				}
				p := madd(scales, maddubs(q2v, q8v))
				for l := range 8 {
					sumi[l] += p[l]
				}
			}
		}
		for l := range 8 {
			acc[l] = fmaRef(d, float32(sumi[l]), acc[l])
		}
	}
	return hsumFloat8Ref(acc)
}

// TestFMA32 checks fma32 against math/big on random operands and on sums
// built to fall exactly between two float32 values before the product's
// low bits are added.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	r := func() float32 { return float32(rng.NormFloat64() * math.Exp(rng.Float64()*20-10)) }
	for i := range 200000 {
		a, b, c := r(), r(), r()
		if i%4 == 0 {
			// c = -(a·b rounded to float32) ± half an ulp: the float64 sum
			// lands on or near a float32 midpoint.
			p := float32(float64(a) * float64(b))
			c = -p + float32(math.Ldexp(float64(p), -24))
		}
		if got, want := fma32(a, b, c), fmaRef(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			if math.Abs(float64(want)) < 1e-37 {
				continue // subnormal results are out of fma32's contract
			}
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}
