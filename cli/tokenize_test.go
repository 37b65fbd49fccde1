package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/internal/refdata"
)

func TestTokenizeCommand(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	promptFile := filepath.Join(t.TempDir(), "prompt.txt")
	if err := os.WriteFile(promptFile, []byte("Once upon a time"), 0o644); err != nil {
		t.Fatal(err)
	}
	hfDir := t.TempDir()
	spec, err := fixtures.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if err := fixtures.WriteSafetensorsDir(hfDir, spec); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // exact, when not ""
		contains []string
		stderr   string // substring of the one-line error
		// notStdout must differ from stdout
		notStdout string
	}{
		// ids from llama.cpp (stories260K/reference/once-upon-a-time.llamacpp.json)
		{name: "ids", args: []string{"-m", model, "-p", "Once upon a time", "--ids"}, stdout: "[1, 403, 407, 261, 378]\n"},
		{name: "file", args: []string{"-m", model, "-f", promptFile, "--ids"}, stdout: "[1, 403, 407, 261, 378]\n"},
		{name: "no bos", args: []string{"-m", model, "-p", "Once upon a time", "--ids", "--no-bos"}, stdout: "[403, 407, 261, 378]\n"},
		{name: "pieces", args: []string{"-m", model, "-p", "Once upon a time"},
			stdout: "     1 -> '<s>'\n   403 -> ' Once'\n   407 -> ' upon'\n   261 -> ' a'\n   378 -> ' time'\n"},
		{name: "parse special", args: []string{"-m", model, "-p", "<s>", "--ids", "--no-bos"}, stdout: "[1]\n"},
		{name: "no parse special", args: []string{"-m", model, "-p", "<s>", "--ids", "--no-bos", "--no-parse-special"},
			notStdout: "[1]\n", contains: []string{"["}},
		{name: "byte pieces", args: []string{"-m", model, "-p", "🦙", "--no-bos"}, contains: []string{`'\xF0'`, `'\x9F'`}},
		{name: "demo model", args: []string{"-p", "Once upon a time", "--ids"}, contains: []string{"[1, "}},
		{name: "safetensors dir", args: []string{"-m", hfDir, "-p", "Once upon a time", "--ids"}, contains: []string{"[1, "}},
		{name: "no text", args: []string{"-m", model}, code: ExitInput, stderr: "-p TEXT or -f FILE is required"},
		{name: "both", args: []string{"-m", model, "-p", "a", "-f", promptFile}, code: ExitInput, stderr: "not both"},
		{name: "missing file", args: []string{"-m", model, "-f", filepath.Join(t.TempDir(), "nope.txt")}, code: ExitInput, stderr: "nope.txt"},
		{name: "bad model", args: []string{"-m", promptFile, "-p", "a"}, code: ExitInput, stderr: "prompt.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Execute(append([]string{"tokenize"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if tt.stdout != "" && stdout.String() != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.stdout)
			}
			if tt.notStdout != "" && stdout.String() == tt.notStdout {
				t.Errorf("stdout = %q", stdout.String())
			}
			for _, s := range tt.contains {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout %q lacks %q", stdout.String(), s)
				}
			}
			if tt.stderr != "" {
				e := stderr.String()
				if !strings.HasPrefix(e, "infertrace: ") || strings.Count(e, "\n") != 1 || !strings.Contains(e, tt.stderr) {
					t.Errorf("stderr = %q, want one line containing %q", e, tt.stderr)
				}
			}
		})
	}
}

// TestTokenizeHelp: the help shows the flags and examples, and does not
// leave --help set for the next Execute in the same process.
func TestTokenizeHelp(t *testing.T) {
	code, out, _ := runCLI(t, "tokenize", "--help")
	for _, want := range []string{"Examples:", "--ids", "--no-bos", "--no-parse-special", "-f, --file", "-p, --prompt", "-m, --model"} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("help lacks %q (exit %d)", want, code)
		}
	}
	code, out, errs := runCLI(t, "tokenize", "-p", "Once upon a time", "--ids")
	if code != ExitOK || !strings.HasPrefix(out, "[1, ") {
		t.Errorf("tokenize after --help: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestTokenizeVocabVectors runs the command (-f FILE --ids --no-bos
// --no-parse-special, as llama.cpp's test-tokenizer-0 tokenizes) on four
// cases of every shared vocabulary with test vectors (the empty text,
// "Hello world", " Hello world" and the long mixed-script CHK_TXT; each run
// loads the vocabulary, so not all 46: pipeline/tokenizer tests them all),
// and compares the printed JSON array with the .out line.
func TestTokenizeVocabVectors(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"llama-spm", "phi-3", "gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "starcoder"} {
		base := refdata.Path(t, "vocab", "ggml-vocab-"+name+".gguf")
		inp, err := os.ReadFile(base + ".inp")
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(base + ".out")
		if err != nil {
			t.Fatal(err)
		}
		cases := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
		cases = cases[:len(cases)-1] // the file ends with the separator
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(cases) != len(lines) {
			t.Fatalf("%s: %d cases, %d lines", name, len(cases), len(lines))
		}
		t.Run(name, func(t *testing.T) {
			for _, i := range []int{2, 11, 12, len(cases) - 1} {
				text := cases[i]
				f := filepath.Join(dir, "case.txt")
				if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				code, stdout, errs := runCLI(t, "tokenize", "-m", base, "-f", f, "--ids", "--no-bos", "--no-parse-special")
				want := "[" + strings.Join(strings.Fields(lines[i]), ", ") + "]\n"
				if code != ExitOK || stdout != want {
					t.Errorf("case %d %q: exit %d, stdout %q, want %q (stderr %q)", i, text, code, stdout, want, errs)
				}
			}
		})
	}
}
