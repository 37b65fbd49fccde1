package pipeline

import (
	"slices"
	"testing"

	"github.com/infertrace/infertrace/trace"
)

// evalTokens runs greedy generation of n tokens from the prompt ids with
// every prompt position's logits kept.
func evalTokens(t testing.TB, m *Model, prompt []int, n, threads int) *Session {
	t.Helper()
	s, err := m.NewSession("", Options{Tokens: prompt, MaxTokens: n, AllLogits: true, Threads: threads,
		Sampler: trace.SamplerConfig{Temperature: 0}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStories260KGreedy(t *testing.T) {
	for _, tc := range []struct{ file, ref string }{
		{"stories260K.gguf", "once-upon-a-time"},
		{"stories260K-q8_0-ggufpy.gguf", "once-upon-a-time.q8_0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m := openRef(t, "stories260K", tc.file)
			lp, _ := refPaths(t, "stories260K", tc.file, tc.ref)
			var ref llamacppRef
			readJSON(t, lp, &ref)
			s := evalTokens(t, m, ref.PromptTokens, len(ref.GreedyTokens), 0)
			if got := s.Generated(); !slices.Equal(got, ref.GreedyTokens) {
				t.Errorf("greedy tokens\n got %v\nwant %v", got, ref.GreedyTokens)
			}
			t.Logf("prompt logits max |diff| vs llama.cpp: %.3g", maxAbsDiff(s.PromptLogits(), ref.PromptLogits))
		})
	}
}
