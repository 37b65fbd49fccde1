package tokenizer

import (
	"os"
	"testing"
	"time"

	"github.com/infertrace/infertrace/internal/refdata"
)

// TestWholeInputIsFast tokenizes each .inp file in one piece: it must take
// milliseconds (the bound is loose, for a loaded CI machine).
func TestWholeInputIsFast(t *testing.T) {
	if raceEnabled {
		t.Skip("timing test: the race detector slows everything down")
	}
	for _, name := range []string{"llama-spm", "gpt-2", "deepseek-llm", "falcon"} {
		tok := loadVocabFile(t, name)
		data, err := os.ReadFile(refdata.Path(t, "vocab", "ggml-vocab-"+name+".gguf.inp"))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ids, err := tok.Encode(string(data), EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		t.Logf("%s: %d bytes -> %d tokens in %v", name, len(data), len(ids), el)
		if el > 500*time.Millisecond {
			t.Errorf("%s: %v to tokenize %d bytes", name, el, len(data))
		}
	}
}

func benchmarkEncode(b *testing.B, name string) {
	tok := loadVocabFile(b, name)
	data, err := os.ReadFile(refdata.Path(b, "vocab", "ggml-vocab-"+name+".gguf.inp"))
	if err != nil {
		b.Fatal(err)
	}
	text := string(data)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := tok.Encode(text, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSPM(b *testing.B)         { benchmarkEncode(b, "llama-spm") }
func BenchmarkEncodeGPT2(b *testing.B)        { benchmarkEncode(b, "gpt-2") }
func BenchmarkEncodeDeepseekLLM(b *testing.B) { benchmarkEncode(b, "deepseek-llm") }
func BenchmarkEncodeMPT(b *testing.B)         { benchmarkEncode(b, "mpt") }
