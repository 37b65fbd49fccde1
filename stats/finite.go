package stats

import "os"

// lanes holds computeFinite's accumulators over a prefix of the values
// whose length is a multiple of 4: value i adds to lane i%4 of s (x-K)
// and q ((x-K)²), in order, so the assembly (four float64 lanes of one
// vector register) and the Go loop round alike and agree bit for bit.
type lanes struct {
	s, q   [4]float64
	lo, hi float32 // running min and max; seeded with the first value
	zero   int
}

// useAVX2 selects the kernels of Compute's all-finite path: the AVX2
// assembly where the CPU has it (finite_amd64.go), unless
// INFERTRACE_KERNELS=go, else the Go loops below. Both kinds give the same
// bits (finite_test.go pins it). Direct calls, not function values: those
// would make the accumulators escape (an allocation per Compute).
var useAVX2 = false

// finiteLanes accumulates xs (len a multiple of 4) into l.
func finiteLanes(xs []float32, k float64, l *lanes) {
	if useAVX2 {
		finiteLanesAVX2(xs, k, l)
		return
	}
	finiteLanesGo(xs, k, l)
}

// histCounts bins xs (len a multiple of 4, all finite) into c.
func histCounts(xs []float32, lo, scale float64, c *[4][HistBins]int32) {
	if useAVX2 {
		histCountsAVX2(xs, lo, scale, c)
		return
	}
	histCountsGo(xs, lo, scale, c)
}

// useGoKernels reports whether INFERTRACE_KERNELS=go asks for the pure-Go
// kernels (the switch the tensor package honours too).
func useGoKernels() bool { return os.Getenv("INFERTRACE_KERNELS") == "go" }

// finiteLanesGo accumulates xs (len a multiple of 4) into l.
func finiteLanesGo(xs []float32, k float64, l *lanes) {
	s0, s1, s2, s3 := l.s[0], l.s[1], l.s[2], l.s[3]
	q0, q1, q2, q3 := l.q[0], l.q[1], l.q[2], l.q[3]
	lo, hi, zero := l.lo, l.hi, l.zero
	for ; len(xs) >= 4; xs = xs[4:] {
		v := xs[:4:4]
		a, b, c, d := v[0], v[1], v[2], v[3]
		// Plain comparisons: the builtin min/max handle NaN and ±0 and
		// cost more than the rest of the loop; new extremes are rare, so
		// the branches predict well.
		if a < lo {
			lo = a
		}
		if b < lo {
			lo = b
		}
		if c < lo {
			lo = c
		}
		if d < lo {
			lo = d
		}
		if a > hi {
			hi = a
		}
		if b > hi {
			hi = b
		}
		if c > hi {
			hi = c
		}
		if d > hi {
			hi = d
		}
		if a == 0 || b == 0 || c == 0 || d == 0 {
			zero += b2i(a == 0) + b2i(b == 0) + b2i(c == 0) + b2i(d == 0)
		}
		fa, fb, fc, fd := float64(a)-k, float64(b)-k, float64(c)-k, float64(d)-k
		s0, s1, s2, s3 = s0+fa, s1+fb, s2+fc, s3+fd
		// The conversions forbid fusing into an FMA (the assembly
		// rounds the product too).
		q0, q1, q2, q3 = q0+float64(fa*fa), q1+float64(fb*fb), q2+float64(fc*fc), q3+float64(fd*fd)
	}
	l.s = [4]float64{s0, s1, s2, s3}
	l.q = [4]float64{q0, q1, q2, q3}
	l.lo, l.hi, l.zero = lo, hi, zero
}

// histCountsGo bins xs (len a multiple of 4, all finite) into the four
// sets of counters c: value i into set i%4, bin
// min(int((x-lo)*scale), HistBins-1).
func histCountsGo(xs []float32, lo, scale float64, c *[4][HistBins]int32) {
	for ; len(xs) >= 4; xs = xs[4:] {
		q := xs[:4:4]
		b0 := min(uint(int((float64(q[0])-lo)*scale)), HistBins-1)
		b1 := min(uint(int((float64(q[1])-lo)*scale)), HistBins-1)
		b2 := min(uint(int((float64(q[2])-lo)*scale)), HistBins-1)
		b3 := min(uint(int((float64(q[3])-lo)*scale)), HistBins-1)
		c[0][b0]++
		c[1][b1]++
		c[2][b2]++
		c[3][b3]++
	}
}

// firstGreater returns the index of the first value of xs greater than t
// (NaN never is), or len(xs).
func firstGreater(xs []float32, t float32) int {
	i := 0
	if useAVX2 {
		i = firstGreaterAVX2(xs[:len(xs)&^7], t)
		if i < len(xs)&^7 {
			return i
		}
	}
	for ; i < len(xs) && !(xs[i] > t); i++ {
	}
	return i
}

// firstZero returns the first value of xs equal to zero (+0 or -0), or 0.
// A minimum or maximum of zero takes the sign of the first zero, as the
// in-order comparisons of finiteLanesGo keep it; the assembly's vector
// min/max may pick either sign.
func firstZero(xs []float32) float32 {
	for _, v := range xs {
		if v == 0 {
			return v
		}
	}
	return 0
}

// avx2Available reports whether the CPU can run the AVX2 kernels (whether
// or not INFERTRACE_KERNELS=go switched them off).
func avx2Available() bool { return hasAVX2 }
