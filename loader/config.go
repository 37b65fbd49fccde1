package loader

import (
	"fmt"
	"math"

	"github.com/infertrace/infertrace/tensor"
)

// RopeType selects how rotary position embedding pairs dimensions.
type RopeType int

// Rope types, numbered as in llama.cpp.
const (
	RopeNorm RopeType = 0 // adjacent pairs (2i, 2i+1): GGUF llama
	RopeNeox RopeType = 2 // halves (i, i+d/2): qwen2, and HF llama weights
)

// String returns "norm" or "neox".
func (r RopeType) String() string {
	switch r {
	case RopeNorm:
		return "norm"
	case RopeNeox:
		return "neox"
	}
	return fmt.Sprintf("rope(%d)", int(r))
}

// Config is the hyperparameter set of a llama or qwen2 model.
//
// RopeType: a GGUF llama uses RopeNorm because llama.cpp's converter
// permutes the Q/K weight rows of Hugging Face llama checkpoints from
// rotate-half order into interleaved-pair order. A safetensors llama keeps
// the original rotate-half rows, which is exactly NEOX rotation, so it gets
// RopeNeox with the weights untouched (no copy) and produces the same
// logits as its GGUF conversion. qwen2 is RopeNeox in both formats.
type Config struct {
	Arch         string // "llama" | "qwen2"
	Name         string // general.name
	NEmbd        int
	NLayer       int
	NHead        int
	NHeadKV      int
	NFF          int
	NVocab       int
	NCtx         int
	HeadDim      int
	RopeDim      int
	RopeFreqBase float64 // default 10000
	RopeType     RopeType
	RMSEps       float64
	TiedOutput   bool   // no output.weight: token_embd.weight is the LM head
	FileType     string // general.file_type as a name, or the dominant tensor type ("F32 (guessed)")
}

// Config derives the model hyperparameters from the "<arch>.*" metadata
// keys (synthesised from config.json for safetensors). n_vocab comes from
// the tokenizer.ggml.tokens length, else token_embd.weight, else
// <arch>.vocab_size. An unknown architecture or an inconsistent value is a
// *FormatError naming the file and the key.
func (f *File) Config() (Config, error) {
	m := f.Meta
	fail := func(format string, args ...any) (Config, error) {
		return Config{}, formatErr(f.Path, ErrConfig, format, args...)
	}
	arch, ok := m.String("general.architecture")
	if !ok {
		return fail("no general.architecture in the metadata")
	}
	var c Config
	switch arch {
	case "llama":
		c.RopeType = RopeNorm
		if f.Format == "safetensors" {
			c.RopeType = RopeNeox
		}
	case "qwen2":
		c.RopeType = RopeNeox
	default:
		return Config{}, formatErr(f.Path, ErrUnsupported, "unsupported architecture %q (supported: llama, qwen2)", arch)
	}
	c.Arch = arch
	c.Name, _ = m.String("general.name")

	intKey := func(dst *int, suffix string, def int) error {
		key := arch + "." + suffix
		v, ok := m.Get(key)
		if !ok {
			if def < 0 {
				return formatErr(f.Path, ErrConfig, "missing metadata key %s", key)
			}
			*dst = def
			return nil
		}
		x, ok := v.Uint()
		if !ok || x == 0 || x > math.MaxInt32 {
			return formatErr(f.Path, ErrConfig, "%s is %s, want a positive integer", key, v.Format(8))
		}
		*dst = int(x)
		return nil
	}
	floatKey := func(dst *float64, suffix string, def float64) error {
		key := arch + "." + suffix
		v, ok := m.Get(key)
		if !ok {
			*dst = def
			return nil
		}
		x, ok := v.Float()
		if !ok || !(x > 0) || math.IsInf(x, 0) {
			return formatErr(f.Path, ErrConfig, "%s is %s, want a positive number", key, v.Format(8))
		}
		*dst = x
		return nil
	}
	for _, k := range []struct {
		dst    *int
		suffix string
		def    int
	}{
		{&c.NEmbd, "embedding_length", -1},
		{&c.NLayer, "block_count", -1},
		{&c.NHead, "attention.head_count", -1},
		{&c.NFF, "feed_forward_length", -1},
		{&c.NCtx, "context_length", 2048},
	} {
		if err := intKey(k.dst, k.suffix, k.def); err != nil {
			return Config{}, err
		}
	}
	if err := intKey(&c.NHeadKV, "attention.head_count_kv", c.NHead); err != nil {
		return Config{}, err
	}
	if c.NEmbd%c.NHead != 0 {
		if _, ok := m.Get(arch + ".attention.key_length"); !ok {
			return fail("%s.embedding_length %d is not a multiple of the head count %d", arch, c.NEmbd, c.NHead)
		}
	}
	if err := intKey(&c.HeadDim, "attention.key_length", c.NEmbd/max(c.NHead, 1)); err != nil {
		return Config{}, err
	}
	if err := intKey(&c.RopeDim, "rope.dimension_count", c.HeadDim); err != nil {
		return Config{}, err
	}
	if err := floatKey(&c.RopeFreqBase, "rope.freq_base", 10000); err != nil {
		return Config{}, err
	}
	if err := floatKey(&c.RMSEps, "attention.layer_norm_rms_epsilon", 1e-5); err != nil {
		return Config{}, err
	}
	switch {
	case c.NHead%c.NHeadKV != 0:
		return fail("head count %d is not a multiple of the KV head count %d", c.NHead, c.NHeadKV)
	case c.RopeDim > c.HeadDim || c.RopeDim%2 != 0:
		return fail("rope dimension %d must be even and at most the head dimension %d", c.RopeDim, c.HeadDim)
	}

	// RoPE scaling changes the rotation angles; only the identity is
	// implemented ("none", or "linear" with factor 1).
	if st, ok := m.String(arch + ".rope.scaling.type"); ok && st != "none" {
		factor, hasFactor := m.Float(arch + ".rope.scaling.factor")
		if st != "linear" || (hasFactor && factor != 1) {
			return Config{}, formatErr(f.Path, ErrUnsupported, "unsupported RoPE scaling %q (%s.rope.scaling.type)", st, arch)
		}
	}

	embd, hasEmbd := f.Tensor("token_embd.weight")
	if toks, ok := m.Strings("tokenizer.ggml.tokens"); ok {
		c.NVocab = len(toks)
	} else if hasEmbd && len(embd.Dims) == 2 {
		c.NVocab = embd.Dims[1]
	} else if err := intKey(&c.NVocab, "vocab_size", -1); err != nil {
		return fail("cannot tell the vocabulary size: no tokenizer.ggml.tokens, token_embd.weight or %s.vocab_size", arch)
	}
	if c.NVocab <= 0 {
		return fail("empty vocabulary")
	}
	if hasEmbd && (len(embd.Dims) != 2 || embd.Dims[0] != c.NEmbd || embd.Dims[1] < c.NVocab) {
		return fail("token_embd.weight has dims %v, want [%d %d] (n_embd, n_vocab)", embd.Dims, c.NEmbd, c.NVocab)
	}
	_, hasOutput := f.Tensor("output.weight")
	c.TiedOutput = !hasOutput
	c.FileType = f.fileType()
	return c, nil
}

// fileTypeNames are llama.cpp's LLAMA_FTYPE names (general.file_type).
var fileTypeNames = map[uint64]string{
	0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1",
	7: "MOSTLY_Q8_0", 8: "MOSTLY_Q5_0", 9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K",
	11: "MOSTLY_Q3_K_S", 12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L",
	14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M", 16: "MOSTLY_Q5_K_S",
	17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K", 32: "MOSTLY_BF16",
}

// fileType names general.file_type, or guesses it from the tensor type
// holding the most bytes.
func (f *File) fileType() string {
	if v, ok := f.Meta.Get("general.file_type"); ok {
		if x, ok := v.Uint(); ok {
			if n, ok := fileTypeNames[x]; ok {
				return n
			}
			return fmt.Sprintf("file_type(%d)", x)
		}
	}
	bytes := map[tensor.Type]int{}
	for _, t := range f.Tensors {
		bytes[t.Type] += len(t.Data)
	}
	best, bestN := tensor.Type(0), -1
	for _, t := range tensor.Types() {
		if n, ok := bytes[t]; ok && n > bestN {
			best, bestN = t, n
		}
	}
	if bestN < 0 {
		return "unknown (no tensors)"
	}
	return best.String() + " (guessed)"
}
