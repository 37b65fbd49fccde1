package tokenizer

import (
	"bytes"
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
