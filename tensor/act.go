package tensor

import (
	"math"
	"unsafe"
)

// Element-wise activation kernels of the engine's FFN and its numerical
// checks. The avx2 set runs them in assembly (act_amd64.s); the go set keeps
// the float64 math.Exp reference.

// siluMulVec, when set (amd64 with AVX2), computes g[i] = silu(g[i])·u[i]
// for len(g) a multiple of 8; allFiniteVec reports whether x holds no NaN
// or ±Inf for len(x) a multiple of 32.
var (
	siluMulVec   func(g, u []float32)
	allFiniteVec func(x []float32) bool
)

// SiluMul sets g[i] = silu(g[i])·u[i] = g[i]/(1+e^-g[i])·u[i] (SwiGLU);
// u must be at least as long as g. The avx2 set evaluates e^-x with a
// single-precision Cephes-style exponential (within ~2 ulp of the float64
// one) for every element, a partial vector included, so the bits of each
// g[i] do not depend on how g is split into calls; the go set uses
// math.Exp.
func SiluMul(g, u []float32) {
	u = u[:len(g)]
	settle()
	if siluMulVec == nil || active == &goKernels {
		for i, v := range g {
			g[i] = v / (1 + float32(math.Exp(float64(-v)))) * u[i]
		}
		return
	}
	n := len(g) &^ 7
	if n > 0 {
		siluMulVec(g[:n], u[:n])
	}
	if n < len(g) {
		// The last 1-7 values through the same vector code.
		var gb, ub [8]float32
		copy(gb[:], g[n:])
		copy(ub[:], u[n:])
		siluMulVec(gb[:], ub[:])
		copy(g[n:], gb[:])
	}
}

// AllFinite reports whether x holds no NaN and no ±Inf.
func AllFinite(x []float32) bool {
	settle()
	if allFiniteVec != nil && active != &goKernels {
		n := len(x) &^ 31
		if n > 0 && !allFiniteVec(x[:n]) {
			return false
		}
		x = x[n:]
	}
	return allFiniteGo(x)
}

// allFiniteGo tests the exponent bits of every value (all ones: NaN or Inf),
// four at a time without a branch per value.
func allFiniteGo(x []float32) bool {
	const exp = 0x7f800000
	if len(x) == 0 {
		return true
	}
	b := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
	var m0, m1, m2, m3 uint32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		m0 = max(m0, b[i]&exp)
		m1 = max(m1, b[i+1]&exp)
		m2 = max(m2, b[i+2]&exp)
		m3 = max(m3, b[i+3]&exp)
	}
	for ; i < len(b); i++ {
		m0 = max(m0, b[i]&exp)
	}
	return max(m0, m1, m2, m3) != exp
}
