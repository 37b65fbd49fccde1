package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/trace"
)

const storiesGreedy = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw"

// TestEvalJSON holds `eval --json` to the llama.cpp reference files:
// identical prompt tokens and greedy tokens/text, prompt logits within 2e-3.
func TestEvalJSON(t *testing.T) {
	for _, tc := range []struct{ file, ref string }{
		{"stories260K.gguf", "once-upon-a-time"},
		{"stories260K-q8_0-ggufpy.gguf", "once-upon-a-time.q8_0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			model := refdata.Path(t, "stories260K", tc.file)
			var want struct {
				PromptTokens []int       `json:"prompt_tokens"`
				AddBOS       bool        `json:"add_bos"`
				NVocab       int         `json:"n_vocab"`
				PromptLogits [][]float64 `json:"prompt_logits"`
				GreedyTokens []int       `json:"greedy_tokens"`
				GreedyText   string      `json:"greedy_text"`
			}
			b, err := os.ReadFile(refdata.Path(t, "stories260K", "reference", tc.ref+".llamacpp.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := Execute([]string{"eval", "-m", model, "-p", "Once upon a time", "-n", "32", "--json"}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got := want
			got.PromptLogits = nil
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("eval output is not JSON: %v", err)
			}
			if !slices.Equal(got.PromptTokens, want.PromptTokens) || got.AddBOS != want.AddBOS || got.NVocab != want.NVocab {
				t.Errorf("tokens %v bos %v vocab %d, want %v %v %d", got.PromptTokens, got.AddBOS, got.NVocab, want.PromptTokens, want.AddBOS, want.NVocab)
			}
			if !slices.Equal(got.GreedyTokens, want.GreedyTokens) || got.GreedyText != storiesGreedy || want.GreedyText != storiesGreedy {
				t.Errorf("greedy %v %q, want %v %q", got.GreedyTokens, got.GreedyText, want.GreedyTokens, storiesGreedy)
			}
			if len(got.PromptLogits) != len(want.PromptLogits) {
				t.Fatalf("%d logit rows, want %d", len(got.PromptLogits), len(want.PromptLogits))
			}
			d := 0.0
			for p := range want.PromptLogits {
				for i, w := range want.PromptLogits[p] {
					d = math.Max(d, math.Abs(got.PromptLogits[p][i]-w))
				}
			}
			if d > 2e-3 {
				t.Errorf("prompt logits differ from llama.cpp by %.3g > 2e-3", d)
			}
		})
	}
}

// TestRunCommand covers run's output, traces, faults and bad input.
func TestRunCommand(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // prefix of stdout
		stderr     []string
		traceEnd   trace.EventType // last event of the --trace-output file
		traceErrs  int             // summary error_count
		wantStates map[trace.State]int
	}{
		{name: "greedy", args: []string{"-m", model, "-n", "32", "--temp", "0"}, stdout: "Once upon a time" + storiesGreedy + "\n",
			stderr: []string{"prompt: 5 tokens", "generation: 31 tokens"}},
		{name: "traced", args: []string{"-m", model, "-n", "8", "--temp", "0", "--trace", "--trace-output", "T"},
			stdout: "Once upon a time, there was a little girl", stderr: []string{"TOKENIZE", "BRICK_PROFILE", "ExecutionSucceeded"},
			traceEnd: trace.ExecutionSucceeded,
			wantStates: map[trace.State]int{trace.Tokenize: 1, trace.Embed: 8, trace.TransformerBlock: 40, trace.LayerNorm: 80,
				trace.Attention: 40, trace.FFN: 40, trace.LMHead: 8, trace.Sample: 8, trace.Decode: 8, trace.BrickProfile: 8, trace.KernelLaunch: 0}},
		{name: "kernels only", args: []string{"-m", model, "-n", "2", "--temp", "0", "--trace=kernel", "--trace-output", "T"},
			traceEnd: trace.ExecutionSucceeded, wantStates: map[trace.State]int{trace.KernelLaunch: 2 * (5*7 + 1), trace.Embed: 0}},
		{name: "inject nan", args: []string{"-m", model, "-n", "4", "--inject", "nan@blk.3.ffn_out", "--trace-output", "T"},
			code: ExitRuntime, stderr: []string{"NumericalError.NaN", "blk.3.ffn_out"}, traceEnd: trace.ExecutionFailed, traceErrs: 1},
		{name: "inject inf untraced", args: []string{"-m", model, "-n", "4", "--inject", "inf@blk.1.attn_out:index=0"},
			code: ExitRuntime, stderr: []string{"NumericalError.Inf", "blk.1.attn_out"}},
		// A fixed seed: with NaN logits every token ties at -inf and the
		// draw picks among them at random, so some seeds sample EOS early.
		{name: "on-error continue", args: []string{"-m", model, "-n", "3", "--seed", "1", "--inject", "nan@blk.3.ffn_out", "--on-error", "continue", "--trace-output", "T"},
			stderr: []string{"3 numerical errors"}, traceEnd: trace.ExecutionSucceeded, traceErrs: 3},
		{name: "demo model", args: []string{"-n", "4", "--seed", "1"}, stdout: "Once upon a time"},
		{name: "bad on-error", args: []string{"-m", model, "--on-error", "maybe"}, code: ExitInput, stderr: []string{"--on-error"}},
		{name: "bad inject", args: []string{"-m", model, "--inject", "nan@blk.x.ffn_out"}, code: ExitInput, stderr: []string{"--inject"}},
		{name: "bad steps", args: []string{"-m", model, "--trace=bogus"}, code: ExitInput, stderr: []string{"bogus"}},
		{name: "bad n", args: []string{"-m", model, "-n", "0"}, code: ExitInput, stderr: []string{"-n 0"}},
		{name: "missing model", args: []string{"-m", filepath.Join(dir, "nope.gguf")}, code: ExitInput, stderr: []string{"nope.gguf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			args := slices.Clone(tc.args)
			for i, a := range args {
				if a == "T" {
					args[i] = out
				}
			}
			var stdout, stderr bytes.Buffer
			code := Execute(append([]string{"run"}, args...), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want prefix %q", stdout.String(), tc.stdout)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, tail(stderr.String()))
				}
			}
			if tc.traceEnd == "" {
				return
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, evs, sum, err := trace.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			var v trace.Validator
			counts := map[trace.State]int{}
			for _, ev := range evs {
				v.Check(ev)
				if ev.Type == trace.TaskStateExited {
					counts[ev.State]++
				}
			}
			for _, vi := range v.Finish() {
				t.Errorf("trace violation: %s", vi)
			}
			if last := evs[len(evs)-1]; last.Type != tc.traceEnd {
				t.Errorf("trace ends with %s, want %s", last.Type, tc.traceEnd)
			}
			if sum == nil || sum.ErrorCount != tc.traceErrs {
				t.Errorf("summary %+v, want %d errors", sum, tc.traceErrs)
			}
			for st, n := range tc.wantStates {
				if counts[st] != n {
					t.Errorf("%s exited %d times, want %d", st, counts[st], n)
				}
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
