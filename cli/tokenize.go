package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/pipeline/tokenizer"
)

func init() { Root.AddCommand(newTokenizeCmd()) }

// newTokenizeCmd builds `infertrace tokenize`.
func newTokenizeCmd() *cobra.Command {
	var (
		model, prompt, file   string
		ids, noBOS, noSpecial bool
	)
	cmd := &cobra.Command{
		Use:   "tokenize [-m MODEL] (-p TEXT | -f FILE)",
		Short: "Show the token ids of a text, as llama-tokenize",
		Long: `tokenize runs the model's tokenizer (SentencePiece or byte-level BPE, as
llama.cpp) over a text and prints one "id -> 'text'" line per token, or with
--ids one JSON array of ids. Special-token text such as <s> or <|im_start|>
is parsed as the special token unless --no-parse-special is given.
Without -m it uses the built-in demo model.`,
		Example: `  infertrace tokenize -m stories260K.gguf -p "Once upon a time" --ids
  infertrace tokenize -m Qwen2-0.5B/ -f prompt.txt --no-bos`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetTokenizeFlags(cmd)
			text, err := tokenizeInput(cmd, prompt, file)
			if err != nil {
				return err
			}
			tok, err := loadTokenizer(model)
			if err != nil {
				return err
			}
			out, err := tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: !noBOS, ParseSpecial: !noSpecial})
			if err != nil {
				return fmt.Errorf("tokenize: %w", err)
			}
			w := cmd.OutOrStdout()
			if ids {
				return writeIDs(w, out)
			}
			for _, id := range out {
				if _, err := fmt.Fprintf(w, "%6d -> '%s'\n", id, displayPiece(tok, id)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&model, "model", "m", "", "model: GGUF file or safetensors directory (default: the built-in demo model)")
	fl.StringVarP(&prompt, "prompt", "p", "", "text to tokenize")
	fl.StringVarP(&file, "file", "f", "", "read the text from `FILE` (- for stdin)")
	fl.BoolVar(&ids, "ids", false, "print only a JSON array of the ids")
	fl.BoolVar(&noBOS, "no-bos", false, "do not add the BOS (or EOS) token the model asks for")
	fl.BoolVar(&noSpecial, "no-parse-special", false, "treat special-token text as plain text")
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		help(c, args)
		resetTokenizeFlags(c) // --help skips RunE
	})
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		resetTokenizeFlags(c)
		return BadInput(fmt.Errorf("%s: %w", c.CommandPath(), err))
	})
	return cmd
}

// resetTokenizeFlags restores the defaults after a run: Root is a
// package-level command, and cobra keeps flag values (and their Changed
// marks) from one Execute to the next in the same process.
func resetTokenizeFlags(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		_ = f.Value.Set(f.DefValue)
		f.Changed = false
	})
}

// tokenizeInput returns the text of -p or -f; exactly one must be given.
func tokenizeInput(cmd *cobra.Command, prompt, file string) (string, error) {
	hasP, hasF := cmd.Flags().Changed("prompt"), cmd.Flags().Changed("file")
	switch {
	case hasP && hasF:
		return "", BadInput(errors.New("tokenize: give -p TEXT or -f FILE, not both"))
	case hasP:
		return prompt, nil
	case !hasF:
		return "", BadInput(errors.New("tokenize: -p TEXT or -f FILE is required"))
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return "", BadInput(fmt.Errorf("tokenize: %w", err))
	}
	return string(data), nil
}

// loadTokenizer opens the model's vocabulary: GGUF metadata, or the
// tokenizer.json of a safetensors directory. Any failure is bad input.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	var f *loader.File
	var err error
	if path == "" {
		f, err = loader.FromBytes(fixtures.DemoName, fixtures.Demo())
	} else {
		f, err = loader.Open(path)
	}
	if err != nil {
		return nil, BadInput(err)
	}
	defer f.Close()
	var tok *tokenizer.Tokenizer
	if f.Format == "safetensors" {
		tok, err = tokenizer.FromHFDir(f.Dir)
	} else {
		tok, err = tokenizer.FromMetadata(f.Meta)
	}
	if err != nil {
		name := path
		if name == "" {
			name = fixtures.DemoName
		}
		return nil, BadInput(fmt.Errorf("%s: %w", name, err))
	}
	return tok, nil
}

// writeIDs prints ids as llama-tokenize --ids does: [1, 403, 407].
func writeIDs(w io.Writer, ids []int) error {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// displayPiece is the text of a token for humans: its decoded bytes, the
// vocabulary text for special tokens that decode to nothing, and \xNN for
// bytes that are not UTF-8 on their own (one byte of an emoji).
func displayPiece(tok *tokenizer.Tokenizer, id int) string {
	b := tok.TokenBytes(id)
	if len(b) == 0 {
		return tok.Piece(id)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			fmt.Fprintf(&s, `\x%02X`, b[0])
			b = b[1:]
			continue
		}
		s.Write(b[:n])
		b = b[n:]
	}
	return s.String()
}
