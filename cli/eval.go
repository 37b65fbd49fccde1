package cli

import (
	"encoding/json"
	"fmt"
	"math"

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
With --json it prints one JSON object with the fields of llama.cpp reference
files: prompt, add_bos, prompt_tokens, n_vocab, prompt_logits
[position][token] (every prompt position, full vocabulary), greedy_tokens,
greedy_text. Without -m it evaluates the built-in demo model.`,
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
