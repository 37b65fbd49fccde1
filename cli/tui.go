package cli

import (
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/infertrace/infertrace/tui"
)

func init() {
	// `infertrace` with no arguments opens the debugger on the built-in
	// demo model and the default prompt.
	Root.Args = cobra.NoArgs
	Root.Long += "\n\nWith no command, infertrace opens the debugger on the built-in demo model\n(keys: s step, c continue, ? help, q quit)."
	Root.RunE = func(cmd *cobra.Command, _ []string) error {
		var f RunFlags // runRun refuses a non-terminal stdout
		scratch := &cobra.Command{}
		AddRunFlags(scratch, &f) // the flag defaults: demo model, default prompt
		return runRun(cmd, &f, true)
	}
	Root.AddCommand(newDebugCmd())
}

// newDebugCmd builds `infertrace debug`, which is `run --tui`.
func newDebugCmd() *cobra.Command {
	var f RunFlags
	cmd := &cobra.Command{
		Use:   "debug [-m MODEL] [-p PROMPT] [flags]",
		Short: "Step through a run in the debugger TUI (run --tui)",
		Long: `debug runs the model like run, but inside the debugger: s steps one
transition, n steps over a layer, t to the next token, c continues to the
next breakpoint or error (the first NaN/Inf stops the run), ? shows every
key. Without -m it runs the built-in demo model. With --trace-output the
file holds the events stepped through, of the latest run when r restarted it.`,
		Example: `  infertrace debug
  infertrace debug -m stories260K.gguf -p "Once upon a time" -n 16
  infertrace debug -m stories260K.gguf --inject nan@blk.3.ffn_out --trace-output nan.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			return runRun(cmd, &f, true)
		},
	}
	AddRunFlags(cmd, &f)
	return cmd
}

// needTerminal refuses to open the debugger when stdout is not a terminal
// (exit 2), suggesting the text form.
func needTerminal(cmd *cobra.Command, what, suggestion string) error {
	if isTTY(cmd.OutOrStdout()) {
		return nil
	}
	return BadInput(fmt.Errorf("%s: stdout is not a terminal; %s", what, suggestion))
}

// runTUI opens the debugger over a live run of rs. With --trace-output the
// file receives every event stepped through; it holds the latest run and
// is valid JSON whenever the debugger returns (see TraceFile).
func runTUI(rs *RunSetup, f *RunFlags) error {
	var tf *TraceFile
	if f.TraceOutput != "" {
		var err error
		if tf, err = CreateTraceFile(f.TraceOutput, rs.Header); err != nil {
			return BadInput(err)
		}
		defer func() {
			if r := recover(); r != nil {
				tf.Fail("InternalError", fmt.Sprintf("panic: %v", r), "this is a bug in infertrace; please report it")
				panic(r)
			}
		}()
	}
	opts := tui.DefaultOptions()
	opts.TopK = f.TraceTopK
	err := tui.Run(rs.LiveSource(tf), opts)
	if tf == nil {
		return err
	}
	// Close a run left unfinished; a finished one is already closed.
	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		tf.Fail("InternalError", "panic in the debugger: "+err.Error(), "this is a bug in infertrace; please report it")
	case err != nil:
		tf.Abort("the debugger stopped: " + err.Error())
	default:
		tf.Abort("the debugger was closed before the run finished")
	}
	if werr := tf.Err(); werr != nil && err == nil {
		return werr
	}
	return err
}
