package loader

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// setKV replaces (or appends) a metadata entry of a builder.
func (g *gguf) setKV(key string, typ ValueType, build func(e *enc)) {
	for i, kv := range g.kvs {
		if kv.key == key {
			g.kvs = append(g.kvs[:i], g.kvs[i+1:]...)
			break
		}
	}
	g.kv(key, typ, build)
}

func (g *gguf) dropKV(key string) {
	for i, kv := range g.kvs {
		if kv.key == key {
			g.kvs = append(g.kvs[:i], g.kvs[i+1:]...)
			return
		}
	}
}

func TestConfigGGUF(t *testing.T) {
	str := func(s string) func(e *enc) { return func(e *enc) { e.str(s) } }
	u32 := func(x uint32) func(e *enc) { return func(e *enc) { e.u32(x) } }
	f32 := func(x float32) func(e *enc) { return func(e *enc) { e.u32(math.Float32bits(x)) } }
	for _, c := range []struct {
		name  string
		edit  func(g *gguf)
		kind  error  // nil: Config succeeds
		msg   string // error fragment
		check func(t *testing.T, c Config)
	}{
		{"qwen2 is NEOX", func(g *gguf) {
			g.setKV("general.architecture", TypeString, str("qwen2"))
			for i := range g.kvs {
				g.kvs[i].key = strings.Replace(g.kvs[i].key, "llama.", "qwen2.", 1)
			}
		}, nil, "", func(t *testing.T, c Config) {
			if c.Arch != "qwen2" || c.RopeType != RopeNeox || c.RopeFreqBase != 500000 {
				t.Errorf("%+v", c)
			}
		}},
		{"vocab from tokens", func(g *gguf) {
			g.kv("tokenizer.ggml.tokens", TypeArray, func(e *enc) {
				e.u32(uint32(TypeString))
				e.u64(2)
				e.str("a")
				e.str("b")
			})
		}, nil, "", func(t *testing.T, c Config) {
			if c.NVocab != 2 {
				t.Errorf("NVocab %d, want 2 (tokens) not 3 (token_embd)", c.NVocab)
			}
		}},
		{"linear rope scaling with factor 1", func(g *gguf) {
			g.kv("llama.rope.scaling.type", TypeString, str("linear"))
			g.kv("llama.rope.scaling.factor", TypeFloat32, f32(1))
		}, nil, "", nil},
		{"file type name", func(g *gguf) { g.setKV("general.file_type", TypeUint32, u32(15)) }, nil, "",
			func(t *testing.T, c Config) {
				if c.FileType != "MOSTLY_Q4_K_M" {
					t.Errorf("FileType %q", c.FileType)
				}
			}},
		{"unknown arch", func(g *gguf) { g.setKV("general.architecture", TypeString, str("gpt2")) }, ErrUnsupported,
			`unsupported architecture "gpt2" (supported: llama, qwen2)`, nil},
		{"no arch", func(g *gguf) { g.dropKV("general.architecture") }, ErrConfig, "no general.architecture", nil},
		{"missing n_embd", func(g *gguf) { g.dropKV("llama.embedding_length") }, ErrConfig, "missing metadata key llama.embedding_length", nil},
		{"zero heads", func(g *gguf) { g.setKV("llama.attention.head_count", TypeUint32, u32(0)) }, ErrConfig,
			"llama.attention.head_count is 0, want a positive integer", nil},
		{"heads as string", func(g *gguf) { g.setKV("llama.attention.head_count", TypeString, str("4")) }, ErrConfig,
			`llama.attention.head_count is "4", want a positive integer`, nil},
		{"n_embd not a multiple of heads", func(g *gguf) { g.setKV("llama.attention.head_count", TypeUint32, u32(3)) }, ErrConfig,
			"llama.embedding_length 32 is not a multiple of the head count 3", nil},
		{"kv heads", func(g *gguf) { g.setKV("llama.attention.head_count_kv", TypeUint32, u32(3)) }, ErrConfig,
			"head count 4 is not a multiple of the KV head count 3", nil},
		{"negative eps", func(g *gguf) { g.kv("llama.attention.layer_norm_rms_epsilon", TypeFloat32, f32(-1)) }, ErrConfig,
			"llama.attention.layer_norm_rms_epsilon is -1, want a positive number", nil},
		{"odd rope dim", func(g *gguf) { g.kv("llama.rope.dimension_count", TypeUint32, u32(7)) }, ErrConfig,
			"rope dimension 7 must be even and at most the head dimension 8", nil},
		{"yarn", func(g *gguf) { g.kv("llama.rope.scaling.type", TypeString, str("yarn")) }, ErrUnsupported,
			`unsupported RoPE scaling "yarn" (llama.rope.scaling.type)`, nil},
		{"embedding width", func(g *gguf) { g.setKV("llama.embedding_length", TypeUint32, u32(64)) }, ErrConfig,
			"token_embd.weight has dims [32 3], want [64 3] (n_embd, n_vocab)", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := validGGUF()
			c.edit(g)
			f, err := FromBytes("cfg.gguf", g.bytes())
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := f.Config()
			if c.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.check != nil {
					c.check(t, cfg)
				}
				return
			}
			if !errors.Is(err, c.kind) || !strings.HasPrefix(err.Error(), "cfg.gguf: ") || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v, want %v containing %q", err, c.kind, c.msg)
			}
		})
	}
}
