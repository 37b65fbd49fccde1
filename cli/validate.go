package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/infertrace/infertrace/trace"
	"github.com/spf13/cobra"
)

// errInvalidTrace makes validate exit 1 after printing the violations.
var errInvalidTrace = errors.New("trace is invalid")

func init() {
	Root.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check that a JSON trace is a well-formed execution history",
		Long: `validate streams a JSON trace and checks its history: ids contiguous from 1,
previousEventId = id-1, ExecutionStarted first, every TaskStateEntered closed by
a TaskStateExited of the same state, children closed before their parents, and
exactly one final ExecutionSucceeded/Failed/Aborted event with nothing after it.
It prints OK with counts (exit 0) or every violation (exit 1); a file that is
not a trace, or stops being valid trace JSON after its header, exits 2 (a
truncated trace is a readable, invalid one: exit 1).`,
		Example: `  infertrace validate trace.json`,
		Args:    cobra.ExactArgs(1),
		RunE:    runValidate,
	})
}

func runValidate(cmd *cobra.Command, args []string) error {
	path := args[0]
	rd, err := trace.OpenFile(path)
	if err != nil {
		return BadInput(err)
	}
	defer rd.Close()
	vs := trace.Validate(rd)
	out := cmd.OutOrStdout()
	if len(vs) > 0 {
		for _, v := range vs {
			fmt.Fprintf(out, "%s: %s\n", path, v)
		}
		// A file that is not JSON of a trace past its header (bad syntax,
		// wrong types, nesting too deep) is bad input; a truncated one is
		// a readable but invalid trace. The reader's error is sticky.
		if _, err := rd.Next(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, trace.ErrTruncated) {
			return BadInput(err)
		}
		return fmt.Errorf("%s: %w: %d violations in %d events", path, errInvalidTrace, len(vs), rd.Count())
	}
	status := "no summary"
	if s, ok := rd.Summary(); ok {
		status = fmt.Sprintf("%s, %d errors, %d warnings, %d prompt + %d generated tokens",
			s.Status, s.ErrorCount, s.WarningCount, s.PromptTokens, s.GeneratedTokens)
	}
	fmt.Fprintf(out, "%s: OK: %d events (%s)\n", path, rd.Count(), status)
	return nil
}
