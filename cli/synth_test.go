package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/tensor"
)

func runSynth(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Execute(append([]string{"synth"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestSynthGGUF(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args  []string
		spec  func() fixtures.Spec
		check func(t *testing.T, f *loader.File)
	}{
		{
			args: []string{"--preset", "demo"},
			spec: func() fixtures.Spec { s, _ := fixtures.Preset("demo"); return s },
		},
		{
			args: []string{"--preset", "tiny", "--arch", "qwen2", "--type", "q4_0", "--seed", "9", "--tied"},
			spec: func() fixtures.Spec {
				s, _ := fixtures.Preset("tiny")
				s.Arch, s.Name, s.Type, s.Seed, s.Tied = "qwen2", "", tensor.Q4_0, 9, true
				return s
			},
			check: func(t *testing.T, f *loader.File) {
				if _, ok := f.Tensor("output.weight"); ok {
					t.Error("--tied model has output.weight")
				}
				if _, ok := f.Tensor("blk.0.attn_q.bias"); !ok {
					t.Error("qwen2 model has no Q bias")
				}
			},
		},
	}
	for i, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := filepath.Join(dir, "m"+string(rune('0'+i))+".gguf")
			code, stdout, stderr := runSynth(append(tc.args, "-o", out)...)
			if code != ExitOK || !strings.Contains(stdout, "wrote "+out) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := fixtures.WriteGGUF(&want, tc.spec()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatal("synth output differs from fixtures.WriteGGUF of the same spec")
			}
			f, err := loader.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

func TestSynthSafetensors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hf")
	code, _, stderr := runSynth("--preset", "tiny", "--format", "safetensors", "--type", "bf16", "-o", out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := loader.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if tt, ok := f.Tensor("blk.1.ffn_up.weight"); !ok || tt.Type != tensor.BF16 {
		t.Fatalf("ffn_up: %v", tt)
	}
}

func TestSynthBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	o := filepath.Join(dir, "x.gguf")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "tiny"}, "-o FILE is required"},
		{[]string{"--preset", "huge", "-o", o}, `unknown preset "huge"`},
		{[]string{"--arch", "gpt2", "-o", o}, `--arch "gpt2"`},
		{[]string{"--type", "q9_9", "-o", o}, "--type"},
		{[]string{"--type", "q4_k", "--preset", "demo", "-o", o}, "block size"},
		{[]string{"--format", "onnx", "-o", o}, `--format "onnx"`},
		{[]string{"--format", "safetensors", "--preset", "demo", "-o", filepath.Join(dir, "d")}, "F32, F16 or BF16 weights, not Q8_0"},
		{[]string{"--format", "safetensors", "-o", file}, "is a file"},
		{[]string{"-o", dir}, "is a directory"},
		{[]string{"--seed", "abc", "-o", o}, "invalid argument"},
		{[]string{"--bogus", "-o", o}, "unknown flag"},
		{[]string{"extra", "-o", o}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runSynth(tc.args...)
			if code != ExitInput || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit %d and one line containing %q", code, stderr, ExitInput, tc.want)
			}
		})
	}
	if _, err := os.Stat(o); err == nil {
		t.Fatal("a failed synth left an output file")
	}
}

func TestSynthHelp(t *testing.T) {
	var o, e bytes.Buffer
	if code := Execute([]string{"synth", "--help"}, &o, &e); code != ExitOK {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	for _, want := range []string{"--preset", "--format", "infertrace synth --preset 110m --type q8_0"} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
