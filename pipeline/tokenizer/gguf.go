package tokenizer

import (
	"fmt"

	"github.com/infertrace/infertrace/loader"
)

// FromMetadata builds the tokenizer described by the tokenizer.ggml.* keys
// of a GGUF file, with llama.cpp's defaults for absent keys (SPM: BOS 1,
// EOS 2, UNK 0, add BOS, add space prefix; BPE: BOS = EOS = 11, add BOS
// only for the pre-tokenizers that ask for it).
func FromMetadata(m *loader.Metadata) (*Tokenizer, error) {
	v, err := VocabFromMetadata(m)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromMetadata reads the Vocab of a GGUF file's metadata.
func VocabFromMetadata(m *loader.Metadata) (Vocab, error) {
	var v Vocab
	if m == nil {
		return v, fmt.Errorf("tokenizer: no metadata")
	}
	str := func(key string, required bool) (string, error) {
		if _, ok := m.Get(key); !ok {
			if required {
				return "", fmt.Errorf("tokenizer: metadata key %s is missing", key)
			}
			return "", nil
		}
		s, ok := m.String(key)
		if !ok {
			return "", fmt.Errorf("tokenizer: metadata key %s is not a string", key)
		}
		return s, nil
	}
	var err error
	if v.Model, err = str("tokenizer.ggml.model", true); err != nil {
		return v, err
	}
	if v.Pre, err = str("tokenizer.ggml.pre", false); err != nil {
		return v, err
	}
	v.Name, _ = m.String("general.name")
	if _, ok := m.Get("tokenizer.ggml.tokens"); !ok {
		return v, fmt.Errorf("tokenizer: metadata key tokenizer.ggml.tokens is missing")
	}
	var ok bool
	if v.Tokens, ok = m.Strings("tokenizer.ggml.tokens"); !ok {
		return v, fmt.Errorf("tokenizer: tokenizer.ggml.tokens is not a string array")
	}
	if _, present := m.Get("tokenizer.ggml.scores"); present {
		if v.Scores, ok = m.Float32s("tokenizer.ggml.scores"); !ok {
			return v, fmt.Errorf("tokenizer: tokenizer.ggml.scores is not a float array")
		}
	}
	if _, present := m.Get("tokenizer.ggml.token_type"); present {
		if v.Types, ok = m.Int32s("tokenizer.ggml.token_type"); !ok {
			return v, fmt.Errorf("tokenizer: tokenizer.ggml.token_type is not an integer array")
		}
	}
	if _, present := m.Get("tokenizer.ggml.merges"); present {
		if v.Merges, ok = m.Strings("tokenizer.ggml.merges"); !ok {
			return v, fmt.Errorf("tokenizer: tokenizer.ggml.merges is not a string array")
		}
	}

	v.PAD = -1
	switch v.Model {
	case "llama":
		v.BOS, v.EOS, v.UNK = 1, 2, 0
		v.AddBOS, v.AddSpacePrefix = true, true
		v.Pre = ""
	case "gpt2":
		if _, present := m.Get("tokenizer.ggml.merges"); !present {
			return v, fmt.Errorf("tokenizer: BPE vocabulary without tokenizer.ggml.merges")
		}
		v.BOS, v.EOS, v.UNK = 11, 11, -1
		pre := v.Pre
		if pre == "" {
			pre = "default"
		}
		spec, known := preTypes[pre]
		if known {
			v.AddBOS = spec.addBOS
		}
		if pre == "chatglm-bpe" {
			v.BOS = -1
		}
	default:
		return v, fmt.Errorf("tokenizer: unsupported tokenizer model %q (want \"llama\" or \"gpt2\")", v.Model)
	}
	if b, present := m.Bool("tokenizer.ggml.add_space_prefix"); present {
		v.AddSpacePrefix = b
	}
	n := len(v.Tokens)
	for _, k := range []struct {
		key string
		dst *int
	}{
		{"tokenizer.ggml.bos_token_id", &v.BOS},
		{"tokenizer.ggml.eos_token_id", &v.EOS},
		{"tokenizer.ggml.unknown_token_id", &v.UNK},
		{"tokenizer.ggml.padding_token_id", &v.PAD},
	} {
		id, present := m.Uint(k.key)
		if present && id < uint64(n) { // llama.cpp ignores out-of-range ids
			*k.dst = int(id)
		}
	}
	for _, d := range []*int{&v.BOS, &v.EOS, &v.UNK, &v.PAD} {
		if *d >= n {
			*d = -1
		}
	}
	if b, present := m.Bool("tokenizer.ggml.add_bos_token"); present {
		v.AddBOS = b
	}
	if b, present := m.Bool("tokenizer.ggml.add_eos_token"); present {
		v.AddEOS = b
	}
	return v, nil
}
