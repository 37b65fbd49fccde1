package tensor

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// DequantizeRow decodes len(dst) values of type t from src into dst,
// following ggml's dequantize_row_* for every type. len(dst) must be a whole
// number of blocks and src must hold at least those blocks.
func DequantizeRow(t Type, src []byte, dst []float32) error {
	ti, ok := t.Info()
	if !ok {
		return fmt.Errorf("dequantize: unknown tensor type id %d", uint32(t))
	}
	n := len(dst)
	need, err := RowBytes(t, n)
	if err != nil {
		return fmt.Errorf("dequantize: %w", err)
	}
	if len(src) < need {
		return fmt.Errorf("dequantize %d values of %s: need %d bytes, have %d", n, ti.Name, need, len(src))
	}
	dequantizeRow(t, src[:need], dst)
	return nil
}

// dequantizeRow is DequantizeRow without the checks: t is known and src
// holds exactly the blocks of dst.
func dequantizeRow(t Type, src []byte, dst []float32) {
	switch t {
	case F32:
		for i := range dst {
			dst[i] = f32(src[4*i:])
		}
	case F16:
		for i := range dst {
			dst[i] = fp16(src[2*i:])
		}
	case BF16:
		for i := range dst {
			dst[i] = bf16(src[2*i:])
		}
	case Q4_0:
		dequantQ4_0(src, dst)
	case Q4_1:
		dequantQ4_1(src, dst)
	case Q5_0:
		dequantQ5_0(src, dst)
	case Q5_1:
		dequantQ5_1(src, dst)
	case Q8_0:
		for ib := 0; ib < len(dst)/32; ib++ {
			b := src[ib*34:]
			d := fp16(b)
			for j := range 32 {
				dst[ib*32+j] = float32(int8(b[2+j])) * d
			}
		}
	case Q8_1:
		for ib := 0; ib < len(dst)/32; ib++ {
			b := src[ib*36:]
			d := fp16(b)
			for j := range 32 {
				dst[ib*32+j] = float32(int8(b[4+j])) * d
			}
		}
	case Q2_K:
		dequantQ2_K(src, dst)
	case Q3_K:
		dequantQ3_K(src, dst)
	case Q4_K:
		dequantQ45_K(src, dst, false)
	case Q5_K:
		dequantQ45_K(src, dst, true)
	case Q6_K:
		dequantQ6_K(src, dst)
	case Q8_K:
		for ib := 0; ib < len(dst)/QK_K; ib++ {
			b := src[ib*q8KBlockBytes:]
			d := f32(b)
			for j := range QK_K {
				dst[ib*QK_K+j] = d * float32(int8(b[4+j]))
			}
		}
	}
}

// Dequantize decodes the whole tensor to float32.
func Dequantize(t *Tensor) ([]float32, error) {
	ti, ok := t.Type.Info()
	if !ok {
		return nil, fmt.Errorf("tensor %q: unknown type id %d", t.Name, uint32(t.Type))
	}
	n := 1
	for _, d := range t.Dims {
		if d < 0 {
			return nil, fmt.Errorf("tensor %q (%s): negative dimension in %v", t.Name, ti.Name, t.Dims)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > uint64(maxInt) {
			return nil, fmt.Errorf("tensor %q (%s): dims %v overflow the element count", t.Name, ti.Name, t.Dims)
		}
		n = int(lo)
	}
	need, err := RowBytes(t.Type, n)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if len(t.Data) < need {
		return nil, fmt.Errorf("tensor %q (%s, dims %v): data is %d bytes, need %d", t.Name, ti.Name, t.Dims, len(t.Data), need)
	}
	out := make([]float32, n)
	dequantizeRow(t.Type, t.Data[:need], out)
	return out, nil
}

func dequantQ4_0(src []byte, dst []float32) {
	for ib := 0; ib < len(dst)/32; ib++ {
		b := src[ib*18:]
		d := fp16(b)
		y := dst[ib*32 : ib*32+32]
		for j := range 16 {
			y[j] = float32(int32(b[2+j]&0xf)-8) * d
			y[j+16] = float32(int32(b[2+j]>>4)-8) * d
		}
	}
}

func dequantQ4_1(src []byte, dst []float32) {
	for ib := 0; ib < len(dst)/32; ib++ {
		b := src[ib*20:]
		d, m := fp16(b), fp16(b[2:])
		y := dst[ib*32 : ib*32+32]
		for j := range 16 {
			y[j] = float32(float32(b[4+j]&0xf)*d) + m
			y[j+16] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

func dequantQ5_0(src []byte, dst []float32) {
	for ib := 0; ib < len(dst)/32; ib++ {
		b := src[ib*22:]
		d := fp16(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		y := dst[ib*32 : ib*32+32]
		for j := range 16 {
			h0 := int32((qh>>uint(j))<<4) & 0x10
			h1 := int32(qh>>uint(j+12)) & 0x10
			y[j] = float32(int32(b[6+j]&0xf)|h0-16) * d
			y[j+16] = float32(int32(b[6+j]>>4)|h1-16) * d
		}
	}
}

func dequantQ5_1(src []byte, dst []float32) {
	for ib := 0; ib < len(dst)/32; ib++ {
		b := src[ib*24:]
		d, m := fp16(b), fp16(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		y := dst[ib*32 : ib*32+32]
		for j := range 16 {
			h0 := int32((qh>>uint(j))<<4) & 0x10
			h1 := int32(qh>>uint(j+12)) & 0x10
			y[j] = float32(float32(int32(b[8+j]&0xf)|h0)*d) + m
			y[j+16] = float32(float32(int32(b[8+j]>>4)|h1)*d) + m
		}
	}
}

func dequantQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		x := src[i*84 : i*84+84]
		d, mn := fp16(x[80:]), fp16(x[82:])
		sc, q := x[0:16], x[16:80]
		y := dst[i*QK_K : i*QK_K+QK_K]
		is := 0
		for n := 0; n < QK_K; n += 128 {
			shift := uint(0)
			for j := 0; j < 4; j++ {
				for half := 0; half < 2; half++ {
					s := sc[is]
					is++
					dl, ml := d*float32(s&0xf), mn*float32(s>>4)
					for l := 0; l < 16; l++ {
						y[l] = float32(dl*float32((q[16*half+l]>>shift)&3)) - ml
					}
					y = y[16:]
				}
				shift += 2
			}
			q = q[32:]
		}
	}
}

func dequantQ3_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		x := src[i*110 : i*110+110]
		hm, q := x[0:32], x[32:96]
		scales := q3KScales(x[96:108])
		dAll := fp16(x[108:])
		y := dst[i*QK_K : i*QK_K+QK_K]
		is := 0
		m := uint8(1)
		for n := 0; n < QK_K; n += 128 {
			shift := uint(0)
			for j := 0; j < 4; j++ {
				for half := 0; half < 2; half++ {
					dl := dAll * float32(int32(scales[is])-32)
					is++
					for l := 0; l < 16; l++ {
						v := int32((q[16*half+l] >> shift) & 3)
						if hm[16*half+l]&m == 0 {
							v -= 4
						}
						y[l] = dl * float32(v)
					}
					y = y[16:]
				}
				shift += 2
				m <<= 1
			}
			q = q[32:]
		}
	}
}

func dequantQ45_K(src []byte, dst []float32, high bool) {
	bb, qsOff := 144, 16
	if high {
		bb, qsOff = 176, 48
	}
	for i := 0; i < len(dst)/QK_K; i++ {
		x := src[i*bb : i*bb+bb]
		d, mn := fp16(x), fp16(x[2:])
		q := x[qsOff : qsOff+128]
		var qh []byte
		if high {
			qh = x[16:48]
		}
		y := dst[i*QK_K : i*QK_K+QK_K]
		u1, u2 := uint8(1), uint8(2)
		for j, is := 0, 0; j < QK_K; j, is = j+64, is+2 {
			sc, m := scaleMinK4(is, x[4:16])
			d1, m1 := d*float32(sc), mn*float32(m)
			sc, m = scaleMinK4(is+1, x[4:16])
			d2, m2 := d*float32(sc), mn*float32(m)
			for l := 0; l < 32; l++ {
				lo, hi := int32(q[l]&0xf), int32(q[l]>>4)
				if high {
					if qh[l]&u1 != 0 {
						lo += 16
					}
					if qh[l]&u2 != 0 {
						hi += 16
					}
				}
				y[j+l] = float32(d1*float32(lo)) - m1
				y[j+32+l] = float32(d2*float32(hi)) - m2
			}
			q = q[32:]
			u1 <<= 2
			u2 <<= 2
		}
	}
}

func dequantQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		x := src[i*210 : i*210+210]
		d := fp16(x[208:])
		ql, qh, sc := x[0:128], x[128:192], x[192:208]
		y := dst[i*QK_K : i*QK_K+QK_K]
		for n := 0; n < QK_K; n += 128 {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(int8(ql[l]&0xf|((qh[l]>>0)&3)<<4)) - 32
				q2 := int32(int8(ql[l+32]&0xf|((qh[l]>>2)&3)<<4)) - 32
				q3 := int32(int8(ql[l]>>4|((qh[l]>>4)&3)<<4)) - 32
				q4 := int32(int8(ql[l+32]>>4|((qh[l]>>6)&3)<<4)) - 32
				y[n+l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				y[n+l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				y[n+l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				y[n+l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
			ql, qh, sc = ql[64:], qh[32:], sc[8:]
		}
	}
}
