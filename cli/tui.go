package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	// `infertrace` with no arguments opens the debugger on the built-in
	// demo model and the default prompt.
	Root.Args = cobra.NoArgs
	Root.Long += "\n\nWith no command, infertrace opens the debugger on the built-in demo model\n(keys: s step, c continue, ? help, q quit)."
	Root.RunE = func(cmd *cobra.Command, _ []string) error {
		if !isTTY(cmd.OutOrStdout()) {
			return BadInput(fmt.Errorf("no terminal to open the debugger on; try `infertrace run --trace` for a text trace (or `infertrace --help`)"))
		}
		var f RunFlags
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
key. Without -m it runs the built-in demo model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !isTTY(cmd.OutOrStdout()) {
				return BadInput(fmt.Errorf("debug: stdout is not a terminal; use `infertrace run --trace` for a text trace"))
			}
			return runRun(cmd, &f, true)
		},
	}
	AddRunFlags(cmd, &f)
	return cmd
}
