package pipeline

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/infertrace/infertrace/trace"
)

// engineCases are reference models that take every dispatch path of the
// forward pass: GQA (stories260K), one weight type (Q8_0, F16) and the
// Q4_K_M mix, whose Q/K/V and gate/up launches hold weights of different
// types (so several activation encodings in one fused launch).
var engineCases = []struct{ dir, file string }{
	{"stories260K", "stories260K.gguf"},
	{"tiny", "tiny-llama-q8_0.gguf"},
	{"tiny", "tiny-llama-f16.gguf"},
	{"tiny", "tiny-llama-q4_k_m.gguf"},
}

// enginePrompt is 24 ids below 512 (both vocabularies): long enough that
// the row-parallel norms, RoPE, residuals and SwiGLU run on the pool.
func enginePrompt() []int {
	p := make([]int, 24)
	for i := range p {
		p[i] = 1 + (i*97+31)%500
	}
	return p
}

// TestEngineBitIdentical: the prompt logits, the last logits and the
// greedy tokens are bit-identical for 1, 2, 3 and 5 workers (uneven
// splits of rows, fused launches and elementwise work), on both matmul
// paths, and with KERNEL_LAUNCH traced, where every weight is its own
// launch instead of the fused Q/K/V and gate/up launches.
func TestEngineBitIdentical(t *testing.T) {
	for _, tc := range engineCases {
		t.Run(tc.file, func(t *testing.T) {
			m := openRef(t, tc.dir, tc.file)
			prompt := enginePrompt()
			for _, float := range []bool{false, true} {
				ref := evalOpts(t, m, prompt, 6, Options{Threads: 1, FloatPath: float})
				variants := []struct {
					name string
					o    Options
				}{
					{"-t 2", Options{Threads: 2}},
					{"-t 3", Options{Threads: 3}},
					{"-t 5", Options{Threads: 5}},
					{"-t 2, KERNEL_LAUNCH traced", Options{Threads: 2, Trace: &trace.Config{Steps: trace.Steps(0).With(trace.KernelLaunch)}}},
				}
				for _, v := range variants {
					v.o.FloatPath = float
					s := evalOpts(t, m, prompt, 6, v.o)
					if !bitsEqual(s.PromptLogits(), ref.PromptLogits()) || !bitsEqual(s.lastLogits, ref.lastLogits) {
						t.Errorf("float path %v: %s logits differ from -t 1", float, v.name)
					}
					if !slices.Equal(s.Generated(), ref.Generated()) {
						t.Errorf("float path %v: %s generated %v, -t 1 %v", float, v.name, s.Generated(), ref.Generated())
					}
				}
			}
		})
	}
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestBrickProfileBricks: a profiled run records every brick of the
// forward pass once per layer and launch — attention as its three phases
// (scores, softmax, weighted V sum), the fused Q/K/V launch as three
// QkvProjection bricks and the fused gate/up launch as a GateProjection and
// an UpProjection — with time in each, the flops of the causal attention
// of the prompt batch, and the bricks' sum within the wall time.
func TestBrickProfileBricks(t *testing.T) {
	m := openRef(t, "tiny", "tiny-llama-q8_0.gguf")
	p := m.Params
	prompt := enginePrompt()
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("t%d", threads), func(t *testing.T) {
			s, err := m.NewSession("", Options{Tokens: prompt, MaxTokens: 2, Threads: threads,
				Trace: &trace.Config{Steps: trace.Steps(0).With(trace.BrickProfile)}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var profs []*trace.Profile
			for ev := range s.Events() {
				if ev.Type == trace.TaskStateExited && ev.State == trace.BrickProfile {
					profs = append(profs, ev.Payload.Profile)
				}
			}
			if len(profs) != 2 {
				t.Fatalf("%d profiles, want 2", len(profs))
			}
			for it, pr := range profs {
				got := map[string]trace.BrickStat{}
				for _, b := range pr.Bricks {
					got[b.Name] = b
				}
				L := p.NLayer
				want := map[trace.Brick]int{trace.RmsNorm: 2*L + 1, trace.QkvProjection: 3 * L, trace.RopeEmbedding: L,
					trace.AttentionScore: L, trace.AttentionSoftmax: L, trace.AttentionOutput: L, trace.OutputProjection: L,
					trace.GateProjection: L, trace.UpProjection: L, trace.Activation: L, trace.DownProjection: L,
					trace.Embedding: 1, trace.LmHead: 1, trace.Sampling: 1}
				for b, n := range want {
					bs, ok := got[b.String()]
					switch {
					case !ok:
						t.Errorf("iteration %d: no %s brick", it, b)
					case bs.Count != n:
						t.Errorf("iteration %d: %s counted %d times, want %d", it, b, bs.Count, n)
					case bs.TotalNS <= 0 && b != trace.Sampling && b != trace.Embedding:
						t.Errorf("iteration %d: %s took %d ns", it, b, bs.TotalNS)
					}
				}
				// Keys the causal rows visit per head: Σ (pos+i+1).
				n, pos := len(prompt), 0
				if it == 1 {
					n, pos = 1, len(prompt)
				}
				keys := int64(n*pos + n*(n+1)/2)
				qDim := int64(p.NHead * p.HeadDim)
				if f := got["AttentionScore"].FLOPs; f != int64(L)*2*keys*qDim {
					t.Errorf("iteration %d: AttentionScore %d flops, want %d", it, f, int64(L)*2*keys*qDim)
				}
				if pr.MeasuredNS > pr.WallNS {
					t.Errorf("iteration %d: bricks %d ns > wall %d ns", it, pr.MeasuredNS, pr.WallNS)
				}
			}
		})
	}
}

// TestFinite: a NaN or an infinity at any position of any length is found
// (the scan's four sums and its tail), and the largest finite values are
// not mistaken for one.
func TestFinite(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for n := range 11 {
		x := make([]float32, n)
		for i := range x {
			x[i] = math.MaxFloat32 * float32(1-2*(i%2))
		}
		if !finite(x) {
			t.Errorf("n=%d: finite values reported non-finite", n)
		}
		for pos := range n {
			for _, v := range bad {
				old := x[pos]
				x[pos] = v
				if finite(x) {
					t.Errorf("n=%d: %v at %d not found", n, v, pos)
				}
				x[pos] = old
			}
		}
	}
}
