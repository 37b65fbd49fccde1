package pipeline

import (
	"math"
	"slices"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
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
	cases := []struct{ dir, file string }{{"stories260K", "stories260K.gguf"}, {"stories260K", "stories260K-q4_0-ggufpy.gguf"}}
	// Every tensor type: each has its own kernels and row split.
	for _, q := range []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q4_k_m"} {
		cases = append(cases, struct{ dir, file string }{"tiny", "tiny-llama-" + q + ".gguf"})
	}
	for _, tc := range cases {
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

// TestEvalMatchesLlamaCpp runs Eval (prompt batch, then one token at a
// time) on every shared file and holds it to llama.cpp's reference: the
// prompt tokens, the greedy tokens and text exactly, and the top-5 logits
// after each greedy token (the matrix × vector decode path, which the
// prompt logits do not cover) within 2e-3, except the measured exceptions
// in loose.
func TestEvalMatchesLlamaCpp(t *testing.T) {
	type tc struct{ dir, file, ref string }
	cases := []tc{
		{"stories260K", "stories260K.gguf", "once-upon-a-time"},
		{"stories260K", "stories260K-q8_0-ggufpy.gguf", "once-upon-a-time.q8_0"},
		{"stories260K", "stories260K-q4_0-ggufpy.gguf", "once-upon-a-time.q4_0"},
	}
	for _, q := range []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q4_k_m"} {
		cases = append(cases, tc{"tiny", "tiny-llama-" + q + ".gguf", "tiny-llama-" + q})
	}
	// loose lists, per file, how many greedy steps may exceed 2e-3 and the
	// bound they must still keep (measured 2026-11). BF16: most steps, up
	// to 5.4e-3, as its prompt logits (intDiverges). Q4_0: step 12 only
	// (8.2e-3); Q5_1: steps 1 and 8 (4.5e-3, 2.5e-3). Every other step of
	// those two matches to 5e-6, the later ones included, so the
	// difference does not reach the KV cache: it lies in the last layer's
	// output projection/FFN or the LM head at that one step (one
	// activation quantized differently), not in a drift. Our decode equals
	// our batched evaluation of the same sequence, which matches
	// llama.cpp's batched prompt logits to 5e-6 for these types.
	loose := map[string]struct {
		steps int
		bound float64
	}{
		"tiny-llama-bf16.gguf": {16, 1e-2},
		"tiny-llama-q4_0.gguf": {1, 1e-2},
		"tiny-llama-q5_1.gguf": {2, 1e-2},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m, err := Load(refdata.Path(t, c.dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			lp, _ := refPaths(t, c.dir, c.file, c.ref)
			var ref struct {
				llamacppRef
				Top5 [][][2]float64 `json:"greedy_logits_top5"`
			}
			readJSON(t, lp, &ref)
			r, err := m.Eval(ref.Prompt, len(ref.GreedyTokens), Options{ParseSpecial: true})
			if err != nil {
				t.Fatal(err)
			}
			const tol = 2e-3
			allow := loose[c.file]
			if !slices.Equal(r.PromptTokens, ref.PromptTokens) || r.AddBOS != ref.AddBOS {
				t.Fatalf("prompt tokens %v (bos %v), want %v (%v)", r.PromptTokens, r.AddBOS, ref.PromptTokens, ref.AddBOS)
			}
			if !slices.Equal(r.GreedyTokens, ref.GreedyTokens) || r.GreedyText != ref.GreedyText {
				t.Errorf("greedy\n got %v %q\nwant %v %q", r.GreedyTokens, r.GreedyText, ref.GreedyTokens, ref.GreedyText)
			}
			if len(r.GreedyLogitsTop5) != len(ref.Top5) {
				t.Fatalf("%d top-5 rows, want %d", len(r.GreedyLogitsTop5), len(ref.Top5))
			}
			d, over := 0.0, 0
			for step, want := range ref.Top5 {
				got := r.GreedyLogitsTop5[step]
				ds := 0.0
				for k, w := range want {
					ds = math.Max(ds, math.Abs(got[k][1]-w[1]))
					// Ranks may swap only between logits closer than the bound.
					if got[k][0] != w[0] && math.Abs(got[k][1]-w[1]) > max(tol, allow.bound) {
						t.Errorf("step %d rank %d: token %v (%.4f), want %v (%.4f)", step, k, got[k][0], got[k][1], w[0], w[1])
					}
				}
				if ds > tol {
					over++
					if ds > allow.bound {
						t.Errorf("step %d: top-5 logits differ from llama.cpp by %.3g", step, ds)
					}
				}
				d = math.Max(d, ds)
			}
			t.Logf("greedy top-5 logits: max |diff| %.3g over %d steps, %d above %g", d, len(ref.Top5), over, tol)
			if over > allow.steps {
				t.Errorf("%d steps differ from llama.cpp by more than %g (max %.3g), allowed %d", over, tol, d, allow.steps)
			}
		})
	}
}

// eogVocab makes one more token end generation.
type eogVocab struct {
	Vocab
	eog int
}

func (v eogVocab) IsEOG(id int) bool { return id == v.eog || v.Vocab.IsEOG(id) }

// TestStopsAtEOGOrN: generation stops after -n tokens, or at the first
// end-of-generation token, which is not decoded into the text.
func TestStopsAtEOGOrN(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	lp, _ := refPaths(t, "stories260K", "", "once-upon-a-time")
	var ref llamacppRef
	readJSON(t, lp, &ref)
	run := func(m *Model, n int) ([]int, []int, string) {
		var streamed []int
		s, err := m.NewSession(ref.Prompt, Options{MaxTokens: n, OnToken: func(id int, _ string) { streamed = append(streamed, id) }})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		s.FlushText()
		return append([]int(nil), s.Generated()...), streamed, s.Text()
	}
	if gen, streamed, _ := run(m, 3); !slices.Equal(gen, ref.GreedyTokens[:3]) || !slices.Equal(streamed, gen) {
		t.Errorf("-n 3: generated %v, streamed %v, want %v", gen, streamed, ref.GreedyTokens[:3])
	}
	const k = 6 // the 7th greedy token becomes EOG
	stop := ref.GreedyTokens[k]
	if slices.Contains(ref.GreedyTokens[:k], stop) {
		t.Fatalf("token %d appears before step %d", stop, k)
	}
	em := *m
	em.Vocab = eogVocab{m.Vocab, stop}
	gen, streamed, text := run(&em, 32)
	if !slices.Equal(gen, ref.GreedyTokens[:k+1]) || !slices.Equal(streamed, ref.GreedyTokens[:k]) {
		t.Errorf("EOG at step %d: generated %v, streamed %v, want %v then stop", k, gen, streamed, ref.GreedyTokens[:k+1])
	}
	_, _, full := run(m, k)
	if text != full {
		t.Errorf("text with EOG %q, want the text of the tokens before it %q", text, full)
	}
}
