package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/loader"
)

// vocabNames are the llama.cpp vocabularies with .inp/.out test vectors
// (bert-bge is WPM, which this package does not implement).
var vocabNames = []string{
	"llama-spm", "phi-3", "gpt-2", "deepseek-coder", "deepseek-llm",
	"falcon", "mpt", "refact", "starcoder",
}

const vocabSep = "\n__ggml_vocab_test__\n"

var vocabCache sync.Map // name -> *Tokenizer

// loadVocabFile opens ggml-vocab-<name>.gguf and builds its tokenizer
// (once per test binary: a Tokenizer is immutable).
func loadVocabFile(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	path := refdata.Path(tb, "vocab", "ggml-vocab-"+name+".gguf")
	if tok, ok := vocabCache.Load(name); ok {
		return tok.(*Tokenizer)
	}
	f, err := loader.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	tok, err := FromMetadata(f.Meta)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	vocabCache.Store(name, tok)
	return tok
}

// vocabCase is one input and its expected ids.
type vocabCase struct {
	text string
	ids  []int
}

// readVocabCases parses the .inp/.out pair as llama.cpp's test-tokenizer-0.
func readVocabCases(tb testing.TB, name string) []vocabCase {
	tb.Helper()
	base := filepath.Join(refdata.Dir(tb), "vocab", "ggml-vocab-"+name+".gguf")
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		tb.Skipf("no test vectors: %v", err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		tb.Fatal(err)
	}
	var texts []string
	rest := string(inp)
	for rest != "" {
		i := strings.Index(rest, vocabSep)
		if i < 0 {
			texts = append(texts, rest)
			break
		}
		texts = append(texts, rest[:i])
		rest = rest[i+len(vocabSep):]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		tb.Fatalf("%s: %d inputs but %d output lines", name, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, line := range lines {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(line) {
			id, err := strconv.Atoi(f)
			if err != nil {
				tb.Fatalf("%s line %d: %v", name, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, id)
		}
	}
	return cases
}

func TestLlamaCppVocabVectors(t *testing.T) {
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadVocabFile(t, name)
			cases := readVocabCases(t, name)
			if len(cases) != 46 {
				t.Fatalf("got %d cases, the files hold 46", len(cases))
			}
			for i, c := range cases {
				got, err := tok.Encode(c.text, EncodeOptions{})
				if err != nil {
					t.Errorf("case %d %q: %v", i, c.text, err)
					continue
				}
				if !equalIDs(got, c.ids) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.ids)
				}
			}
		})
	}
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVocabVectorsAllCovered: every vocabulary in ../shared/models/vocab
// with an .inp/.out pair is in vocabNames, except bert-bge (WPM), so a
// vector set added there cannot go untested.
func TestVocabVectorsAllCovered(t *testing.T) {
	inps, err := filepath.Glob(filepath.Join(refdata.Dir(t), "vocab", "ggml-vocab-*.gguf.inp"))
	if err != nil || len(inps) == 0 {
		t.Fatalf("no .inp files (%v)", err)
	}
	for _, p := range inps {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "ggml-vocab-"), ".gguf.inp")
		if name != "bert-bge" && !slices.Contains(vocabNames, name) {
			t.Errorf("%s has test vectors but is not in vocabNames", name)
		}
	}
	if len(inps) != len(vocabNames)+1 {
		t.Errorf("%d .inp files, %d tested + bert-bge", len(inps), len(vocabNames))
	}
}
