package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/tensor"
)

// TestHostileHFDirCLI runs a Hugging Face model directory whose side files
// (tokenizer.json, config.json, the shard index) are broken or hostile:
// one line naming the file, exit 2, and memory that stays near the small
// model's own (a sparse token id must not size a table of 16M entries).
func TestHostileHFDirCLI(t *testing.T) {
	spec := fixtures.Spec{Arch: "llama", NEmbd: 8, NLayer: 1, NHead: 2, NHeadKV: 1, NFF: 16,
		NVocab: fixtures.MinVocab(), NCtx: 64, Type: tensor.F32, Seed: 1}
	base := filepath.Join(t.TempDir(), "good")
	if err := fixtures.WriteSafetensorsDir(base, spec); err != nil {
		t.Fatal(err)
	}
	good := runBinary(t, "run", "-m", base, "-n", "2", "--temp", "0")
	if good.code != 0 {
		t.Fatalf("the unmodified directory: exit %d\n%s", good.code, good.stderr)
	}
	// Loading this model takes ~10 MB; 40 MB leaves room for the runtime
	// and catches a table sized by a hostile count (16M ids: ~70 MB).
	const maxRSS = 40 << 20

	config, err := os.ReadFile(filepath.Join(base, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(config)
	for _, c := range []struct {
		name, file, content string
		want                []string
	}{
		{"tokenizer.json not JSON", "tokenizer.json", "{nope", []string{"tokenizer.json", "invalid character"}},
		{"tokenizer.json sparse ids", "tokenizer.json", `{"model":{"type":"BPE","vocab":{"a":0,"b":16777215},"merges":[]}}`,
			[]string{"tokenizer.json", "token id 16777215 is implausibly large"}},
		{"tokenizer.json negative id", "tokenizer.json", `{"model":{"type":"BPE","vocab":{"a":0,"b":-5},"merges":[]}}`,
			[]string{"tokenizer.json", "negative id -5"}},
		{"tokenizer.json unknown model", "tokenizer.json", `{"model":{"type":"Unigram","vocab":[["a",0.5]]}}`, []string{"tokenizer.json", "cannot unmarshal array"}},
		// Found when the prompt is tokenized, after loading: the message
		// names the pattern, not the file.
		{"tokenizer.json catastrophic regex", "tokenizer.json", "", []string{`pre-tokenizer regex "(.*.*)*X" took more than 1s for one match`}},
		{"config.json not JSON", "config.json", `{"hidden_size": `, []string{"config.json", "not a valid config.json"}},
		{"config.json wrong hidden size", "config.json", strings.Replace(cfg, `"hidden_size": 8`, `"hidden_size": 16`, 1),
			[]string{"token_embd.weight has dims [8 333], want [16 333]"}},
		{"config.json a billion layers", "config.json", strings.Replace(cfg, `"num_hidden_layers": 1`, `"num_hidden_layers": 1000000000`, 1),
			[]string{"missing tensor blk.1."}},
		{"index shard outside the directory", "model.safetensors.index.json", `{"weight_map":{"model.norm.weight":"../model.safetensors"}}`,
			[]string{"model.safetensors.index.json", "not a file name in the model directory"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.name, "config.json ") && c.content == cfg {
				t.Fatalf("config.json of the fixture changed: %s", cfg)
			}
			dir := filepath.Join(t.TempDir(), "model")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			if c.name == "tokenizer.json catastrophic regex" {
				// (.*.*)*X backtracks exponentially on any text without an X.
				c.content = evilSplit(t, filepath.Join(base, "tokenizer.json"), `(.*.*)*X`)
			}
			if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runBinary(t, "run", "-m", dir, "-n", "1", "--temp", "0")
			want := c.want
			if c.name != "tokenizer.json catastrophic regex" {
				want = append(want, "infertrace: "+dir)
			}
			checkOneLine(t, r, 2, want...)
			if r.maxRSS > maxRSS {
				t.Errorf("peak RSS %.1f MB (the unmodified model: %.1f MB), want at most %d MB", float64(r.maxRSS)/(1<<20), float64(good.maxRSS)/(1<<20), maxRSS>>20)
			}
		})
	}
}

// evilSplit returns the tokenizer.json at path with a Split pre-tokenizer
// of the regex expr.
func evilSplit(t *testing.T, path, expr string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	tok["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": expr}, "behavior": "Isolated", "invert": false}
	out, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
