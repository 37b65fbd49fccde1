package pipeline

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/tensor"
)

// ref64 is an independent reference forward pass in float64, written from
// the textbook definition of LLaMA/Qwen2 and sharing nothing with the engine
// but tensor.Dequantize: one token at a time, a plain KV cache, no pool, no
// batching, no float32 anywhere after dequantization. The tests below first
// hold it to llama.cpp on real files (so it is known to be right for llama),
// then use it as the reference for Qwen2, of which ../shared has no file.
type ref64 struct {
	c              loader.Config
	embd, out      [][]float64 // [token][n_embd]
	outNorm        []float64
	layers         []ref64Layer
	neox, noBiases bool // overrides to prove the tests can fail
}

type ref64Layer struct {
	attnNorm, ffnNorm  []float64
	wq, wk, wv, wo     [][]float64 // [out row][in]
	bq, bk, bv         []float64   // nil without biases
	gate, up, down     [][]float64
	kCache, vCache     [][]float64 // [pos][n_head_kv*head_dim]
	qDim, kvDim, nHead int
}

// newRef64 dequantizes every weight of f into float64 matrices.
func newRef64(t *testing.T, f *loader.File) *ref64 {
	t.Helper()
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	mat := func(name string) [][]float64 {
		tn, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("%s: no tensor %s", f.Path, name)
		}
		vals, err := tensor.Dequantize(tn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cols := tn.Dims[0]
		rows := make([][]float64, len(vals)/cols)
		for r := range rows {
			rows[r] = make([]float64, cols)
			for i := range cols {
				rows[r][i] = float64(vals[r*cols+i])
			}
		}
		return rows
	}
	vec := func(name string) []float64 {
		if _, ok := f.Tensor(name); !ok {
			return nil
		}
		return mat(name)[0]
	}
	r := &ref64{c: c, embd: mat("token_embd.weight"), outNorm: vec("output_norm.weight"), neox: c.RopeType == loader.RopeNeox}
	r.out = r.embd
	if _, ok := f.Tensor("output.weight"); ok {
		r.out = mat("output.weight")
	}
	for i := range c.NLayer {
		p := "blk." + strconv.Itoa(i) + "."
		r.layers = append(r.layers, ref64Layer{
			attnNorm: vec(p + "attn_norm.weight"), ffnNorm: vec(p + "ffn_norm.weight"),
			wq: mat(p + "attn_q.weight"), wk: mat(p + "attn_k.weight"), wv: mat(p + "attn_v.weight"),
			wo: mat(p + "attn_output.weight"), bq: vec(p + "attn_q.bias"), bk: vec(p + "attn_k.bias"),
			bv: vec(p + "attn_v.bias"), gate: mat(p + "ffn_gate.weight"), up: mat(p + "ffn_up.weight"),
			down: mat(p + "ffn_down.weight"),
			qDim: c.NHead * c.HeadDim, kvDim: c.NHeadKV * c.HeadDim, nHead: c.NHead,
		})
	}
	return r
}

func matVec(w [][]float64, x, bias []float64) []float64 {
	y := make([]float64, len(w))
	for r, row := range w {
		var s float64
		for i, v := range row {
			s += v * x[i]
		}
		if bias != nil {
			s += bias[r]
		}
		y[r] = s
	}
	return y
}

func rmsNorm64(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	scale := 1 / math.Sqrt(ss/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * scale * w[i]
	}
	return y
}

// rope rotates each head of x at position pos: dimension pairs (2i, 2i+1)
// (NORM) or (i, i+n/2) (NEOX) by pos·base^(-2i/n), n = rope dimensions.
func (r *ref64) rope(x []float64, pos int) {
	hd, n := r.c.HeadDim, r.c.RopeDim
	for h := 0; h < len(x)/hd; h++ {
		v := x[h*hd : (h+1)*hd]
		for i := range n / 2 {
			theta := float64(pos) * math.Pow(r.c.RopeFreqBase, -2*float64(i)/float64(n))
			a, b := 2*i, 2*i+1
			if r.neox {
				a, b = i, i+n/2
			}
			c, s := math.Cos(theta), math.Sin(theta)
			v[a], v[b] = v[a]*c-v[b]*s, v[a]*s+v[b]*c
		}
	}
}

// forward feeds one token at position pos (= the cache length) and
// returns its logits.
func (r *ref64) forward(tok, pos int) []float64 {
	c := r.c
	x := append([]float64(nil), r.embd[tok]...)
	hd := c.HeadDim
	group := c.NHead / c.NHeadKV
	for li := range r.layers {
		l := &r.layers[li]
		bq, bk, bv := l.bq, l.bk, l.bv
		if r.noBiases {
			bq, bk, bv = nil, nil, nil
		}
		xn := rmsNorm64(x, l.attnNorm, c.RMSEps)
		q, k, v := matVec(l.wq, xn, bq), matVec(l.wk, xn, bk), matVec(l.wv, xn, bv)
		r.rope(q, pos)
		r.rope(k, pos)
		l.kCache, l.vCache = append(l.kCache, k), append(l.vCache, v)
		att := make([]float64, l.qDim)
		for h := range c.NHead {
			kvh := h / group
			qh := q[h*hd : (h+1)*hd]
			scores := make([]float64, len(l.kCache))
			best := math.Inf(-1)
			for j, kj := range l.kCache {
				var s float64
				for i := range hd {
					s += qh[i] * kj[kvh*hd+i]
				}
				scores[j] = s / math.Sqrt(float64(hd))
				best = math.Max(best, scores[j])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - best)
				sum += scores[j]
			}
			for j, vj := range l.vCache {
				for i := range hd {
					att[h*hd+i] += scores[j] / sum * vj[kvh*hd+i]
				}
			}
		}
		for i, o := range matVec(l.wo, att, nil) {
			x[i] += o
		}
		xn = rmsNorm64(x, l.ffnNorm, c.RMSEps)
		g, u := matVec(l.gate, xn, nil), matVec(l.up, xn, nil)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		for i, d := range matVec(l.down, g, nil) {
			x[i] += d
		}
	}
	return matVec(r.out, rmsNorm64(x, r.outNorm, c.RMSEps), nil)
}

// logits runs the prompt and returns every position's logits.
func (r *ref64) logits(prompt []int) [][]float64 {
	for i := range r.layers {
		r.layers[i].kCache, r.layers[i].vCache = nil, nil
	}
	out := make([][]float64, len(prompt))
	for pos, tok := range prompt {
		out[pos] = r.forward(tok, pos)
	}
	return out
}

func openFile64(t *testing.T, path string) *loader.File {
	t.Helper()
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestRef64MatchesLlamaCpp validates the float64 reference itself: on the
// real F32 files its logits are those of llama.cpp (which agrees with the
// numpy math to 6e-5 on stories260K and 1e-5 on tiny, README).
func TestRef64MatchesLlamaCpp(t *testing.T) {
	for _, tc := range []struct{ dir, file, ref string }{
		{"stories260K", "stories260K.gguf", "once-upon-a-time"},
		{"tiny", "tiny-llama-f32.gguf", "tiny-llama-f32"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := newRef64(t, openFile64(t, refdata.Path(t, tc.dir, tc.file)))
			lp, _ := refPaths(t, tc.dir, tc.file, tc.ref)
			var lr llamacppRef
			readJSON(t, lp, &lr)
			d := maxDiff64(r.logits(lr.PromptTokens), lr.PromptLogits)
			t.Logf("float64 reference vs llama.cpp: max |diff| %.3g", d)
			if d > 1e-4 {
				t.Errorf("float64 reference differs from llama.cpp by %.3g > 1e-4", d)
			}
		})
	}
}

// TestQwen2MatchesRef64 holds the engine's qwen2 path (Q/K/V biases, NEOX
// rope, GQA) to the float64 reference on fixture models, and shows that
// the comparison can fail: the reference without the biases, or with NORM
// rope, is far from the engine.
func TestQwen2MatchesRef64(t *testing.T) {
	const tol = 2e-5 // float32 vs float64 on logits of magnitude < 10 (measured ≤ 1.7e-6)
	for _, tc := range []struct {
		name string
		spec fixtures.Spec
	}{
		{"qwen2 gqa", fixtures.Spec{Arch: "qwen2", NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 96,
			NVocab: fixtures.MinVocab() + 16, NCtx: 64, Type: tensor.F32, Seed: 11, RopeBase: 1e6}},
		{"qwen2 mha tied", fixtures.Spec{Arch: "qwen2", NEmbd: 48, NLayer: 3, NHead: 3, NHeadKV: 3, NFF: 80,
			NVocab: fixtures.MinVocab(), NCtx: 64, Type: tensor.F32, Seed: 12, Tied: true}},
		{"llama gqa", fixtures.Spec{Arch: "llama", NEmbd: 64, NLayer: 2, NHead: 8, NHeadKV: 2, NFF: 96,
			NVocab: fixtures.MinVocab() + 16, NCtx: 64, Type: tensor.F32, Seed: 13}},
		// Quantized matrices (F32 biases and norms): the float path multiplies
		// the same dequantized weights as the reference.
		{"qwen2 q8_0", fixtures.Spec{Arch: "qwen2", NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 96,
			NVocab: fixtures.MinVocab() + 16, NCtx: 64, Type: tensor.Q8_0, Seed: 14}},
		{"qwen2 q4_0", fixtures.Spec{Arch: "qwen2", NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 96,
			NVocab: fixtures.MinVocab() + 16, NCtx: 64, Type: tensor.Q4_0, Seed: 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := fixtures.WriteGGUFFile(path, tc.spec); err != nil {
				t.Fatal(err)
			}
			f := openFile64(t, path)
			m, err := FromFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := newRef64(t, f)
			if tc.spec.Arch == "qwen2" && (!r.neox || r.layers[0].bq == nil) {
				t.Fatalf("qwen2 fixture: neox %v, biases %v", r.neox, r.layers[0].bq != nil)
			}
			prompt := []int{1, 40, 7, 99, 23, 40, 61, 5, 17}
			got := evalOpts(t, m, prompt, 1, Options{FloatPath: true}).PromptLogits()
			want := r.logits(prompt)
			d := maxAbsDiff(got, want)
			t.Logf("engine vs float64 reference: max |diff| %.3g (largest |logit| %.3g)", d, maxAbs64(want))
			if d > tol {
				t.Errorf("engine differs from the float64 reference by %.3g > %g", d, tol)
			}
			// The same comparison with a deliberately wrong reference fails.
			r.neox = !r.neox
			if d := maxAbsDiff(got, r.logits(prompt)); d < 100*tol {
				t.Errorf("with the other rope type the reference still agrees (%.3g): the prompt does not exercise rope", d)
			}
			r.neox = !r.neox
			if tc.spec.Arch == "qwen2" {
				r.noBiases = true
				if d := maxAbsDiff(got, r.logits(prompt)); d < 100*tol {
					t.Errorf("without biases the reference still agrees (%.3g): the biases are not exercised", d)
				}
			}
		})
	}
}

func maxDiff64(a, b [][]float64) float64 {
	d := 0.0
	for p := range b {
		for i := range b[p] {
			d = math.Max(d, math.Abs(a[p][i]-b[p][i]))
		}
	}
	return d
}

func maxAbs64(a [][]float64) float64 {
	m := 0.0
	for _, row := range a {
		for _, v := range row {
			m = math.Max(m, math.Abs(v))
		}
	}
	return m
}
