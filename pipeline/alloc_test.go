package pipeline

import (
	"path/filepath"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// TestDecodeStepAllocs: with tracing off, a steady-state decode iteration
// (forward pass, Jidoka scan, sampling, bookkeeping) allocates nothing.
// The model has no tokenizer here: turning a token into a string is the
// tokenizer's business and not part of the step.
func TestDecodeStepAllocs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     tensor.Type
		sampler trace.SamplerConfig
	}{
		{"Q8_0 greedy", tensor.Q8_0, trace.SamplerConfig{}},
		{"F32 sampled", tensor.F32, trace.SamplerConfig{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64, Seed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := smallSpec("llama")
			spec.Type = tc.typ
			spec.NCtx = 512
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := fixtures.WriteGGUFFile(path, spec); err != nil {
				t.Fatal(err)
			}
			f, err := loader.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := FromFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.NewSession("", Options{Tokens: []int{1, 20, 30}, MaxTokens: 400, Threads: 2,
				Sampler: tc.sampler, Trace: &trace.Config{}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.yield = func(trace.Event) bool { return true }
			id, _, ok := s.iterate(0, s.prompt)
			if !ok {
				t.Fatal("prefill failed")
			}
			it := 1
			allocs := testing.AllocsPerRun(100, func() {
				s.one[0] = id
				id, _, ok = s.iterate(it, s.one[:])
				it++
			})
			if !ok {
				t.Fatal("decode failed")
			}
			if allocs != 0 {
				t.Errorf("decode step allocates %.1f times per token with tracing off", allocs)
			}
		})
	}
}
