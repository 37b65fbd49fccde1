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
