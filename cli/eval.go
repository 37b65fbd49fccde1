package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/pipeline"
)

func init() { Root.AddCommand(newEvalCmd()) }

// newEvalCmd builds `infertrace eval`.
func newEvalCmd() *cobra.Command {
	var (
		model, prompt          string
		n, threads             int
		asJSON, noParseSpecial bool
	)
	cmd := &cobra.Command{
		Use:   "eval [-m MODEL] -p PROMPT [-n N] --json",
		Short: "Print the prompt's logits at every position and the greedy continuation",
		Long: `eval evaluates the prompt as one batch and generates N tokens greedily.
With --json it prints one JSON object with the fields of the llama.cpp
reference files (*.llamacpp.json): model, prompt, add_bos, n_vocab,
kv_cache, prompt_tokens, prompt_logits [position][token] (every prompt
position, full vocabulary), greedy_tokens, greedy_text and
greedy_logits_top5 [step][rank] = [token, logit] after feeding
greedy_tokens[step]. BOS is added as the model's tokenizer asks. Without
-m it evaluates the built-in demo model.`,
		Example: `  infertrace eval -m stories260K.gguf -p "Once upon a time" -n 32 --json > ours.json
  infertrace eval -m ./Qwen2.5-0.5B-Instruct/ -p "<|im_start|>user" -n 8
  infertrace eval -p "Once upon a time" -n 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			if n < 1 {
				return BadInput(fmt.Errorf("-n %d: want at least 1 token", n))
			}
			if threads < 0 {
				return BadInput(fmt.Errorf("-t %d: want a positive number of threads (0: GOMAXPROCS)", threads))
			}
			var (
				m   *pipeline.Model
				err error
			)
			if model == "" {
				m, err = pipeline.LoadBytes(fixtures.DemoName, fixtures.Demo())
			} else {
				m, err = pipeline.Load(model)
			}
			if err != nil {
				return BadInput(err)
			}
			defer m.Close()
			r, err := m.Eval(prompt, n, pipeline.Options{Threads: threads, ParseSpecial: !noParseSpecial})
			if err != nil {
				return err
			}
			r.Model = fixtures.DemoName
			if model != "" {
				r.Model = filepath.Base(filepath.Clean(model))
			}
			out := cmd.OutOrStdout()
			if !asJSON {
				last := r.PromptLogits[len(r.PromptLogits)-1]
				fmt.Fprintf(out, "prompt tokens: %v\nlast-position logits: %d values, argmax %d\ngreedy tokens: %v\ngreedy text: %q\n",
					r.PromptTokens, len(last), argmax(last), r.GreedyTokens, r.GreedyText)
				return nil
			}
			for _, row := range r.PromptLogits {
				for _, v := range row {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						return fmt.Errorf("%s: the prompt logits hold NaN/Inf, which JSON cannot carry (run with --trace to find the producer)", m.Name)
					}
				}
			}
			enc := json.NewEncoder(out)
			return enc.Encode(r)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&model, "model", "m", "", "model: GGUF file or safetensors directory (default: the built-in demo model)")
	fl.StringVarP(&prompt, "prompt", "p", "Once upon a time", "prompt text")
	fl.IntVarP(&n, "n-predict", "n", 32, "greedy tokens to generate")
	fl.IntVarP(&threads, "threads", "t", 0, "matmul worker threads (0: GOMAXPROCS)")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object (llama.cpp reference field names)")
	fl.BoolVar(&noParseSpecial, "no-parse-special", false, "treat special-token text in the prompt as plain text")
	// --help and flag errors skip RunE: reset the flags there too, since
	// Root keeps them from one Execute to the next in one process.
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		help(c, args)
		resetFlags(c)
	})
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		resetFlags(c)
		return BadInput(fmt.Errorf("%s: %w", c.CommandPath(), err))
	})
	return cmd
}

func argmax(xs []float32) int {
	best := 0
	for i, v := range xs {
		if v > xs[best] {
			best = i
		}
	}
	return best
}
