package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// referenceJSON is the summary's JSON built the slow, obvious way: every
// float by strconv's shortest 'g' formatting, null when not finite.
func referenceJSON(s Summary) string {
	f := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "null"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	out := fmt.Sprintf(`{"n":%d,"min":%s,"max":%s,"mean":%s,"std":%s,"l2":%s,"absmax":%s,"nan":%d,"inf":%d,"zero":%d`,
		s.N, f(s.Min), f(s.Max), f(s.Mean), f(s.Std), f(s.L2), f(s.AbsMax), s.NaN, s.Inf, s.Zero)
	if !s.Hist.Empty() {
		h, _ := json.Marshal(s.Hist[:])
		out += `,"hist":` + string(h)
	}
	return out + "}"
}

// TestSummaryJSONBytes: AppendJSON writes the reference bytes (AbsMax,
// usually |Min| or |Max|, reuses their digits), and AppendEscapedJSON
// those bytes as encoding/json escapes them inside a string.
func TestSummaryJSONBytes(t *testing.T) {
	anyFloat := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, -math.SmallestNonzeroFloat64, 1e-7, -1e21, 123456789.125, -0.000123}))
	rapid.Check(t, func(t *rapid.T) {
		s := Summary{N: rapid.IntRange(0, 1<<40).Draw(t, "n"), NaN: rapid.IntRange(0, 1<<30).Draw(t, "nan"),
			Inf: rapid.IntRange(0, 1<<30).Draw(t, "inf"), Zero: rapid.IntRange(0, 1<<30).Draw(t, "zero")}
		for _, f := range []*float64{&s.Min, &s.Max, &s.Mean, &s.Std, &s.L2} {
			*f = anyFloat.Draw(t, "f")
		}
		switch rapid.IntRange(0, 2).Draw(t, "absmax") {
		case 0:
			s.AbsMax = math.Abs(s.Min)
		case 1:
			s.AbsMax = math.Abs(s.Max)
		default:
			s.AbsMax = anyFloat.Draw(t, "abs")
		}
		if rapid.Bool().Draw(t, "hist?") {
			for i := range s.Hist {
				s.Hist[i] = rapid.Int32Range(0, 1<<31-1).Draw(t, "c")
			}
		}
		want := referenceJSON(s)
		if got := string(s.AppendJSON([]byte("x"))); got != "x"+want {
			t.Fatalf("AppendJSON = %s\nwant        x%s", got, want)
		}
		q, _ := json.Marshal(want)
		if got, wantEsc := string(s.AppendEscapedJSON(nil)), string(q[1:len(q)-1]); got != wantEsc {
			t.Fatalf("AppendEscapedJSON = %s\nwant                %s", got, wantEsc)
		}
		if !strings.Contains(want, `"absmax"`) {
			t.Fatal("reference lost a key")
		}
	})
}
