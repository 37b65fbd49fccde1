package stats

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"pgregory.net/rapid"
)

var nan32, inf32 = float32(math.NaN()), float32(math.Inf(1))

func near(a, b, rel float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestComputeHand(t *testing.T) {
	tests := []struct {
		xs   []float32
		want Summary
	}{
		// mean 2.5, deviations ±1.5 ±0.5: variance (2.25+0.25)*2/4 = 1.25;
		// l2 = sqrt(1+4+9+16) = sqrt(30).
		{[]float32{1, 2, 3, 4}, Summary{N: 4, Min: 1, Max: 4, Mean: 2.5, Std: math.Sqrt(1.25), L2: math.Sqrt(30), AbsMax: 4}},
		{[]float32{-3, 0, nan32, inf32, -inf32}, Summary{N: 5, Min: -3, Max: 0, Mean: -1.5, Std: 1.5, L2: 3, AbsMax: 3, NaN: 1, Inf: 2, Zero: 1}},
		{[]float32{nan32}, Summary{N: 1, Min: math.NaN(), Max: math.NaN(), Mean: math.NaN(), Std: math.NaN(), L2: math.NaN(), AbsMax: math.NaN(), NaN: 1}},
		{nil, Summary{Min: math.NaN(), Max: math.NaN(), Mean: math.NaN(), Std: math.NaN(), L2: math.NaN(), AbsMax: math.NaN()}},
	}
	for _, tc := range tests {
		got := Compute(tc.xs)
		var acc Accumulator
		acc.Add(tc.xs)
		for _, s := range []Summary{got, acc.Summary()} {
			if !summaryNear(s, tc.want, 1e-12) {
				t.Errorf("%v: got %+v, want %+v", tc.xs, s, tc.want)
			}
		}
	}
}

func summaryNear(a, b Summary, rel float64) bool {
	return a.N == b.N && a.NaN == b.NaN && a.Inf == b.Inf && a.Zero == b.Zero &&
		near(a.Min, b.Min, rel) && near(a.Max, b.Max, rel) && near(a.Mean, b.Mean, rel) &&
		near(a.Std, b.Std, rel) && near(a.L2, b.L2, rel) && near(a.AbsMax, b.AbsMax, rel)
}

// naive is the textbook two-pass float64 computation over the finite
// values.
func naive(xs []float32) Summary {
	var fs []float64
	s := Summary{N: len(xs)}
	for _, v := range xs {
		f := float64(v)
		switch {
		case math.IsNaN(f):
			s.NaN++
		case math.IsInf(f, 0):
			s.Inf++
		default:
			if f == 0 {
				s.Zero++
			}
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		s.Min, s.Max, s.Mean, s.Std, s.L2, s.AbsMax = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return s
	}
	sorted := slices.Clone(fs)
	sort.Float64s(sorted)
	var sum, sq float64
	for _, f := range fs {
		sum += f
		sq += f * f
	}
	s.Mean = sum / float64(len(fs))
	var ss float64
	for _, f := range fs {
		ss += (f - s.Mean) * (f - s.Mean)
	}
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Std, s.L2 = math.Sqrt(ss/float64(len(fs))), math.Sqrt(sq)
	s.AbsMax = math.Max(-s.Min, s.Max)
	return s
}

func genValue() *rapid.Generator[float32] {
	return rapid.Custom(func(t *rapid.T) float32 {
		switch rapid.IntRange(0, 19).Draw(t, "kind") {
		case 0:
			return nan32
		case 1:
			return inf32
		case 2:
			return -inf32
		case 3:
			return 0
		}
		return rapid.Float32Range(-1e4, 1e4).Draw(t, "v")
	})
}

func TestComputeAndAccumulatorProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(rapid.SliceOfN(genValue(), 0, 40), 1, 5).Draw(t, "parts")
		var all []float32
		var acc Accumulator
		for _, p := range parts {
			all = append(all, p...)
			acc.Add(p)
		}
		want := naive(all)
		// Std is checked relative to the spread, the scale its rounding
		// error follows.
		for name, got := range map[string]Summary{"Compute": Compute(all), "Accumulator": acc.Summary()} {
			stdOK := near(got.Std, want.Std, 1e-9) || math.Abs(got.Std-want.Std) <= 1e-9*want.AbsMax
			g, w := got, want
			g.Std, w.Std = 0, 0
			if !summaryNear(g, w, 1e-9) || !stdOK {
				t.Fatalf("%s = %+v, naive %+v", name, got, want)
			}
		}
	})
}

// TestComputeFiniteProperty: on finite tensors of any length (the fast
// path, four accumulators and a scalar tail) Compute agrees with the
// naive float64 summary.
func TestComputeFiniteProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.OneOf(rapid.Float32Range(-1e4, 1e4), rapid.Just(float32(0)),
			rapid.Float32Range(1e3, 1e3+1)), 1, 300).Draw(t, "xs")
		got, want := Compute(xs), naive(xs)
		stdOK := near(got.Std, want.Std, 1e-9) || math.Abs(got.Std-want.Std) <= 1e-9*want.AbsMax
		g, w := got, want
		g.Std, w.Std = 0, 0
		if !summaryNear(g, w, 1e-9) || !stdOK {
			t.Fatalf("Compute = %+v, naive %+v", got, want)
		}
	})
}

func TestSoftmax(t *testing.T) {
	dst := make([]float32, 4)
	Softmax(dst[:2], []float32{0, float32(math.Log(3))})
	if !near(float64(dst[0]), 0.25, 1e-7) || !near(float64(dst[1]), 0.75, 1e-7) {
		t.Errorf("softmax(0, ln 3) = %v, want [0.25 0.75]", dst[:2])
	}
	// Large logits do not overflow: the max is subtracted.
	Softmax(dst[:3], []float32{1e30, 1e30, -1e30})
	if dst[0] != 0.5 || dst[1] != 0.5 || dst[2] != 0 {
		t.Errorf("softmax(1e30, 1e30, -1e30) = %v", dst[:3])
	}
	Softmax(dst[:3], []float32{inf32, 0, inf32})
	if dst[0] != 0.5 || dst[1] != 0 || dst[2] != 0.5 {
		t.Errorf("softmax(+Inf, 0, +Inf) = %v", dst[:3])
	}
	Softmax(dst[:2], []float32{-inf32, -inf32})
	if dst[0] != 0.5 || dst[1] != 0.5 {
		t.Errorf("softmax(-Inf, -Inf) = %v", dst[:2])
	}
	Softmax(dst[:2], []float32{1, nan32})
	if !math.IsNaN(float64(dst[0])) || !math.IsNaN(float64(dst[1])) {
		t.Errorf("softmax(1, NaN) = %v, want NaN", dst[:2])
	}
	Softmax(nil, nil)

	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.Float32Range(-80, 80), 1, 50).Draw(t, "xs")
		got := make([]float32, len(xs))
		Softmax(got, xs)
		var z, total float64
		for _, x := range xs {
			z += math.Exp(float64(x))
		}
		for i, x := range xs {
			total += float64(got[i])
			if want := math.Exp(float64(x)) / z; math.Abs(float64(got[i])-want) > 1e-6*math.Max(want, 1e-30)+1e-12 {
				t.Fatalf("softmax[%d] = %v, naive %v", i, got[i], want)
			}
		}
		if math.Abs(total-1) > 1e-5 {
			t.Fatalf("softmax sums to %v", total)
		}
	})
}

func TestTopK(t *testing.T) {
	xs := []float32{1, 5, nan32, 5, -2, 7, 1}
	tests := []struct {
		k    int
		want []int
	}{
		{0, []int{}}, {1, []int{5}}, {3, []int{5, 1, 3}}, {6, []int{5, 1, 3, 0, 6, 4}},
		{7, []int{5, 1, 3, 0, 6, 4, 2}}, {99, []int{5, 1, 3, 0, 6, 4, 2}}, {-1, []int{}},
	}
	for _, tc := range tests {
		if got := TopK(xs, tc.k, nil); !slices.Equal(got, tc.want) {
			t.Errorf("TopK(k=%d) = %v, want %v", tc.k, got, tc.want)
		}
	}
	dst := make([]int, 0, 10)
	if n := testing.AllocsPerRun(100, func() { dst = TopK(xs, 5, dst) }); n != 0 {
		t.Errorf("TopK with capacity allocates %v times", n)
	}
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.SampledFrom([]float32{-1, 0, 1, 2, 2.5, nan32, -inf32, inf32}), 0, 30).Draw(t, "xs")
		k := rapid.IntRange(0, 35).Draw(t, "k")
		idx := make([]int, len(xs))
		for i := range idx {
			idx[i] = i
		}
		// Naive: stable sort by value descending, NaN last.
		sort.SliceStable(idx, func(a, b int) bool {
			x, y := xs[idx[a]], xs[idx[b]]
			if x != x {
				return false
			}
			return y != y || x > y
		})
		want := idx[:min(k, len(xs))]
		if got := TopK(xs, k, nil); !slices.Equal(got, want) {
			t.Fatalf("TopK(%v, %d) = %v, want %v", xs, k, got, want)
		}
	})
}

func TestHistogram(t *testing.T) {
	edges, counts := Histogram([]float32{0, 1, 2, 3, 4, nan32, inf32}, 4)
	if !slices.Equal(edges, []float64{0, 1, 2, 3, 4}) || !slices.Equal(counts, []int{1, 1, 1, 2}) {
		t.Errorf("Histogram = %v %v, want edges 0..4 counts [1 1 1 2]", edges, counts)
	}
	edges, counts = Histogram([]float32{2, 2}, 2)
	if !slices.Equal(edges, []float64{1.5, 2, 2.5}) || !slices.Equal(counts, []int{0, 2}) {
		t.Errorf("Histogram(constant) = %v %v", edges, counts)
	}
	if e, c := Histogram([]float32{nan32}, 3); e != nil || c != nil {
		t.Errorf("Histogram(no finite) = %v %v", e, c)
	}
	if got := Sparkline([]int{0, 1, 4, 8}); got != " ▁▄█" {
		t.Errorf("Sparkline = %q", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(genValue(), 0, 60).Draw(t, "xs")
		bins := rapid.IntRange(1, 12).Draw(t, "bins")
		edges, counts := Histogram(xs, bins)
		s := Compute(xs)
		finite := s.N - s.NaN - s.Inf
		if finite == 0 {
			if counts != nil {
				t.Fatalf("counts %v without finite values", counts)
			}
			return
		}
		total := 0
		for i, c := range counts {
			total += c
			// Every value counted in bin i lies within its edges.
			n := 0
			for _, v := range xs {
				f := float64(v)
				if f >= edges[i] && (f < edges[i+1] || (i == bins-1 && f <= edges[i+1])) {
					n++
				}
			}
			if n != c {
				t.Fatalf("bin %d [%v, %v): count %d, values in range %d", i, edges[i], edges[i+1], c, n)
			}
		}
		if total != finite {
			t.Fatalf("counts sum to %d, want %d finite values", total, finite)
		}
	})
}

func TestQuantile(t *testing.T) {
	xs := []float32{4, nan32, 1, 3, 2}
	for q, want := range map[float64]float64{0: 1, 1: 4, 0.5: 2.5, 0.25: 1.75} {
		if got := Quantile(xs, q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile(nil) is not NaN")
	}
}

// mathRef is the part of the numpy reference (stories260K *.math.json)
// these tests use.
type mathRef struct {
	Positions []struct {
		Logits refStats `json:"logits"`
	} `json:"positions"`
	Logits [][]float32 `json:"logits"`
}

type refStats struct {
	Min, Max, Mean, Std, L2, AbsMax float64
	N                               int
}

func loadMathRef(t *testing.T) mathRef {
	path := refdata.Path(t, "stories260K", "reference", "once-upon-a-time.math.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref mathRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(ref.Positions) == 0 || len(ref.Positions) != len(ref.Logits) {
		t.Fatalf("%s: %d positions, %d logit rows", path, len(ref.Positions), len(ref.Logits))
	}
	return ref
}

func checkRef(t *testing.T, what string, got Summary, want refStats) {
	t.Helper()
	const rel = 1e-4 // the README's tolerance for stage statistics
	if got.N != want.N || !near(got.Min, want.Min, rel) || !near(got.Max, want.Max, rel) ||
		!near(got.Mean, want.Mean, rel) || !near(got.Std, want.Std, rel) || !near(got.L2, want.L2, rel) ||
		!near(got.AbsMax, want.AbsMax, rel) {
		t.Errorf("%s: got %+v, numpy %+v", what, got, want)
	}
}

// TestAgainstNumpyReference summarises the reference logits of every
// prompt position and compares with the numpy float64 statistics; the
// Accumulator over all positions is compared with the combination of the
// per-position reference statistics.
func TestAgainstNumpyReference(t *testing.T) {
	ref := loadMathRef(t)
	var acc Accumulator
	var comb refStats
	var sumMean, sumSq, l2sq float64
	comb.Min, comb.Max = math.Inf(1), math.Inf(-1)
	for p, logits := range ref.Logits {
		want := ref.Positions[p].Logits
		checkRef(t, "logits", Compute(logits), want)
		acc.Add(logits)
		comb.N += want.N
		comb.Min, comb.Max = math.Min(comb.Min, want.Min), math.Max(comb.Max, want.Max)
		sumMean += want.Mean * float64(want.N)
		sumSq += (want.Std*want.Std + want.Mean*want.Mean) * float64(want.N)
		l2sq += want.L2 * want.L2
	}
	comb.Mean = sumMean / float64(comb.N)
	comb.Std = math.Sqrt(sumSq/float64(comb.N) - comb.Mean*comb.Mean)
	comb.L2 = math.Sqrt(l2sq)
	comb.AbsMax = math.Max(-comb.Min, comb.Max)
	checkRef(t, "accumulated logits", acc.Summary(), comb)
}

// TestTopKAgainstLlamaCpp checks that the argmax of the reference logits
// at the last prompt position is llama.cpp's first greedy token.
func TestTopKAgainstLlamaCpp(t *testing.T) {
	ref := loadMathRef(t)
	path := refdata.Path(t, "stories260K", "reference", "once-upon-a-time.llamacpp.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lc struct {
		GreedyTokens []int `json:"greedy_tokens"`
	}
	if err := json.Unmarshal(b, &lc); err != nil || len(lc.GreedyTokens) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	last := ref.Logits[len(ref.Logits)-1]
	top := TopK(last, 5, nil)
	if top[0] != lc.GreedyTokens[0] {
		t.Errorf("argmax %d, llama.cpp greedy token %d", top[0], lc.GreedyTokens[0])
	}
	probs := make([]float32, len(last))
	Softmax(probs, last)
	for i := 1; i < len(top); i++ {
		if probs[top[i]] > probs[top[i-1]] {
			t.Errorf("top-k not in decreasing probability order: %v", top)
		}
	}
}

func TestSummaryJSON(t *testing.T) {
	for _, xs := range [][]float32{{1, 2, nan32}, {nan32, inf32}, nil} {
		s := Compute(xs)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Summary
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !summaryNear(s, back, 0) {
			t.Errorf("%s read back as %+v, want %+v", b, back, s)
		}
	}
	b, _ := json.Marshal(Compute([]float32{nan32}))
	if want := `{"n":1,"min":null,"max":null,"mean":null,"std":null,"l2":null,"absmax":null,"nan":1,"inf":0,"zero":0}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var s Summary
	if err := json.Unmarshal([]byte(`{"n":2,"max":3}`), &s); err != nil || s.Max != 3 || !math.IsNaN(s.Min) {
		t.Errorf("absent fields: %+v, %v", s, err)
	}
}

// TestSummaryJSONProperty: for any field values (subnormals, extremes,
// NaN, ±Inf) the hand-written encoding is valid JSON, has no NaN or Inf
// literal, and reads back bit for bit (non-finite fields as NaN).
func TestSummaryJSONProperty(t *testing.T) {
	anyFloat := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, -math.SmallestNonzeroFloat64, 1e-7, 1e21, 123456789.125}))
	rapid.Check(t, func(t *rapid.T) {
		s := Summary{N: rapid.IntRange(0, 1<<40).Draw(t, "n"), NaN: rapid.IntRange(0, 1<<30).Draw(t, "nan"),
			Inf: rapid.IntRange(0, 1<<30).Draw(t, "inf"), Zero: rapid.IntRange(0, 1<<30).Draw(t, "zero")}
		for _, f := range []*float64{&s.Min, &s.Max, &s.Mean, &s.Std, &s.L2, &s.AbsMax} {
			*f = anyFloat.Draw(t, "f")
		}
		b, err := json.Marshal(s)
		if err != nil || !json.Valid(b) {
			t.Fatalf("Marshal = %s, %v", b, err)
		}
		var back Summary
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		want := s
		for _, f := range []*float64{&want.Min, &want.Max, &want.Mean, &want.Std, &want.L2, &want.AbsMax} {
			if math.IsInf(*f, 0) {
				*f = math.NaN()
			}
		}
		if !summaryNear(want, back, 0) || math.Signbit(want.Min) != math.Signbit(back.Min) && !math.IsNaN(want.Min) {
			t.Fatalf("%s read back as %+v, want %+v", b, back, want)
		}
	})
}
