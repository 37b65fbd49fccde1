package tensor_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infertrace/infertrace/tensor"
	"github.com/x448/float16"
)

func gaussian(rng *rand.Rand, n int, sigma float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sigma)
	}
	return x
}

func roundTrip(t *testing.T, ty tensor.Type, x []float32) []float32 {
	t.Helper()
	nb, err := tensor.RowBytes(ty, len(x))
	if err != nil {
		t.Fatal(err)
	}
	q := make([]byte, nb)
	if err := tensor.QuantizeRow(ty, x, q); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(x))
	if err := tensor.DequantizeRow(ty, q, y); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestQuantizeRoundTripError bounds the error of dequant(quant(x)): per
// value, a fraction of the block's grid step (steps: amax/127 for the 8-bit
// types, amax/8 and amax/16 for the symmetric 4/5-bit types, range/15 and
// range/31 for the asymmetric ones); and overall, a relative RMS error.
func TestQuantizeRoundTripError(t *testing.T) {
	tests := []struct {
		typ     tensor.Type
		step    func(block []float32) float64 // grid step of one block
		perStep float64                       // max |error| / step
		relRMS  float64
	}{
		{tensor.F32, func([]float32) float64 { return 0 }, 0, 1e-12},
		{tensor.F16, func([]float32) float64 { return 0 }, 0, 1e-3},
		{tensor.BF16, func([]float32) float64 { return 0 }, 0, 5e-3},
		// Rounding gives half a step; fp16 rounding of the scale adds at most
		// 128 × 2^-11 of a step for the largest quant.
		{tensor.Q8_0, absStep(127), 0.5 + 128.0/2048, 0.01},
		{tensor.Q8_1, absStep(127), 0.5 + 128.0/2048, 0.01},
		// Q8_K keeps a float32 scale.
		{tensor.Q8_K, absStep(127), 0.5 + 1e-5, 0.01},
		// The value opposite the block maximum can be clamped a whole step.
		{tensor.Q4_0, absStep(8), 1 + 16.0/2048, 0.12},
		{tensor.Q5_0, absStep(16), 1 + 32.0/2048, 0.06},
		// Asymmetric: half a step, plus fp16 rounding of d (×31) and of min.
		{tensor.Q4_1, rangeStep(15), 0.5 + 16.0/2048 + 0.01, 0.12},
		{tensor.Q5_1, rangeStep(31), 0.5 + 32.0/2048 + 0.02, 0.06},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		t.Run(tc.typ.String(), func(t *testing.T) {
			x := gaussian(rng, 16*tensor.QK_K, 0.05)
			x[5] = 0 // zeros and a zero block must survive
			for i := 512; i < 512+256; i++ {
				x[i] = 0
			}
			y := roundTrip(t, tc.typ, x)
			ti, _ := tc.typ.Info()
			var se, ss float64
			for b := 0; b < len(x); b += ti.BlockSize {
				xb, yb := x[b:b+ti.BlockSize], y[b:b+ti.BlockSize]
				bound := tc.perStep * tc.step(xb)
				for i := range xb {
					e := math.Abs(float64(yb[i]) - float64(xb[i]))
					if tc.perStep > 0 && e > bound*(1+1e-6)+1e-12 {
						t.Fatalf("value %d: %g → %g, |error| %g > %g", b+i, xb[i], yb[i], e, bound)
					}
					se += e * e
					ss += float64(xb[i]) * float64(xb[i])
				}
			}
			rel := math.Sqrt(se / ss)
			t.Logf("%s: relative RMS error %.5f%%", tc.typ, 100*rel)
			if rel > tc.relRMS {
				t.Errorf("relative RMS error %g > %g", rel, tc.relRMS)
			}
			for i := 512; i < 512+256; i++ {
				if y[i] != 0 {
					t.Fatalf("zero block decoded to %g at %d", y[i], i)
				}
			}
		})
	}
}

func absStep(levels float64) func([]float32) float64 {
	return func(b []float32) float64 {
		var a float64
		for _, v := range b {
			a = math.Max(a, math.Abs(float64(v)))
		}
		return a / levels
	}
}

func rangeStep(levels float64) func([]float32) float64 {
	return func(b []float32) float64 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range b {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
		// The min is stored as fp16: its rounding (at most |min|·2^-11) is
		// folded into the step so that one bound covers it.
		return (hi-lo)/levels + math.Abs(lo)/1024
	}
}

// TestQuantizeOnGridIsExact: values already on a block's grid (q × d with d
// a half-precision number and the block extreme at the grid end) decode
// back exactly.
func TestQuantizeOnGridIsExact(t *testing.T) {
	tests := []struct {
		typ      tensor.Type
		lo, hi   int // quant range
		extreme  int // the value that fixes d (largest magnitude)
		floatTyp bool
	}{
		{typ: tensor.Q8_0, lo: -127, hi: 127, extreme: 127},
		{typ: tensor.Q8_1, lo: -127, hi: 127, extreme: -127},
		{typ: tensor.Q4_0, lo: -8, hi: 7, extreme: -8},
		{typ: tensor.Q5_0, lo: -16, hi: 15, extreme: -16},
		{typ: tensor.F16, floatTyp: true},
		{typ: tensor.BF16, floatTyp: true},
		{typ: tensor.F32, floatTyp: true},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range tests {
		t.Run(tc.typ.String(), func(t *testing.T) {
			x := make([]float32, 32*64)
			for b := 0; b < len(x); b += 32 {
				// A random positive normal half as the block scale.
				d := float16.Frombits(uint16(0x1000 + rng.IntN(0x3000))).Float32()
				for i := b; i < b+32; i++ {
					if tc.floatTyp {
						// Values representable in the narrowest float type.
						x[i] = float16.Frombits(uint16(rng.IntN(0x7c00))).Float32()
						if tc.typ == tensor.BF16 {
							x[i] = math.Float32frombits(uint32(rng.Uint32()&0x7f7f) << 16)
						}
						continue
					}
					x[i] = float32(tc.lo+rng.IntN(tc.hi-tc.lo+1)) * d
				}
				if !tc.floatTyp {
					x[b+rng.IntN(32)] = float32(tc.extreme) * d
				}
			}
			y := roundTrip(t, tc.typ, x)
			for i := range x {
				if x[i] != y[i] {
					t.Fatalf("value %d: %g decoded as %g", i, x[i], y[i])
				}
			}
		})
	}
}

// TestQuantizeQ8Sums checks the derived fields of the activation types:
// Q8_1's s = d × Σq and Q8_K's sixteen int16 block sums.
func TestQuantizeQ8Sums(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := gaussian(rng, 4*tensor.QK_K, 1)
	q1 := make([]byte, 36*len(x)/32)
	if err := tensor.QuantizeRow(tensor.Q8_1, x, q1); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < len(q1); b += 36 {
		// ggml scales the sum by the unrounded float32 d = amax/127.
		var amax float32
		for _, v := range x[b/36*32 : b/36*32+32] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		s := float16.Frombits(uint16(q1[b+2]) | uint16(q1[b+3])<<8).Float32()
		var sum int
		for _, v := range q1[b+4 : b+36] {
			sum += int(int8(v))
		}
		if want := float16.Fromfloat32(float32(sum) * d).Float32(); s != want {
			t.Fatalf("block %d: s %g, want fp16(%d × %g) = %g", b/36, s, sum, d, want)
		}
	}
	const bb = 4 + 256 + 32
	qk := make([]byte, bb*len(x)/256)
	if err := tensor.QuantizeRow(tensor.Q8_K, x, qk); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < len(qk); b += bb {
		for j := 0; j < 16; j++ {
			var sum int
			for _, v := range qk[b+4+16*j : b+4+16*j+16] {
				sum += int(int8(v))
			}
			got := int(int16(uint16(qk[b+4+256+2*j]) | uint16(qk[b+4+256+2*j+1])<<8))
			if got != sum {
				t.Fatalf("block %d sum %d: %d, want %d", b/bb, j, got, sum)
			}
		}
	}
}

func TestQuantizeRowErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  tensor.Type
		n    int
		dst  int
	}{
		{"K weight type", tensor.Q4_K, 256, 144},
		{"unknown type", 42, 32, 1000},
		{"partial block", tensor.Q8_0, 31, 34},
		{"short dst", tensor.Q4_0, 64, 35},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tensor.QuantizeRow(tc.typ, make([]float32, tc.n), make([]byte, tc.dst)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestRandomBlocks: every type's random blocks decode to finite values of
// weight-like magnitude, not all equal.
func TestRandomBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ty := range tensor.Types() {
		t.Run(ty.String(), func(t *testing.T) {
			ti, _ := ty.Info()
			const nb = 64
			b := tensor.RandomBlocks(ty, nb, rng)
			if len(b) != nb*ti.BlockBytes {
				t.Fatalf("%d bytes, want %d", len(b), nb*ti.BlockBytes)
			}
			y := make([]float32, nb*ti.BlockSize)
			if err := tensor.DequantizeRow(ty, b, y); err != nil {
				t.Fatal(err)
			}
			var amax, ss float64
			for _, v := range y {
				f := float64(v)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					t.Fatalf("non-finite value %g", f)
				}
				amax = math.Max(amax, math.Abs(f))
				ss += f * f
			}
			rms := math.Sqrt(ss / float64(len(y)))
			t.Logf("%s: rms %.4f, max |v| %.4f", ty, rms, amax)
			if amax > 1 || rms < 0.005 {
				t.Errorf("rms %g, max |v| %g: not weight-like", rms, amax)
			}
		})
	}
}
