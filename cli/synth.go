package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/tensor"
)

func init() { Root.AddCommand(newSynthCmd()) }

// newSynthCmd builds `infertrace synth`.
func newSynthCmd() *cobra.Command {
	var (
		arch, preset, typ, format, out, name string
		seed                                 uint64
		tied                                 bool
	)
	cmd := &cobra.Command{
		Use:   "synth -o FILE|DIR",
		Short: "Write a synthetic model with seeded random weights (GGUF or safetensors)",
		Long: `synth writes a LLaMA or Qwen2 model with seeded random weights and a
readable SentencePiece-style vocabulary, for tests, benchmarks and demos.
The same flags always give the same bytes. Presets: ` + strings.Join(fixtures.PresetNames(), ", ") + `.

GGUF output is one file; --format safetensors writes a Hugging Face model
directory (config.json, model.safetensors, tokenizer.json) holding the same
weights (F32, F16 or BF16 only). Tensors are streamed, so the 110m preset
(~440 MB in F32) needs little memory.`,
		Example: `  infertrace synth --preset tiny -o tiny.gguf
  infertrace synth --preset 110m --type q8_0 -o 110m-q8_0.gguf
  infertrace synth --arch qwen2 --preset tiny --tied --seed 3 -o qwen2-tiny.gguf
  infertrace synth --preset tiny --format safetensors -o tiny-hf/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				synthResetFlags(cmd)
				return err
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer synthResetFlags(cmd)
			if out == "" {
				return BadInput(errors.New("synth: -o FILE is required"))
			}
			s, err := fixtures.Preset(preset)
			if err != nil {
				return BadInput(fmt.Errorf("synth: %w", err))
			}
			if cmd.Flags().Changed("arch") {
				s.Arch = strings.ToLower(arch)
				if s.Arch != "llama" && s.Arch != "qwen2" {
					return BadInput(fmt.Errorf("synth: --arch %q: want llama or qwen2", arch))
				}
				if !cmd.Flags().Changed("name") {
					s.Name = ""
				}
			}
			if typ != "" {
				t, err := tensor.ParseType(typ)
				if err != nil {
					return BadInput(fmt.Errorf("synth: --type: %w", err))
				}
				s.Type = t
			}
			if cmd.Flags().Changed("seed") {
				s.Seed = seed
			}
			if cmd.Flags().Changed("tied") {
				s.Tied = tied
			}
			if cmd.Flags().Changed("name") {
				s.Name = name
			}
			if err := s.Validate(); err != nil {
				return BadInput(fmt.Errorf("synth: %w", err))
			}
			switch strings.ToLower(format) {
			case "gguf":
				if st, serr := os.Stat(out); serr == nil && st.IsDir() {
					return BadInput(fmt.Errorf("synth: -o %s is a directory; GGUF output is a file", out))
				}
				err = fixtures.WriteGGUFFile(out, s)
			case "safetensors":
				if s.Type != tensor.F32 && s.Type != tensor.F16 && s.Type != tensor.BF16 {
					return BadInput(fmt.Errorf("synth: safetensors holds F32, F16 or BF16 weights, not %s (use --type)", s.Type))
				}
				if st, serr := os.Stat(out); serr == nil && !st.IsDir() {
					return BadInput(fmt.Errorf("synth: -o %s: safetensors output is a directory, and this is a file", out))
				}
				err = fixtures.WriteSafetensorsDir(out, s)
			default:
				return BadInput(fmt.Errorf("synth: --format %q: want gguf or safetensors", format))
			}
			if err != nil {
				return fmt.Errorf("synth: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s %s, %d layers, n_embd %d, vocab %d, seed %d)\n",
				out, s.Arch, s.Type, s.NLayer, s.NEmbd, s.NVocab, s.Seed)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&arch, "arch", "llama", "architecture: llama or qwen2 (overrides the preset's)")
	f.StringVar(&preset, "preset", "tiny", "shape preset: "+strings.Join(fixtures.PresetNames(), ", "))
	f.StringVar(&typ, "type", "", "type of every 2-D matrix (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k..q6_k); default: the preset's")
	f.Uint64Var(&seed, "seed", 0, "weight seed (default: the preset's)")
	f.BoolVar(&tied, "tied", false, "tie the LM head to token_embd (no output.weight)")
	f.StringVar(&format, "format", "gguf", "output format: gguf or safetensors")
	f.StringVarP(&out, "output", "o", "", "output file (gguf) or directory (safetensors)")
	f.StringVar(&name, "name", "", "general.name (default: the preset's)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		synthResetFlags(c)
		return BadInput(fmt.Errorf("%s: %w", c.CommandPath(), err))
	})
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		defaultHelp(c, args)
		synthResetFlags(c)
	})
	return cmd
}

// synthResetFlags restores every flag to its default and clears Changed:
// cobra keeps parsed values on the command, and Execute may run many
// times in one process (tests), so one run must not leak into the next.
func synthResetFlags(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		f.Value.Set(f.DefValue)
		f.Changed = false
	})
}
