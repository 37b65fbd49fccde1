package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
	"pgregory.net/rapid"
)

// TestFromHFDirFixture holds the tokenizer.json that fixtures writes for a
// safetensors model (Llama 2 layout: BPE merges, byte fallback, ▁
// normalizer) to the GGUF SPM tokenizer of the same synthetic model.
func TestFromHFDirFixture(t *testing.T) {
	spec, err := fixtures.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := fixtures.WriteSafetensorsDir(dir, spec); err != nil {
		t.Fatal(err)
	}
	hf, err := FromHFDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fixtures.WriteGGUF(&buf, spec); err != nil {
		t.Fatal(err)
	}
	f, err := loader.FromBytes("tiny.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	spm, err := FromMetadata(f.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if hf.VocabSize() != spm.VocabSize() || hf.BOS() != spm.BOS() || hf.EOS() != spm.EOS() || hf.AddBOS() != spm.AddBOS() {
		t.Fatalf("HF n=%d bos=%d eos=%d addBOS=%v, GGUF n=%d bos=%d eos=%d addBOS=%v",
			hf.VocabSize(), hf.BOS(), hf.EOS(), hf.AddBOS(), spm.VocabSize(), spm.BOS(), spm.EOS(), spm.AddBOS())
	}
	texts := []string{"", " ", "Once upon a time", "  two  spaces ", "line\nbreak\t tab", "日本 🦙 emoji", "<s>special</s>"}
	for _, c := range readVocabCases(t, "llama-spm") {
		texts = append(texts, c.text)
	}
	check := func(tb interface{ Fatalf(string, ...any) }, s string) {
		for _, opts := range []EncodeOptions{{}, {AddSpecial: true, ParseSpecial: true}} {
			want, err := spm.Encode(s, opts)
			if err != nil {
				tb.Fatalf("%q: %v", s, err)
			}
			got, err := hf.Encode(s, opts)
			if err != nil {
				tb.Fatalf("%q: %v", s, err)
			}
			if !equalIDs(got, want) {
				tb.Fatalf("%q %+v: HF %v, GGUF %v", s, opts, got, want)
			}
			if d := hf.Decode(got); d != spm.Decode(want) {
				tb.Fatalf("%q: HF decodes %q, GGUF %q", s, d, spm.Decode(want))
			}
		}
	}
	for _, s := range texts {
		check(t, s)
	}
	rapid.Check(t, func(rt *rapid.T) { check(rt, rapid.String().Draw(rt, "text")) })
}

// metaFile writes a vocab-only GGUF with the given keys and opens it.
func metaFile(t *testing.T, kvs [][2]any) *loader.File {
	t.Helper()
	w := fixtures.NewWriter()
	for _, kv := range kvs {
		w.AddKV(kv[0].(string), kv[1])
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := loader.FromBytes("vocab.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromMetadataErrors(t *testing.T) {
	toks := []string{"<unk>", "<s>", "</s>", "a"}
	for _, tc := range []struct {
		name string
		kvs  [][2]any
		want string
	}{
		{"no model", [][2]any{{"tokenizer.ggml.tokens", toks}}, "tokenizer.ggml.model is missing"},
		{"model not string", [][2]any{{"tokenizer.ggml.model", uint32(1)}, {"tokenizer.ggml.tokens", toks}}, "not a string"},
		{"unknown model", [][2]any{{"tokenizer.ggml.model", "bert"}, {"tokenizer.ggml.tokens", toks}}, `"bert"`},
		{"no tokens", [][2]any{{"tokenizer.ggml.model", "llama"}}, "tokenizer.ggml.tokens is missing"},
		{"tokens not strings", [][2]any{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []float32{1}}}, "not a string array"},
		{"scores length", [][2]any{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.scores", []float32{1}}}, "1 scores for 4 tokens"},
		{"types length", [][2]any{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.token_type", []int32{1, 1}}}, "2 token types"},
		{"bpe without merges", [][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", toks}}, "merges"},
		{"unknown pre", [][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "klingon"}, {"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.merges", []string{"a a"}}}, `"klingon"`},
		{"bad merge", [][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.merges", []string{"aa"}}}, "merge 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromMetadata(metaFile(t, tc.kvs).Meta)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFromMetadataDefaults: absent keys take llama.cpp's defaults, present
// ones (including out-of-range ids, which llama.cpp ignores) are read.
func TestFromMetadataDefaults(t *testing.T) {
	toks := []string{"<unk>", "<s>", "</s>", "a"}
	spm, err := FromMetadata(metaFile(t, [][2]any{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", toks}}).Meta)
	if err != nil {
		t.Fatal(err)
	}
	if spm.BOS() != 1 || spm.EOS() != 2 || spm.UNK() != 0 || !spm.AddBOS() || !spm.addSpacePrefix {
		t.Errorf("SPM defaults: BOS %d EOS %d UNK %d addBOS %v prefix %v", spm.BOS(), spm.EOS(), spm.UNK(), spm.AddBOS(), spm.addSpacePrefix)
	}
	custom, err := FromMetadata(metaFile(t, [][2]any{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", toks},
		{"tokenizer.ggml.bos_token_id", uint32(3)}, {"tokenizer.ggml.eos_token_id", uint32(99)},
		{"tokenizer.ggml.add_bos_token", false}, {"tokenizer.ggml.add_space_prefix", false}}).Meta)
	if err != nil {
		t.Fatal(err)
	}
	if custom.BOS() != 3 || custom.EOS() != 2 || custom.AddBOS() || custom.addSpacePrefix {
		t.Errorf("overrides: BOS %d EOS %d addBOS %v prefix %v", custom.BOS(), custom.EOS(), custom.AddBOS(), custom.addSpacePrefix)
	}
	bpe, err := FromMetadata(metaFile(t, [][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "llama-bpe"},
		{"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.merges", []string{"a a"}}, {"tokenizer.ggml.bos_token_id", uint32(1)}}).Meta)
	if err != nil {
		t.Fatal(err)
	}
	if !bpe.AddBOS() || bpe.Pre() != "llama-bpe" || bpe.UNK() != -1 {
		t.Errorf("llama-bpe: addBOS %v pre %q UNK %d", bpe.AddBOS(), bpe.Pre(), bpe.UNK())
	}
}

// TestFromHFDirMetaspace: the same SentencePiece-style vocabulary with a
// Metaspace pre-tokenizer instead of the Prepend/Replace normalizer gives
// the GGUF tokenizer's ids.
func TestFromHFDirMetaspace(t *testing.T) {
	spec, err := fixtures.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := fixtures.WriteSafetensorsDir(dir, spec); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fixtures.WriteGGUF(&buf, spec); err != nil {
		t.Fatal(err)
	}
	f, err := loader.FromBytes("tiny.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	spm, err := FromMetadata(f.Meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"first", "always"} {
		t.Run(scheme, func(t *testing.T) {
			doc["normalizer"] = nil
			doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": true}
			out, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			hf, err := FromHFDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range readVocabCases(t, "llama-spm") {
				want, _ := spm.Encode(c.text, EncodeOptions{AddSpecial: true})
				got, _ := hf.Encode(c.text, EncodeOptions{AddSpecial: true})
				if !equalIDs(got, want) {
					t.Errorf("%q: HF %v, GGUF %v", c.text, got, want)
				}
			}
			// After a special token only "always" adds the ▁ again.
			got, _ := hf.Encode("<s>a", EncodeOptions{ParseSpecial: true})
			want, _ := spm.Encode("<s>a", EncodeOptions{ParseSpecial: true})
			if same := equalIDs(got, want); same != (scheme == "always") {
				t.Errorf("<s>a: HF %v, GGUF %v", got, want)
			}
		})
	}
}
