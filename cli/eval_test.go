package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/internal/refdata"
)

// TestEvalFieldNames: `eval --json` has exactly the fields of the llama.cpp
// reference file, with the same shapes (numbers are held to the references
// by TestEvalJSON here and pipeline's TestEvalMatchesLlamaCpp).
func TestEvalFieldNames(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	b, err := os.ReadFile(refdata.Path(t, "stories260K", "reference", "once-upon-a-time.llamacpp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "eval", "-m", model, "-p", "Once upon a time", "-n", "32", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not one JSON object: %v", err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var k []string
		for n := range m {
			k = append(k, n)
		}
		slices.Sort(k)
		return k
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("fields %v, want the reference's %v", keys(got), keys(want))
	}
	for _, k := range []string{"model", "kv_cache", "prompt", "add_bos", "n_vocab"} {
		if string(got[k]) != string(want[k]) {
			t.Errorf("%s = %s, want %s", k, got[k], want[k])
		}
	}
	var top5 [][][2]float64
	if err := json.Unmarshal(got["greedy_logits_top5"], &top5); err != nil || len(top5) != 32 || len(top5[0]) != 5 {
		t.Errorf("greedy_logits_top5: %d steps (%v), want 32 of 5 [token, logit] pairs", len(top5), err)
	}
}

func TestEvalDemoAndHelp(t *testing.T) {
	code, out, errs := runCLI(t, "eval", "-n", "2", "--json")
	var r struct {
		Model  string `json:"model"`
		Greedy []int  `json:"greedy_tokens"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &r) != nil || r.Model != "infertrace-demo" || len(r.Greedy) != 2 {
		t.Errorf("demo eval: exit %d, stderr %q, %+v", code, errs, r)
	}
	code, out, _ = runCLI(t, "eval", "--help")
	for _, want := range []string{"Examples:", "infertrace eval -m stories260K.gguf", "-n, --n-predict", "--json", "-t, --threads", "--no-parse-special", "greedy_logits_top5"} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("help lacks %q (exit %d)", want, code)
		}
	}
}

func TestEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	notModel := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notModel, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"zero tokens", []string{"eval", "-n", "0"}, "-n 0"},
		{"negative threads", []string{"eval", "-t", "-1"}, "-t -1"},
		{"missing model", []string{"eval", "-m", filepath.Join(dir, "nope.gguf")}, "nope.gguf"},
		{"not a model", []string{"eval", "-m", notModel}, "notes.txt"},
		{"stray argument", []string{"eval", "extra"}, "unknown command"},
		{"unknown flag", []string{"eval", "--temp", "1"}, "unknown flag"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != ExitInput || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, ExitInput)
			}
			if !strings.HasPrefix(errs, "infertrace: ") || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.msg) {
				t.Errorf("stderr %q: want one line containing %q", errs, c.msg)
			}
		})
	}
}

// TestEvalSafetensorsDir: -m takes a safetensors directory (tokenizer.json
// included) and gives what the GGUF written from the same weights gives:
// the same prompt and greedy tokens, prompt logits within 1e-5; run streams
// the same greedy text from it.
func TestEvalSafetensorsDir(t *testing.T) {
	spec, err := fixtures.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gguf, st := filepath.Join(dir, "tiny.gguf"), filepath.Join(dir, "tiny-hf")
	if err := fixtures.WriteGGUFFile(gguf, spec); err != nil {
		t.Fatal(err)
	}
	if err := fixtures.WriteSafetensorsDir(st, spec); err != nil {
		t.Fatal(err)
	}
	type result struct {
		PromptTokens []int       `json:"prompt_tokens"`
		PromptLogits [][]float64 `json:"prompt_logits"`
		GreedyTokens []int       `json:"greedy_tokens"`
		GreedyText   string      `json:"greedy_text"`
	}
	var rs [2]result
	for i, m := range []string{gguf, st} {
		code, out, errs := runCLI(t, "eval", "-m", m, "-p", "Once upon a time", "-n", "8", "--json")
		if code != ExitOK {
			t.Fatalf("eval -m %s: exit %d: %s", m, code, errs)
		}
		if err := json.Unmarshal([]byte(out), &rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	g, s := rs[0], rs[1]
	if len(g.GreedyTokens) != 8 || g.GreedyText == "" {
		t.Fatalf("greedy %v %q: want 8 tokens of text", g.GreedyTokens, g.GreedyText)
	}
	if !slices.Equal(g.PromptTokens, s.PromptTokens) || !slices.Equal(g.GreedyTokens, s.GreedyTokens) || g.GreedyText != s.GreedyText {
		t.Errorf("gguf %v %v %q\nsafetensors %v %v %q", g.PromptTokens, g.GreedyTokens, g.GreedyText, s.PromptTokens, s.GreedyTokens, s.GreedyText)
	}
	d := 0.0
	for p := range g.PromptLogits {
		for i := range g.PromptLogits[p] {
			d = math.Max(d, math.Abs(g.PromptLogits[p][i]-s.PromptLogits[p][i]))
		}
	}
	if d > 1e-5 {
		t.Errorf("prompt logits differ by %.3g > 1e-5", d)
	}
	code, out, errs := runCLI(t, "run", "-m", st, "-p", "Once upon a time", "-n", "8", "--temp", "0")
	if code != ExitOK || out != "Once upon a time"+s.GreedyText+"\n" || !strings.Contains(errs, "tok/s") {
		t.Errorf("run -m %s: exit %d, stdout %q (want the prompt and %q), stderr %q", st, code, out, s.GreedyText, errs)
	}
}

// TestEvalRefusesModel: a file whose architecture is not registered, or
// that lacks a required tensor, is refused at load naming the file and the
// architecture or tensor (llama.cpp's vocab-only files are both).
func TestEvalRefusesModel(t *testing.T) {
	for _, c := range []struct{ file, msg string }{
		{"ggml-vocab-gpt-2.gguf", `unsupported architecture "gpt2" (supported: llama, qwen2)`},
		{"ggml-vocab-llama-spm.gguf", "missing tensor token_embd.weight (want shape [4096 32000])"},
	} {
		p := refdata.Path(t, "vocab", c.file)
		for _, cmd := range []string{"eval", "run"} {
			code, out, errs := runCLI(t, cmd, "-m", p, "-n", "1")
			if code != ExitInput || out != "" || errs != "infertrace: "+p+": "+c.msg+"\n" {
				t.Errorf("%s -m %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", cmd, c.file, code, out, errs, c.msg)
			}
		}
	}
}
