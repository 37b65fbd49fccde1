package pipeline

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/loader"
)

// llamacppRef is a *.llamacpp.json reference.
type llamacppRef struct {
	Prompt       string      `json:"prompt"`
	AddBOS       bool        `json:"add_bos"`
	PromptTokens []int       `json:"prompt_tokens"`
	NVocab       int         `json:"n_vocab"`
	PromptLogits [][]float64 `json:"prompt_logits"`
	GreedyTokens []int       `json:"greedy_tokens"`
	GreedyText   string      `json:"greedy_text"`
}

// refStats is one stage's statistics in a *.math.json reference.
type refStats struct {
	Min, Max, Mean, Std, L2, AbsMax float64
	N                               int
}

// mathPos is one prompt position of a *.math.json reference.
type mathPos struct {
	Embed      refStats              `json:"embed"`
	Layers     []map[string]refStats `json:"layers"`
	OutputNorm refStats              `json:"output_norm"`
	Logits     refStats              `json:"logits"`
}

// mathRef is a *.math.json reference.
type mathRef struct {
	PromptTokens []int       `json:"prompt_tokens"`
	Positions    []mathPos   `json:"positions"`
	Logits       [][]float64 `json:"logits"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// openRef opens a shared model (relative to ../shared/models) without a
// tokenizer.
func openRef(t testing.TB, elem ...string) *Model {
	t.Helper()
	path := refdata.Path(t, elem...)
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := FromFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// refPaths returns the llamacpp and math reference paths of a model file.
func refPaths(t testing.TB, dir, model, refBase string) (llamacpp, math string) {
	t.Helper()
	root := refdata.Dir(t)
	return filepath.Join(root, dir, "reference", refBase+".llamacpp.json"),
		filepath.Join(root, dir, "reference", refBase+".math.json")
}

// maxAbsDiff compares logits rows (NVocab per row) with a reference.
func maxAbsDiff(got []float32, want [][]float64) float64 {
	d := 0.0
	nv := len(want[0])
	for p, row := range want {
		for i, w := range row {
			d = math.Max(d, math.Abs(float64(got[p*nv+i])-w))
		}
	}
	return d
}

func trimExt(name string) string { return strings.TrimSuffix(name, ".gguf") }
