package loader

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

// tinyLlamaST lays out a 1-layer HF llama (no lm_head: tied) and returns
// its header entries and data length.
func tinyLlamaST(tied bool) (map[string]any, int) {
	specs := []any{
		"model.embed_tokens.weight", "F32", []uint64{10, 16},
		"model.norm.weight", "F32", []uint64{16},
		"model.layers.0.input_layernorm.weight", "BF16", []uint64{16},
		"model.layers.0.self_attn.q_proj.weight", "F16", []uint64{16, 16},
		"model.layers.0.self_attn.k_proj.weight", "F16", []uint64{8, 16},
		"model.layers.0.self_attn.v_proj.weight", "F16", []uint64{8, 16},
		"model.layers.0.self_attn.q_proj.bias", "F32", []uint64{16},
		"model.layers.0.self_attn.o_proj.weight", "F16", []uint64{16, 16},
		"model.layers.0.post_attention_layernorm.weight", "F32", []uint64{16},
		"model.layers.0.mlp.gate_proj.weight", "F32", []uint64{24, 16},
		"model.layers.0.mlp.up_proj.weight", "F32", []uint64{24, 16},
		"model.layers.0.mlp.down_proj.weight", "F32", []uint64{16, 24},
	}
	if !tied {
		specs = append(specs, "lm_head.weight", "F32", []uint64{10, 16})
	}
	return stLayout(specs...)
}

const tinyHFConfig = `{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16,
 "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
 "vocab_size": 10, "max_position_embeddings": 128, "rope_theta": 10000.0, "rms_norm_eps": 1e-06,
 "tie_word_embeddings": true, "rope_scaling": null, "torch_dtype": "float32"}`

func TestSafetensorsSingle(t *testing.T) {
	dir := t.TempDir()
	entries, n := tinyLlamaST(true)
	b := safetensorsBytes(entries, n)
	p := writeFile(t, dir, "model.safetensors", b)
	writeFile(t, dir, "config.json", []byte(tinyHFConfig))
	for _, open := range []string{p, dir} {
		f, err := Open(open)
		if err != nil {
			t.Fatal(err)
		}
		if f.Format != "safetensors" || f.Version != 0 || f.Dir != dir || len(f.Tensors) != 12 || f.Size != int64(len(b)) {
			t.Errorf("%s: format %s v%d dir %s, %d tensors, size %d", open, f.Format, f.Version, f.Dir, len(f.Tensors), f.Size)
		}
		var names []string
		for _, tn := range f.Tensors {
			names = append(names, tn.Name)
		}
		want := []string{"token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
			"blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_q.bias", "blk.0.attn_output.weight",
			"blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"}
		if !slices.Equal(names, want) {
			t.Errorf("names (data order)\n got %v\nwant %v", names, want)
		}
		k, _ := f.Tensor("blk.0.attn_k.weight")
		e := entries["model.layers.0.self_attn.k_proj.weight"].(stEntry)
		at := f.DataOffset + int64(e.Offsets[0])
		if k.Type != tensor.F16 || !slices.Equal(k.Dims, []int{16, 8}) || &k.Data[0] != &f.mappings[0][at] || len(k.Data) != 256 {
			t.Errorf("attn_k: %v %v %d bytes (want F16 [16 8], a view at %d)", k.Type, k.Dims, len(k.Data), at)
		}
		if off, ok := f.Offset("blk.0.attn_k.weight"); !ok || off != at {
			t.Errorf("Offset = %d, want %d", off, at)
		}
		c, err := f.Config()
		if err != nil {
			t.Fatal(err)
		}
		wantC := Config{Arch: "llama", Name: filepath.Base(dir), NEmbd: 16, NLayer: 1, NHead: 4, NHeadKV: 2, NFF: 24, NVocab: 10,
			NCtx: 128, HeadDim: 4, RopeDim: 4, RopeFreqBase: 10000, RopeType: RopeNeox, RMSEps: 1e-6,
			TiedOutput: true, FileType: "F32 (guessed)"}
		if c != wantC {
			t.Errorf("Config\n got %+v\nwant %+v", c, wantC)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestSafetensorsSharded(t *testing.T) {
	dir := t.TempDir()
	entries, _ := tinyLlamaST(false)
	// Split into two shards: the embedding and lm_head in the second.
	shard := [2]map[string]any{{}, {}}
	wm := map[string]string{}
	for name := range entries {
		if name == "__metadata__" {
			continue
		}
		i := 0
		if name == "model.embed_tokens.weight" || name == "lm_head.weight" {
			i = 1
		}
		shard[i][name] = nil
	}
	for i, names := range shard {
		var specs []any
		for name := range names {
			e := entries[name].(stEntry)
			specs = append(specs, name, e.DType, e.Shape)
		}
		ent, n := stLayout(specs...)
		fn := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		writeFile(t, dir, fn, safetensorsBytes(ent, n))
		for name := range names {
			wm[name] = fn
		}
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 1}, "weight_map": wm})
	writeFile(t, dir, "model.safetensors.index.json", idx)
	writeFile(t, dir, "config.json", []byte(strings.Replace(tinyHFConfig, `"llama"`, `"qwen2"`, 1)))
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != 13 || len(f.mappings) != 2 {
		t.Fatalf("%d tensors, %d mappings", len(f.Tensors), len(f.mappings))
	}
	if out, ok := f.Tensor("output.weight"); !ok || !slices.Equal(out.Dims, []int{16, 10}) {
		t.Errorf("output.weight: %v", out)
	}
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	// architectures wins over model_type; llama safetensors is NEOX.
	if c.Arch != "llama" || c.TiedOutput || c.RopeType != RopeNeox {
		t.Errorf("Config %+v", c)
	}

	// A weight_map entry naming a tensor that is not in its shard.
	wm["model.extra.weight"] = "model-00001-of-00002.safetensors"
	idx, _ = json.Marshal(map[string]any{"weight_map": wm})
	writeFile(t, dir, "model.safetensors.index.json", idx)
	if _, err := Open(dir); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), `tensor "model.extra.weight" listed in model.safetensors.index.json is not in this shard`) {
		t.Errorf("missing tensor: %v", err)
	}
	// A shard path escaping the directory.
	delete(wm, "model.extra.weight")
	wm["lm_head.weight"] = "../model-00002-of-00002.safetensors"
	idx, _ = json.Marshal(map[string]any{"weight_map": wm})
	writeFile(t, dir, "model.safetensors.index.json", idx)
	if _, err := Open(dir); !errors.Is(err, ErrBadHeader) || !strings.Contains(err.Error(), "which is not a file name in the model directory") {
		t.Errorf("path traversal: %v", err)
	}
}

func TestSafetensorsConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, config string
		kind         error
		msg          string
	}{
		{"unknown arch", `{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}`, ErrUnsupported, `unsupported architecture "gpt2"`},
		{"no arch", `{"hidden_size": 16}`, ErrConfig, "neither model_type nor architectures is set"},
		{"not JSON", `{"hidden_size": `, ErrConfig, "config.json: not a valid config.json"},
		{"wrong type", `{"model_type": "llama", "hidden_size": "16"}`, ErrConfig, "not a valid config.json"},
		{"missing key", `{"model_type": "llama", "hidden_size": 16}`, ErrConfig, "missing metadata key llama.block_count"},
		{"rope scaling", strings.Replace(tinyHFConfig, `"rope_scaling": null`, `"rope_scaling": {"rope_type": "llama3", "factor": 8.0}`, 1),
			ErrUnsupported, `unsupported RoPE scaling "llama3"`},
		{"linear rope scaling", strings.Replace(tinyHFConfig, `"rope_scaling": null`, `"rope_scaling": {"type": "linear", "factor": 2.0}`, 1),
			ErrUnsupported, `unsupported RoPE scaling "linear"`},
		{"odd rope scaling", strings.Replace(tinyHFConfig, `"rope_scaling": null`, `"rope_scaling": [1]`, 1),
			ErrUnsupported, `unsupported RoPE scaling "unknown"`},
		{"heads", strings.Replace(tinyHFConfig, `"num_key_value_heads": 2`, `"num_key_value_heads": 3`, 1), ErrConfig,
			"head count 4 is not a multiple of the KV head count 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			entries, n := tinyLlamaST(true)
			writeFile(t, dir, "model.safetensors", safetensorsBytes(entries, n))
			writeFile(t, dir, "config.json", []byte(c.config))
			f, err := Open(dir)
			if err == nil {
				defer f.Close()
				_, err = f.Config()
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v, want %v containing %q", err, c.kind, c.msg)
			}
		})
	}
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotModel) || !strings.Contains(err.Error(), "directory has neither model.safetensors nor model.safetensors.index.json") {
		t.Errorf("empty dir: %v", err)
	}
}

// hostileSafetensors lists malformed safetensors files.
func hostileSafetensors() []struct {
	name string
	b    []byte
	kind error
	msg  string
} {
	type tc = struct {
		name string
		b    []byte
		kind error
		msg  string
	}
	entries := func(e map[string]any) []byte { return safetensorsBytes(e, 64) }
	var hugeLen enc
	hugeLen.u64(1 << 62)
	hugeLen = append(hugeLen, `{"a":1}`...)
	var notJSON enc
	notJSON.u64(8)
	notJSON = append(notJSON, "{nope!!}"...)
	return []tc{
		{"short", []byte{1, 2, 3}, ErrTruncated, "too short for the 8-byte safetensors header length"},
		{"header length larger than file", hugeLen, ErrTooLarge, "safetensors header length 4611686018427387904 is larger than the file (15 bytes)"},
		{"header not JSON", notJSON, ErrBadHeader, "safetensors header is not a JSON object: invalid character 'n'"},
		{"header a JSON array", func() []byte { var e enc; e.u64(2); return append(e, "[]"...) }(), ErrBadHeader, "not a JSON object: found [, want an object"},
		{"header with trailing data", func() []byte { var e enc; e.u64(4); return append(e, "{}{}"...) }(), ErrBadHeader, "data after the header object"},
		{"duplicate tensor name", func() []byte {
			h := `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
			var e enc
			e.u64(uint64(len(h)))
			return append(append(e, h...), make([]byte, 8)...)
		}(), ErrDuplicate, `duplicate tensor name "w" in the safetensors header`},
		{"entry of the wrong shape", entries(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}, "x": 1}}),
			ErrBadHeader, `safetensors entry "w": want {dtype, shape, data_offsets}`},
		{"missing offsets", entries(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{2}}}), ErrBadHeader, `safetensors entry "w": want dtype, shape and two data_offsets`},
		{"negative shape", entries(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{-2}, "data_offsets": []int{0, 8}}}), ErrBadHeader, `safetensors entry "w"`},
		{"unknown dtype", entries(map[string]any{"w": stEntry{"I8", []uint64{8}, []uint64{0, 8}}}), ErrUnknownDType, `tensor "w" has dtype I8; supported: F32, F16, BF16`},
		{"offsets inconsistent with shape", entries(map[string]any{"w": stEntry{"F32", []uint64{4, 3}, []uint64{0, 40}}}), ErrBadShape,
			`tensor "w" data_offsets [0, 40] hold 40 bytes, but F32 [4 3] needs 48`},
		{"offsets past the end", entries(map[string]any{"w": stEntry{"F32", []uint64{32}, []uint64{0, 128}}}), ErrOutOfBounds,
			`tensor "w" data_offsets [0, 128] lie outside the data section (64 bytes)`},
		{"offsets reversed", entries(map[string]any{"w": stEntry{"F32", []uint64{0}, []uint64{8, 0}}}), ErrOutOfBounds, `tensor "w" data_offsets [8, 0]`},
		{"shape overflows", entries(map[string]any{"w": stEntry{"F32", []uint64{1 << 40, 1 << 40}, []uint64{0, 8}}}), ErrBadShape, "the element count overflows"},
		{"five dims", entries(map[string]any{"w": stEntry{"F32", []uint64{1, 1, 1, 1, 2}, []uint64{0, 8}}}), ErrBadShape, "5 dimensions"},
		{"overlapping data_offsets", entries(map[string]any{
			"a": stEntry{"F32", []uint64{4}, []uint64{0, 16}},
			"b": stEntry{"F16", []uint64{8}, []uint64{8, 24}},
		}), ErrOverlap, `tensor "b" data_offsets [8, 24] overlap tensor "a" [0, 16]`},
		{"duplicate after renaming", entries(map[string]any{
			"model.norm.weight":  stEntry{"F32", []uint64{4}, []uint64{0, 16}},
			"output_norm.weight": stEntry{"F32", []uint64{4}, []uint64{16, 32}},
		}), ErrDuplicate, `tensor "output_norm.weight" (from "output_norm.weight") appears twice`},
	}
}

func TestHostileSafetensors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileSafetensors() {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, "bad.safetensors", c.b)
			var f *File
			var err error
			alloc := allocated(func() { f, err = Open(p) })
			if err == nil {
				f.Close()
				t.Fatalf("no error")
			}
			msg := err.Error()
			if !errors.Is(err, c.kind) || !strings.HasPrefix(msg, p+": ") || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q\nwant %v, one line naming the file, containing %q", msg, c.kind, c.msg)
			}
			if limit := 16*uint64(len(c.b)) + 64<<10; alloc > limit {
				t.Errorf("%d bytes allocated for a %d-byte file (limit %d)", alloc, len(c.b), limit)
			}
		})
	}
}

func TestSafetensorsHeaderCap(t *testing.T) {
	// A header length over the cap in a (sparse) file large enough to hold it.
	p := filepath.Join(t.TempDir(), "big.safetensors")
	var e enc
	e.u64(maxSafetensorsHeader + 1)
	e = append(e, '{')
	if err := os.WriteFile(p, e, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, maxSafetensorsHeader+64); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "exceeds the 104857600-byte limit") {
		t.Errorf("got %v", err)
	}
}
