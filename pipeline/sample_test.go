package pipeline

import (
	"math"
	"slices"
	"testing"

	"github.com/infertrace/infertrace/trace"
)

func generate(t *testing.T, m *Model, sc trace.SamplerConfig, n int) (ids []int, text string) {
	t.Helper()
	s, err := m.NewSession("Once upon a time", Options{MaxTokens: n, Sampler: sc})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]int(nil), s.Generated()...), s.Text()
}

func TestSamplingOnStories(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	greedy, greedyText := generate(t, m, trace.SamplerConfig{}, 24)
	if want := ", there was a little girl named Lily."; len(greedyText) < len(want) || greedyText[:len(want)] != want {
		t.Fatalf("greedy text %q", greedyText)
	}
	hot := trace.SamplerConfig{Temperature: 1.5, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64, Seed: 7}
	a, at := generate(t, m, hot, 24)
	b, bt := generate(t, m, hot, 24)
	if !slices.Equal(a, b) || at != bt {
		t.Errorf("same seed, different text: %q vs %q", at, bt)
	}
	other := hot
	other.Seed = 8
	c, _ := generate(t, m, other, 24)
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same 24 tokens at temperature 1.5: %v", a)
	}
	topk1 := trace.SamplerConfig{Temperature: 0.8, TopK: 1, Seed: 3}
	if d, _ := generate(t, m, topk1, 24); !slices.Equal(d, greedy) {
		t.Errorf("top-k 1 %v != greedy %v", d, greedy)
	}
}

func TestSamplerFilters(t *testing.T) {
	logits := []float32{1, 3, 2, -1, 0.5, 2.9}
	ln := func(x float64) float32 { return float32(math.Log(x)) }
	for _, tc := range []struct {
		name    string
		cfg     trace.SamplerConfig
		history []int
		logits  []float32
		keep    []int // surviving candidates, best first
	}{
		{"top-k 3", trace.SamplerConfig{Temperature: 1, TopK: 3}, nil, logits, []int{1, 5, 2}},
		{"all, sorted", trace.SamplerConfig{Temperature: 1}, nil, logits, []int{1, 5, 2, 0, 4, 3}},
		// p = .5 .3 .2: top-p 0.75 keeps the first two (0.5 < 0.75 <= 0.8).
		{"top-p", trace.SamplerConfig{Temperature: 1, TopP: 0.75}, nil, []float32{ln(.5), ln(.3), ln(.2)}, []int{0, 1}},
		// min-p 0.5: keep p >= 0.25 (0.5 and 0.3).
		{"min-p", trace.SamplerConfig{Temperature: 1, MinP: 0.5}, nil, []float32{ln(.5), ln(.3), ln(.2)}, []int{0, 1}},
		// penalty 2: id 1 (3 → 1.5) drops below ids 5 (2.9) and 2 (2); id 3 (-1 → -2) is out of the top 3.
		{"repetition penalty", trace.SamplerConfig{Temperature: 1, TopK: 3, RepeatPenalty: 2, RepeatLastN: 4},
			[]int{1, 1, 3}, logits, []int{5, 2, 1}},
		{"penalty window", trace.SamplerConfig{Temperature: 1, TopK: 3, RepeatPenalty: 2, RepeatLastN: 1},
			[]int{1, 3}, logits, []int{1, 5, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSampler(tc.cfg, len(tc.logits))
			id, _ := s.Sample(tc.logits, tc.history)
			ids, probs := s.Candidates()
			if !slices.Equal(ids, tc.keep) {
				t.Errorf("candidates %v, want %v", ids, tc.keep)
			}
			if !slices.Contains(tc.keep, id) {
				t.Errorf("sampled %d outside %v", id, tc.keep)
			}
			var sum float64
			for _, p := range probs {
				sum += float64(p)
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Errorf("probabilities sum to %g", sum)
			}
		})
	}
	// Negative logits are multiplied by the penalty.
	s := NewSampler(trace.SamplerConfig{Temperature: 0, RepeatPenalty: 2, RepeatLastN: -1}, 2)
	if id, _ := s.Sample([]float32{-1, -1.5}, []int{0}); id != 1 {
		t.Errorf("penalised -1 → -2 should lose to -1.5, got id %d", id)
	}
	// NaN logits never win and never panic.
	s = NewSampler(trace.SamplerConfig{Temperature: 1, Seed: 1}, 3)
	if id, _ := s.Sample([]float32{float32(math.NaN()), 1, 0}, nil); id == 0 {
		t.Errorf("sampled the NaN logit")
	}
}

// TestSamplerProbabilities checks the final distribution of each sampler
// against values derived by hand from its definition (llama.cpp's chain:
// penalty → top-k → top-p → min-p → temperature → softmax → draw).
func TestSamplerProbabilities(t *testing.T) {
	ln := func(x float64) float32 { return float32(math.Log(x)) }
	s2 := math.Sqrt2
	for _, tc := range []struct {
		name    string
		cfg     trace.SamplerConfig
		logits  []float32
		history []int
		ids     []int
		probs   []float64
	}{
		// exp(x/T): T = 0.5 squares the odds 1:2:4 → 1:4:16.
		{"temperature 0.5", trace.SamplerConfig{Temperature: 0.5}, []float32{0, ln(2), ln(4)}, nil,
			[]int{2, 1, 0}, []float64{16.0 / 21, 4.0 / 21, 1.0 / 21}},
		// T = 2 takes their square root → 1:√2:2.
		{"temperature 2", trace.SamplerConfig{Temperature: 2}, []float32{0, ln(2), ln(4)}, nil,
			[]int{2, 1, 0}, []float64{2 / (3 + s2), s2 / (3 + s2), 1 / (3 + s2)}},
		// top-k 2 renormalises the best two: 4:2.
		{"top-k 2", trace.SamplerConfig{Temperature: 1, TopK: 2}, []float32{0, ln(2), ln(4)}, nil,
			[]int{2, 1}, []float64{2.0 / 3, 1.0 / 3}},
		// top-p 0.75 on p = .5 .3 .2 (before temperature) keeps .5 .3; then
		// T = 2: √.5 : √.3.
		{"top-p then temperature", trace.SamplerConfig{Temperature: 2, TopP: 0.75}, []float32{ln(.5), ln(.3), ln(.2)}, nil,
			[]int{0, 1}, []float64{math.Sqrt(.5) / (math.Sqrt(.5) + math.Sqrt(.3)), math.Sqrt(.3) / (math.Sqrt(.5) + math.Sqrt(.3))}},
		// min-p 0.3 keeps p >= 0.3 × 0.4: .4 .3 .2 (not .1).
		{"min-p", trace.SamplerConfig{Temperature: 1, MinP: 0.3}, []float32{ln(.1), ln(.2), ln(.3), ln(.4)}, nil,
			[]int{3, 2, 1}, []float64{.4 / .9, .3 / .9, .2 / .9}},
		// penalty 2 on ids 0 and 1: 2 → 1 (divided), -1 → -2 (multiplied);
		// 0.5 untouched: softmax of (1, 0.5, -2).
		{"repetition penalty", trace.SamplerConfig{Temperature: 1, RepeatPenalty: 2, RepeatLastN: 8}, []float32{2, -1, 0.5}, []int{1, 0, 1},
			[]int{0, 2, 1}, softmax64(1, 0.5, -2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSampler(tc.cfg, len(tc.logits))
			id, p := s.Sample(tc.logits, tc.history)
			ids, probs := s.Candidates()
			if !slices.Equal(ids, tc.ids) {
				t.Fatalf("candidates %v, want %v", ids, tc.ids)
			}
			for i := range probs {
				if math.Abs(float64(probs[i])-tc.probs[i]) > 1e-6 {
					t.Errorf("p(%d) = %.7f, want %.7f", ids[i], probs[i], tc.probs[i])
				}
			}
			k := slices.Index(ids, id)
			if k < 0 || math.Abs(p-tc.probs[k]) > 1e-6 {
				t.Errorf("sampled %d with p %.7f: not a candidate or not its probability", id, p)
			}
		})
	}
}

func softmax64(xs ...float64) []float64 {
	var sum float64
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Exp(x)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// TestSamplerDraws: the draw follows the final distribution (counts within
// 5 standard deviations of n·p over 20000 draws), greedy takes the first
// largest logit, the same seed repeats the sequence and another seed does
// not.
func TestSamplerDraws(t *testing.T) {
	logits := []float32{0, float32(math.Log(2)), float32(math.Log(4)), float32(math.Inf(-1))}
	want := []float64{1.0 / 7, 2.0 / 7, 4.0 / 7, 0}
	const n = 20000
	draw := func(seed uint64) []int {
		s := NewSampler(trace.SamplerConfig{Temperature: 1, Seed: seed}, len(logits))
		out := make([]int, n)
		for i := range out {
			out[i], _ = s.Sample(logits, nil)
		}
		return out
	}
	a := draw(42)
	counts := make([]int, len(logits))
	for _, id := range a {
		counts[id]++
	}
	for id, p := range want {
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if math.Abs(float64(counts[id])-mean) > 5*sd || (p == 0 && counts[id] != 0) {
			t.Errorf("token %d drawn %d times in %d, expected %.0f ± %.0f", id, counts[id], n, mean, 5*sd)
		}
	}
	if !slices.Equal(a, draw(42)) {
		t.Error("seed 42 twice gave different draws")
	}
	if slices.Equal(a[:64], draw(43)[:64]) {
		t.Error("seeds 42 and 43 gave the same 64 draws")
	}
	g := NewSampler(trace.SamplerConfig{Temperature: 0, Seed: 1}, 4)
	if id, p := g.Sample([]float32{1, 3, 3, 2}, nil); id != 1 || p != 1 {
		t.Errorf("greedy over a tie picked %d (p %g), want the first largest, 1, with p 1", id, p)
	}
	k1 := NewSampler(trace.SamplerConfig{Temperature: 5, TopK: 1, Seed: 1}, 4)
	for range 50 {
		if id, _ := k1.Sample([]float32{1, 3, 2.9, 2}, nil); id != 1 {
			t.Fatalf("top-k 1 at temperature 5 drew %d, want the argmax 1", id)
		}
	}
}
