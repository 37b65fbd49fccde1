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
	return evalOpts(t, m, prompt, n, Options{Threads: threads})
}

// evalOpts is evalTokens with more options.
func evalOpts(t testing.TB, m *Model, prompt []int, n int, o Options) *Session {
	t.Helper()
	o.Tokens, o.MaxTokens, o.AllLogits = prompt, n, true
	o.Sampler = trace.SamplerConfig{Temperature: 0}
	s, err := m.NewSession("", o)
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

// TestThreadsBitIdentical: the logits do not depend on the worker count.
func TestThreadsBitIdentical(t *testing.T) {
	for _, tc := range []struct{ dir, file string }{
		{"stories260K", "stories260K.gguf"},
		{"tiny", "tiny-llama-q4_k.gguf"},
		{"tiny", "tiny-llama-q8_0.gguf"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m := openRef(t, tc.dir, tc.file)
			prompt := []int{1, 403, 407, 261, 378}
			for _, float := range []bool{false, true} {
				a := evalOpts(t, m, prompt, 8, Options{Threads: 1, FloatPath: float})
				b := evalOpts(t, m, prompt, 8, Options{Threads: 2, FloatPath: float})
				if !slices.Equal(a.PromptLogits(), b.PromptLogits()) || !slices.Equal(a.lastLogits, b.lastLogits) {
					t.Errorf("float path %v: -t 1 and -t 2 logits differ", float)
				}
				if !slices.Equal(a.Generated(), b.Generated()) {
					t.Errorf("float path %v: -t 1 generated %v, -t 2 %v", float, a.Generated(), b.Generated())
				}
			}
		})
	}
}

// TestContextFull: generation stops, without error, when the model's
// context is full.
func TestContextFull(t *testing.T) {
	m := openRef(t, "tiny", "tiny-llama-f32.gguf")
	small := *m
	small.Params.NCtx = 9
	s := evalOpts(t, &small, []int{1, 403, 407, 261, 378}, 20, Options{})
	// 5 prompt positions + 4 decoded = 9 positions: 5 tokens sampled.
	if !s.ContextFull() || len(s.Generated()) != 5 {
		t.Errorf("context full %v after %d tokens, want true after 5", s.ContextFull(), len(s.Generated()))
	}
}
