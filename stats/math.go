package stats

import (
	"math"
	"sort"
)

// Softmax writes the softmax of logits into dst (len(dst) >= len(logits)).
// The maximum is subtracted before exponentiation and the sum is
// accumulated in float64, so large logits do not overflow. Non-finite
// inputs: +Inf logits share the mass equally, -Inf get 0, and any NaN
// makes every output NaN.
func Softmax(dst, logits []float32) {
	dst = dst[:len(logits)]
	if len(logits) == 0 {
		return
	}
	maxv := math.Inf(-1)
	for _, v := range logits {
		f := float64(v)
		if f != f {
			for i := range dst {
				dst[i] = float32(math.NaN())
			}
			return
		}
		if f > maxv {
			maxv = f
		}
	}
	if math.IsInf(maxv, 1) {
		n := 0
		for _, v := range logits {
			if math.IsInf(float64(v), 1) {
				n++
			}
		}
		for i, v := range logits {
			dst[i] = 0
			if math.IsInf(float64(v), 1) {
				dst[i] = float32(1 / float64(n))
			}
		}
		return
	}
	if math.IsInf(maxv, -1) {
		// Every logit is -Inf: no preference, uniform.
		for i := range dst {
			dst[i] = float32(1 / float64(len(dst)))
		}
		return
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - maxv)
	}
	for i, v := range logits {
		dst[i] = float32(math.Exp(float64(v)-maxv) / sum)
	}
}

// TopK returns the indices of the k largest values of xs, largest first,
// ties broken by the lower index. NaNs rank below every number. The result
// reuses dst's storage, so it does not allocate when cap(dst) >= k.
func TopK(xs []float32, k int, dst []int) []int {
	if k > len(xs) {
		k = len(xs)
	}
	if k <= 0 {
		return dst[:0]
	}
	dst = dst[:0]
	// Insertion into a sorted window of size k: O(n*k) worst case, but
	// k is small (top-10 of a vocabulary) and the common case is one
	// comparison per element.
	for i := 0; i < len(xs); i++ {
		v := xs[i]
		if len(dst) == k {
			// Once the window is full, skip what cannot enter it with a
			// plain comparison against its last value when that is a
			// number: a later index loses a tie, and NaN compares false
			// (what greater says in both cases). A traced step ranks the
			// whole vocabulary this way.
			if last := xs[dst[k-1]]; last == last {
				i += firstGreater(xs[i:], last)
				if i == len(xs) {
					break
				}
				v = xs[i]
			} else if !greater(v, i, last, dst[k-1]) {
				continue
			}
		}
		if len(dst) < k {
			dst = append(dst, i)
		} else {
			dst[k-1] = i
		}
		for j := len(dst) - 1; j > 0 && greater(xs[dst[j]], dst[j], xs[dst[j-1]], dst[j-1]); j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

// greater orders (value, index) pairs: larger value first, NaN last, lower
// index first on ties.
func greater(a float32, ai int, b float32, bi int) bool {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return ai < bi
	case an:
		return false
	case bn:
		return true
	case a != b:
		return a > b
	}
	return ai < bi
}

// Histogram counts the finite values of xs in bins equal-width bins between
// their minimum and maximum. edges has bins+1 entries; the last bin
// includes its upper edge. With no finite values it returns nil, nil; with
// one distinct value every count lands in the first bin of [v-0.5, v+0.5].
func Histogram(xs []float32, bins int) (edges []float64, counts []int) {
	if bins <= 0 {
		return nil, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range xs {
		f := float64(v)
		if f != f || math.IsInf(f, 0) {
			continue
		}
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	if lo > hi {
		return nil, nil
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	edges = make([]float64, bins+1)
	width := (hi - lo) / float64(bins)
	for i := range edges {
		edges[i] = lo + float64(i)*width
	}
	edges[bins] = hi
	counts = make([]int, bins)
	for _, v := range xs {
		f := float64(v)
		if f != f || math.IsInf(f, 0) {
			continue
		}
		b := int((f - lo) / width)
		if b >= bins {
			b = bins - 1
		}
		// Float rounding may put a value just below its edge.
		for b > 0 && f < edges[b] {
			b--
		}
		for b < bins-1 && f >= edges[b+1] {
			b++
		}
		counts[b]++
	}
	return edges, counts
}

// sparkRunes are the eight block heights of a sparkline.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline renders counts (e.g. from Histogram) as block characters
// scaled to the largest count; zero counts are spaces.
func Sparkline(counts []int) string {
	maxc := 0
	for _, c := range counts {
		maxc = max(maxc, c)
	}
	out := make([]rune, len(counts))
	for i, c := range counts {
		switch {
		case c <= 0:
			out[i] = ' '
		default:
			out[i] = sparkRunes[(c*len(sparkRunes)-1)/maxc]
		}
	}
	return string(out)
}

// Accumulator computes a Summary over several slices (e.g. one tensor per
// position) as if they were one. It uses Welford's update, so it needs one
// pass and no storage, and matches Compute up to rounding.
// Its summary has no Hist (the bins need the range before the values).
type Accumulator struct {
	n, finite, nan, inf, zero int
	mean, m2, sumsq           float64
	lo, hi                    float64
	started                   bool
}

// Add accumulates xs.
func (a *Accumulator) Add(xs []float32) {
	if !a.started {
		a.lo, a.hi, a.started = math.Inf(1), math.Inf(-1), true
	}
	a.n += len(xs)
	for _, v := range xs {
		f := float64(v)
		switch {
		case f != f:
			a.nan++
			continue
		case math.IsInf(f, 0):
			a.inf++
			continue
		case f == 0:
			a.zero++
		}
		a.finite++
		d := f - a.mean
		a.mean += d / float64(a.finite)
		a.m2 += d * (f - a.mean)
		a.sumsq += f * f
		a.lo, a.hi = math.Min(a.lo, f), math.Max(a.hi, f)
	}
}

// Summary returns the summary of everything added so far.
func (a *Accumulator) Summary() Summary {
	s := Summary{N: a.n, NaN: a.nan, Inf: a.inf, Zero: a.zero}
	if a.finite == 0 {
		nan := math.NaN()
		s.Min, s.Max, s.Mean, s.Std, s.L2, s.AbsMax = nan, nan, nan, nan, nan, nan
		return s
	}
	s.Min, s.Max, s.Mean = a.lo, a.hi, a.mean
	s.Std = math.Sqrt(math.Max(a.m2, 0) / float64(a.finite))
	s.L2 = math.Sqrt(a.sumsq)
	s.AbsMax = math.Max(math.Abs(a.lo), math.Abs(a.hi))
	return s
}

// Quantile returns the q-quantile (0..1, linear interpolation) of the finite
// values of xs, or NaN when there are none. It sorts a copy.
func Quantile(xs []float32, q float64) float64 {
	fs := make([]float64, 0, len(xs))
	for _, v := range xs {
		f := float64(v)
		if f == f && !math.IsInf(f, 0) {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 || q != q {
		return math.NaN()
	}
	sort.Float64s(fs)
	q = math.Min(math.Max(q, 0), 1)
	pos := q * float64(len(fs)-1)
	i := int(pos)
	if i >= len(fs)-1 {
		return fs[len(fs)-1]
	}
	return fs[i] + (pos-float64(i))*(fs[i+1]-fs[i])
}
