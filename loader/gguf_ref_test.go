package loader

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/tensor"
)

// TestOpenSharedGGUF opens every .gguf under ../shared/models.
func TestOpenSharedGGUF(t *testing.T) {
	root := refdata.Dir(t)
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 20 {
		t.Fatalf("found only %d .gguf files under %s", len(paths), root)
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		t.Run(rel, func(t *testing.T) {
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Format != "gguf" || (f.Version != 2 && f.Version != 3) {
				t.Errorf("format %s v%d", f.Format, f.Version)
			}
			for _, tn := range f.Tensors {
				if got, ok := f.Tensor(tn.Name); !ok || got != tn {
					t.Errorf("Tensor(%q) lookup failed", tn.Name)
				}
			}
			if strings.Contains(rel, "vocab") {
				return
			}
			if _, err := f.Config(); err != nil {
				t.Errorf("Config: %v", err)
			}
		})
	}
}

func TestStories260K(t *testing.T) {
	p := refdata.Path(t, "stories260K", "stories260K.gguf")
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version != 3 || f.Meta.Len() != 19 || len(f.Tensors) != 48 || f.Alignment != 32 || f.DataOffset != 14176 || f.Size != 1185376 {
		t.Errorf("header: v%d, %d keys, %d tensors, alignment %d, data offset %d, size %d; want v3, 19, 48, 32, 14176, 1185376",
			f.Version, f.Meta.Len(), len(f.Tensors), f.Alignment, f.DataOffset, f.Size)
	}
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Arch: "llama", Name: "llama", NEmbd: 64, NLayer: 5, NHead: 8, NHeadKV: 4, NFF: 172, NVocab: 512,
		NCtx: 2048, HeadDim: 8, RopeDim: 8, RopeFreqBase: 10000, RopeType: RopeNorm, RMSEps: float64(float32(1e-5)),
		TiedOutput: false, FileType: "F32 (guessed)"}
	if c != want {
		t.Errorf("Config:\n got %+v\nwant %+v", c, want)
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || emb.Type != tensor.F32 || len(emb.Dims) != 2 || emb.Dims[0] != 64 || emb.Dims[1] != 512 || len(emb.Data) != 64*512*4 {
		t.Errorf("token_embd.weight = %+v", emb)
	}
	down, ok := f.Tensor("blk.4.ffn_down.weight")
	if !ok || down.Dims[0] != 172 || down.Dims[1] != 64 {
		t.Errorf("blk.4.ffn_down.weight = %v", down.Dims)
	}
	toks, ok := f.Meta.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 {
		t.Errorf("tokens: %d", len(toks))
	}
	if bos, ok := f.Meta.Uint("tokenizer.ggml.bos_token_id"); !ok || bos != 1 {
		t.Errorf("bos = %d, %v", bos, ok)
	}
	if sep, ok := f.Meta.Uint("tokenizer.ggml.seperator_token_id"); !ok || sep != 4294967295 {
		t.Errorf("seperator = %d, %v", sep, ok)
	}
	if scores, ok := f.Meta.Float32s("tokenizer.ggml.scores"); !ok || len(scores) != 512 {
		t.Errorf("scores: %d %v", len(scores), ok)
	}
	if types, ok := f.Meta.Int32s("tokenizer.ggml.token_type"); !ok || len(types) != 512 {
		t.Errorf("token_type: %d %v", len(types), ok)
	}
	keys := f.Meta.Keys()
	for _, k := range keys {
		if _, ok := f.Meta.Get(k); !ok {
			t.Errorf("key %q listed but not found", k)
		}
	}
	if len(keys) != f.Meta.Len() {
		t.Errorf("%d keys, Len %d", len(keys), f.Meta.Len())
	}
}
