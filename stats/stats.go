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
}

// Finite reports whether the tensor held no NaN and no Inf.
func (s Summary) Finite() bool { return s.NaN == 0 && s.Inf == 0 }

// Compute summarises xs in one pass (float64 accumulation).
func Compute(xs []float32) Summary {
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
	for _, v := range xs {
		f := float64(v)
		if f == f && !math.IsInf(f, 0) {
			d := f - mean
			ss += d * d
		}
	}
	s.Min, s.Max, s.Mean = lo, hi, mean
	s.Std = math.Sqrt(ss / float64(finite))
	s.L2 = math.Sqrt(sumsq)
	s.AbsMax = math.Max(math.Abs(lo), math.Abs(hi))
	return s
}

// MarshalJSON writes the summary with non-finite float fields as null.
func (s Summary) MarshalJSON() ([]byte, error) { return s.AppendJSON(make([]byte, 0, 160)), nil }

// AppendJSON appends the JSON object of s to b (what MarshalJSON writes),
// without reflection: a traced run writes one per tensor per state.
func (s Summary) AppendJSON(b []byte) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(s.N), 10)
	for _, f := range [...]struct {
		key string
		v   float64
	}{{`,"min":`, s.Min}, {`,"max":`, s.Max}, {`,"mean":`, s.Mean}, {`,"std":`, s.Std}, {`,"l2":`, s.L2}, {`,"absmax":`, s.AbsMax}} {
		b = append(b, f.key...)
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, f.v, 'g', -1, 64)
		}
	}
	b = append(b, `,"nan":`...)
	b = strconv.AppendInt(b, int64(s.NaN), 10)
	b = append(b, `,"inf":`...)
	b = strconv.AppendInt(b, int64(s.Inf), 10)
	b = append(b, `,"zero":`...)
	b = strconv.AppendInt(b, int64(s.Zero), 10)
	return append(b, '}')
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
}

// UnmarshalJSON reads null (or absent) float fields back as NaN.
func (s *Summary) UnmarshalJSON(b []byte) error {
	nan := math.NaN()
	j := summaryWire{Min: nan, Max: nan, Mean: nan, Std: nan, L2: nan, AbsMax: nan}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Summary(j)
	return nil
}
