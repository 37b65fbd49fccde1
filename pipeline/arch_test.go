package pipeline

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/internal/refdata"
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

// TestSafetensorsStories260K converts the real stories260K.gguf back into
// a Hugging Face safetensors directory (Q/K rows returned to HF's
// rotate-half order, the inverse of convert_hf_to_gguf's permute, with
// n_head_kv heads for K) and holds its logits to the GGUF's (1e-5) and to
// llama.cpp's (2e-3). Writing the rows unpermuted must break the match, so
// the test does exercise the permutation.
func TestSafetensorsStories260K(t *testing.T) {
	src := openRef(t, "stories260K", "stories260K.gguf")
	lp, _ := refPaths(t, "stories260K", "", "once-upon-a-time")
	var ref llamacppRef
	readJSON(t, lp, &ref)
	f, err := loader.Open(refdata.Path(t, "stories260K", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	ggufLogits := evalOpts(t, src, ref.PromptTokens, 1, Options{}).PromptLogits()
	for _, permute := range []bool{true, false} {
		dir := t.TempDir()
		writeHFDir(t, dir, f, c, permute)
		st, err := loader.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		m, err := FromFile(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := evalOpts(t, m, ref.PromptTokens, 1, Options{}).PromptLogits()
		dg, dl := maxDiff(got, ggufLogits), maxAbsDiff(got, ref.PromptLogits)
		t.Logf("rows in HF order %v: max |diff| %.3g vs the GGUF, %.3g vs llama.cpp", permute, dg, dl)
		if permute && (dg > 1e-5 || dl > 2e-3) {
			t.Errorf("safetensors logits differ from the GGUF by %.3g (> 1e-5) or from llama.cpp by %.3g (> 2e-3)", dg, dl)
		}
		if !permute && dl < 0.1 {
			t.Errorf("GGUF row order in a safetensors file still matches llama.cpp (%.3g): the permutation is not exercised", dl)
		}
	}
}

// writeHFDir writes the F32 GGUF f as model.safetensors + config.json. With
// hfOrder, Q/K rows go back to HF order: GGUF row h*hd + 2i + j came from
// HF row h*hd + j*hd/2 + i (convert_hf_to_gguf: reshape(n_head, 2, hd/2,
// cols).swapaxes(1, 2)).
func writeHFDir(t *testing.T, dir string, f *loader.File, c loader.Config, hfOrder bool) {
	t.Helper()
	hfNames := map[string]string{"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
		"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
		"attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
	var hdr strings.Builder
	var data []byte
	hdr.WriteString(`{"__metadata__":{"format":"pt"}`)
	for _, tn := range f.Tensors {
		if tn.Type != tensor.F32 {
			t.Fatalf("%s is %s: this converter writes F32 only", tn.Name, tn.Type)
		}
		var name string
		switch tn.Name {
		case "token_embd.weight":
			name = "model.embed_tokens.weight"
		case "output_norm.weight":
			name = "model.norm.weight"
		case "output.weight":
			name = "lm_head.weight"
		default:
			var layer int
			var rest string
			if _, err := fmt.Sscanf(tn.Name, "blk.%d.%s", &layer, &rest); err != nil {
				t.Fatalf("tensor %s: %v", tn.Name, err)
			}
			base := strings.TrimSuffix(rest, ".weight")
			name = fmt.Sprintf("model.layers.%d.%s.weight", layer, hfNames[base])
		}
		body := tn.Data
		heads := 0
		if strings.HasSuffix(tn.Name, "attn_q.weight") {
			heads = c.NHead
		} else if strings.HasSuffix(tn.Name, "attn_k.weight") {
			heads = c.NHeadKV
		}
		if heads > 0 && hfOrder {
			rows, rb := tn.Rows(), 4*tn.Cols()
			hd := rows / heads
			body = make([]byte, len(tn.Data))
			for h := range heads {
				for i := range hd / 2 {
					for j := range 2 {
						g, hf := h*hd+2*i+j, h*hd+j*hd/2+i
						copy(body[hf*rb:(hf+1)*rb], tn.Data[g*rb:(g+1)*rb])
					}
				}
			}
		}
		shape := make([]string, len(tn.Dims))
		for k, d := range tn.Dims {
			shape[len(tn.Dims)-1-k] = strconv.Itoa(d)
		}
		fmt.Fprintf(&hdr, `,%q:{"dtype":"F32","shape":[%s],"data_offsets":[%d,%d]}`,
			name, strings.Join(shape, ","), len(data), len(data)+len(body))
		data = append(data, body...)
	}
	hdr.WriteString("}")
	file := binary.LittleEndian.AppendUint64(nil, uint64(hdr.Len()))
	file = append(append(file, hdr.String()...), data...)
	cfg := fmt.Sprintf(`{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":%d,"intermediate_size":%d,
"num_hidden_layers":%d,"num_attention_heads":%d,"num_key_value_heads":%d,"max_position_embeddings":%d,
"rms_norm_eps":%g,"rope_theta":%g,"tie_word_embeddings":false,"vocab_size":%d,"torch_dtype":"float32"}`,
		c.NEmbd, c.NFF, c.NLayer, c.NHead, c.NHeadKV, c.NCtx, c.RMSEps, c.RopeFreqBase, c.NVocab)
	for name, b := range map[string][]byte{"model.safetensors": file, "config.json": []byte(cfg)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
