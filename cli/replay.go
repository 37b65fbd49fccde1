package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/infertrace/infertrace/trace"
	"github.com/infertrace/infertrace/tui"
)

func init() { Root.AddCommand(newReplayCmd()) }

// newReplayCmd builds `infertrace replay FILE [--print]`.
func newReplayCmd() *cobra.Command {
	var print bool
	cmd := &cobra.Command{
		Use:   "replay FILE [--print]",
		Short: "Step through a recorded JSON trace, or print it as text",
		Long: `replay opens a JSON trace written by run --trace-output in the debugger
TUI, reading events on demand through a streaming index (a large trace
needs little memory). --print writes the trace as the text run --trace
prints, and needs no terminal.`,
		Example: `  infertrace run -m stories260K.gguf -n 8 --trace-output trace.json
  infertrace replay trace.json
  infertrace replay trace.json --print | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if print {
				return printTrace(args[0], cmd.OutOrStdout())
			}
			src, err := tui.NewReplaySource(args[0], nil)
			if err != nil {
				return BadInput(err)
			}
			if !isTTY(cmd.OutOrStdout()) {
				src.Close()
				return BadInput(fmt.Errorf("replay %s: stdout is not a terminal; use `infertrace replay --print %s` for text output", args[0], args[0]))
			}
			return tuiError(tui.Run(src, tui.DefaultOptions()))
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print the trace as text to stdout (no terminal needed)")
	return cmd
}

// errWriter remembers a failed write, so that a broken stdout is told apart
// from a broken trace file.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// printTrace is replay --print: a bad trace file is bad input (exit 2), a
// failing stdout a runtime error.
func printTrace(path string, w io.Writer) error {
	ew := &errWriter{w: w}
	err := trace.PrintText(path, ew)
	switch {
	case err == nil:
		return nil
	case ew.err != nil && errors.Is(err, ew.err):
		return fmt.Errorf("replay --print: %w", err)
	}
	return BadInput(err)
}

// tuiError classifies an error of tui.Run: a source that broke (a damaged
// trace) is bad input.
func tuiError(err error) error {
	var se *tui.SourceError
	if errors.As(err, &se) {
		return BadInput(err)
	}
	return err
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
