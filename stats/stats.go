// Package stats is pure math over []float32: tensor summaries, softmax,
// top-k and histograms. It is shared by the engine (Jidoka checks), the
// trace writers and the TUI, and imports nothing of the project.
package stats

import (
	"encoding/json"
	"math"
	"strconv"
)

// Summary describes one tensor. The float fields are computed over the
// finite values only and are NaN when there are none; JSON writes such a
// field as null, so no NaN or Inf ever appears as a JSON number.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"` // population standard deviation
	L2     float64 `json:"l2"`
	AbsMax float64 `json:"absmax"`
	NaN    int     `json:"nan"`
	Inf    int     `json:"inf"`
	Zero   int     `json:"zero"`
	// Hist bins the finite values over [Min, Max]; JSON "hist", left out
	// when empty.
	Hist Hist `json:"hist,omitempty"`
}

// Finite reports whether the tensor held no NaN and no Inf.
func (s Summary) Finite() bool { return s.NaN == 0 && s.Inf == 0 }

// Compute summarises xs (float64 accumulation; the std from a second pass
// around the mean, so it keeps its precision when |mean| >> std) and bins
// its finite values (Hist), without allocating.
func Compute(xs []float32) Summary {
	if s, ok := computeFinite(xs); ok {
		return s
	}
	return computeAny(xs)
}

// computeFinite is Compute for the usual tensor, every value finite, in
// one pass: four independent accumulators of the values shifted by the
// first one (so the variance E[(x-K)²] - E[x-K]² keeps its precision
// unless that value lies many standard deviations from the mean), no
// per-value classification; then a second pass for the bins. A traced
// decode step summarises every intermediate tensor, on the engine's
// goroutine, so both passes run as AVX2 assembly where the CPU has it
// (finiteLanes, histCounts). It reports false, having computed nothing
// usable, when xs is empty or holds a NaN or an Inf.
func computeFinite(xs []float32) (Summary, bool) {
	n := len(xs)
	if n == 0 {
		return Summary{}, false
	}
	k := float64(xs[0])
	l := lanes{lo: xs[0], hi: xs[0]}
	m := n &^ 3
	finiteLanes(xs[:m], k, &l)
	s0, q0, lo, hi, zero := l.s[0], l.q[0], l.lo, l.hi, l.zero
	for _, a := range xs[m:] {
		if a < lo {
			lo = a
		}
		if a > hi {
			hi = a
		}
		zero += b2i(a == 0)
		fa := float64(a) - k
		s0 += fa
		q0 += float64(fa * fa)
	}
	fn := float64(n)
	sh, sq := s0+l.s[1]+l.s[2]+l.s[3], q0+l.q[1]+l.q[2]+l.q[3] // Σ(x-K), Σ(x-K)²
	// A NaN or an Inf makes the sums NaN or Inf; finite float32 values
	// cannot (their float64 squares sum far below the float64 range).
	if t := sh + sq; math.IsNaN(t) || math.IsInf(t, 0) {
		return Summary{}, false
	}
	if lo == 0 {
		lo = firstZero(xs)
	}
	if hi == 0 {
		hi = firstZero(xs)
	}
	mean := k + sh/fn
	v := max((sq-sh*sh/fn)/fn, 0)
	// Σx² = Σ(x-K)² + 2KΣ(x-K) + nK².
	l2 := max(sq+2*k*sh+fn*k*k, 0)
	s := Summary{N: n, Zero: zero, Min: float64(lo), Max: float64(hi), Mean: mean, Std: math.Sqrt(v), L2: math.Sqrt(l2)}
	s.AbsMax = math.Max(math.Abs(s.Min), math.Abs(s.Max))
	// The bins need Min and Max first: a second pass.
	histFinite(&s.Hist, xs, s.Min, s.Max)
	return s, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// computeAny is Compute for any values: NaN and Inf are counted and left
// out of the float fields.
func computeAny(xs []float32) Summary {
	s := Summary{N: len(xs)}
	var sum, sumsq float64
	lo, hi := math.Inf(1), math.Inf(-1)
	finite := 0
	for _, v := range xs {
		f := float64(v)
		switch {
		case f != f:
			s.NaN++
			continue
		case math.IsInf(f, 0):
			s.Inf++
			continue
		case f == 0:
			s.Zero++
		}
		finite++
		sum += f
		sumsq += f * f
		if f < lo {
			lo = f
		}
		if f > hi {
			hi = f
		}
	}
	if finite == 0 {
		nan := math.NaN()
		s.Min, s.Max, s.Mean, s.Std, s.L2, s.AbsMax = nan, nan, nan, nan, nan, nan
		return s
	}
	mean := sum / float64(finite)
	var ss float64
	scale := 0.0 // Min == Max: every value in bin 0
	if hi > lo {
		scale = HistBins / (hi - lo)
	}
	for _, v := range xs {
		f := float64(v)
		if f == f && !math.IsInf(f, 0) {
			d := f - mean
			ss += d * d
			s.Hist[min(int((f-lo)*scale), HistBins-1)]++
		}
	}
	s.Min, s.Max, s.Mean = lo, hi, mean
	s.Std = math.Sqrt(ss / float64(finite))
	s.L2 = math.Sqrt(sumsq)
	s.AbsMax = math.Max(math.Abs(lo), math.Abs(hi))
	return s
}

// MarshalJSON writes the summary with non-finite float fields as null.
func (s Summary) MarshalJSON() ([]byte, error) { return s.AppendJSON(make([]byte, 0, 224)), nil }

// AppendJSON appends the JSON object of s to b (what MarshalJSON writes),
// without reflection: a traced run writes one per tensor per state.
func (s Summary) AppendJSON(b []byte) []byte { return s.appendJSON(b, `"`) }

// AppendEscapedJSON appends the JSON object of s as it reads inside a JSON
// string, its quotes escaped: a trace event holds its payload as a
// string, and writing the escaped form directly saves escaping it after.
func (s Summary) AppendEscapedJSON(b []byte) []byte { return s.appendJSON(b, `\"`) }

// appendJSON writes s with q as the quote of its keys.
func (s Summary) appendJSON(b []byte, q string) []byte {
	key := func(b []byte, k string) []byte {
		b = append(b, q...)
		b = append(b, k...)
		b = append(b, q...)
		return append(b, ':')
	}
	b = append(b, '{')
	b = key(b, "n")
	b = strconv.AppendInt(b, int64(s.N), 10)
	var minAt, maxAt [2]int // where Min's and Max's digits are
	for _, f := range [...]struct {
		key string
		v   float64
		at  *[2]int
	}{{"min", s.Min, &minAt}, {"max", s.Max, &maxAt}, {"mean", s.Mean, nil}, {"std", s.Std, nil}, {"l2", s.L2, nil}} {
		b = append(b, ',')
		b = key(b, f.key)
		start := len(b)
		b = appendFloat(b, f.v)
		if f.at != nil {
			*f.at = [2]int{start, len(b)}
		}
	}
	b = append(b, ',')
	b = key(b, "absmax")
	// AbsMax is nearly always |Min| or |Max|: the same digits without a
	// sign, already formatted (the shortest formatting costs the most here).
	switch abs := math.Float64bits(s.AbsMax); {
	case math.IsNaN(s.AbsMax) || math.IsInf(s.AbsMax, 0):
		b = append(b, "null"...)
	case abs == math.Float64bits(math.Abs(s.Min)):
		b = appendUnsigned(b, minAt)
	case abs == math.Float64bits(math.Abs(s.Max)):
		b = appendUnsigned(b, maxAt)
	default:
		b = strconv.AppendFloat(b, s.AbsMax, 'g', -1, 64)
	}
	b = append(b, ',')
	b = key(b, "nan")
	b = strconv.AppendInt(b, int64(s.NaN), 10)
	b = append(b, ',')
	b = key(b, "inf")
	b = strconv.AppendInt(b, int64(s.Inf), 10)
	b = append(b, ',')
	b = key(b, "zero")
	b = strconv.AppendInt(b, int64(s.Zero), 10)
	if !s.Hist.Empty() {
		b = append(b, ',')
		b = key(b, "hist")
		b = s.Hist.appendJSON(b)
	}
	return append(b, '}')
}

// appendFloat appends f as the shortest number that reads back as f, or
// null when it is not finite.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendUnsigned appends the number b[at[0]:at[1]] without its sign.
func appendUnsigned(b []byte, at [2]int) []byte {
	i := at[0]
	if b[i] == '-' {
		i++
	}
	return append(b, b[i:at[1]]...)
}

// summaryWire decodes a Summary without pointer fields: the float fields
// start as NaN and a JSON null leaves a float64 unchanged, so null reads
// back as NaN without an allocation per field.
type summaryWire struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	L2     float64 `json:"l2"`
	AbsMax float64 `json:"absmax"`
	NaN    int     `json:"nan"`
	Inf    int     `json:"inf"`
	Zero   int     `json:"zero"`
	Hist   Hist    `json:"hist"`
}

// UnmarshalJSON reads null (or absent) float fields back as NaN; an
// absent "hist" (older traces) reads as an empty Hist.
func (s *Summary) UnmarshalJSON(b []byte) error {
	nan := math.NaN()
	j := summaryWire{Min: nan, Max: nan, Mean: nan, Std: nan, L2: nan, AbsMax: nan}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Summary(j)
	return nil
}
