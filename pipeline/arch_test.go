package pipeline

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/tensor"
)

func smallSpec(arch string) fixtures.Spec {
	return fixtures.Spec{Arch: arch, NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 96,
		NVocab: fixtures.MinVocab() + 16, NCtx: 64, Type: tensor.F32, Seed: 5}
}

func promptLogits(t *testing.T, m *Model, prompt string) ([]int, []float32) {
	t.Helper()
	s, err := m.NewSession(prompt, Options{MaxTokens: 1, AllLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return s.PromptTokens(), s.PromptLogits()
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestSafetensorsMatchesGGUF: the same Spec written as GGUF (permuted Q/K,
// NORM rope) and as a safetensors directory (HF layout, NEOX rope) gives
// the same tokens and logits.
func TestSafetensorsMatchesGGUF(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2"} {
		t.Run(arch, func(t *testing.T) {
			spec := smallSpec(arch)
			dir := t.TempDir()
			gguf, st := filepath.Join(dir, "m.gguf"), filepath.Join(dir, "st")
			if err := fixtures.WriteGGUFFile(gguf, spec); err != nil {
				t.Fatal(err)
			}
			if err := fixtures.WriteSafetensorsDir(st, spec); err != nil {
				t.Fatal(err)
			}
			var ids [2][]int
			var logits [2][]float32
			for i, path := range []string{gguf, st} {
				m, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				ids[i], logits[i] = promptLogits(t, m, "Once upon a time there was")
			}
			if !slices.Equal(ids[0], ids[1]) {
				t.Fatalf("prompt tokens: gguf %v, safetensors %v", ids[0], ids[1])
			}
			if d := maxDiff(logits[0], logits[1]); d > 1e-5 {
				t.Errorf("gguf and safetensors logits differ by %.3g > 1e-5", d)
			} else {
				t.Logf("max |diff| %.3g", d)
			}
		})
	}
}

// TestQwen2Biases: Qwen2 with its Q/K/V biases zeroed is exactly LLaMA
// with NEOX rope over the same weights; its real (nonzero) biases change
// the logits.
func TestQwen2Biases(t *testing.T) {
	spec := smallSpec("qwen2")
	path := filepath.Join(t.TempDir(), "q.gguf")
	if err := fixtures.WriteGGUFFile(path, spec); err != nil {
		t.Fatal(err)
	}
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	qwen, err := FromFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !qwen.Params.RopeNeox || qwen.W.Layers[0].Bq == nil {
		t.Fatalf("qwen2 should bind biases and use NEOX rope: neox %v", qwen.Params.RopeNeox)
	}
	lp := qwen.Params
	lp.Arch = "llama"
	llama, err := NewModel("llama-neox", lp, f.Tensor, nil)
	if err != nil {
		t.Fatal(err)
	}
	zeroed := *qwen
	w := *qwen.W
	w.Layers = slices.Clone(w.Layers)
	for i := range w.Layers {
		l := &w.Layers[i]
		l.Bq, l.Bk, l.Bv = make([]float32, len(l.Bq)), make([]float32, len(l.Bk)), make([]float32, len(l.Bv))
	}
	zeroed.W = &w

	prompt := []int{1, 20, 30, 40, 50, 60}
	run := func(m *Model) []float32 {
		s := evalOpts(t, m, prompt, 1, Options{})
		return s.PromptLogits()
	}
	ll, zq, q := run(llama), run(&zeroed), run(qwen)
	if !slices.Equal(ll, zq) {
		t.Errorf("qwen2 with zero biases differs from llama+NEOX by %.3g", maxDiff(ll, zq))
	}
	if d := maxDiff(q, zq); d < 1e-3 {
		t.Errorf("nonzero biases changed the logits by only %.3g", d)
	}
}

func TestBindErrors(t *testing.T) {
	spec := smallSpec("llama")
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := fixtures.WriteGGUFFile(path, spec); err != nil {
		t.Fatal(err)
	}
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	p := ParamsFrom(c)
	for _, tc := range []struct {
		name   string
		p      func(Params) Params
		lookup Lookup
		want   string
	}{
		{"unregistered arch", func(p Params) Params { p.Arch = "gpt2"; return p }, f.Tensor, `unsupported architecture "gpt2"`},
		{"missing tensor", func(p Params) Params { return p }, func(n string) (*tensor.Tensor, bool) {
			if n == "blk.1.ffn_up.weight" {
				return nil, false
			}
			return f.Tensor(n)
		}, "missing tensor blk.1.ffn_up.weight"},
		{"wrong shape", func(p Params) Params { p.NFF = 80; return p }, f.Tensor, "tensor blk.0.ffn_gate.weight has shape [64 96], want [64 80]"},
		{"bad head split", func(p Params) Params { p.NHeadKV = 3; return p }, f.Tensor, "not a multiple"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewModel("m.gguf", tc.p(p), tc.lookup, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "m.gguf: ") {
				t.Errorf("error %v, want one naming the file and %q", err, tc.want)
			}
		})
	}
}
