// Package cli holds the cobra commands. It exists so that main.go stays a
// one-liner and every command lives in a file of its own (inspect.go,
// run.go, ...), registering itself on the root command in an init func.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// Version is the infertrace version, overridable at link time.
var Version = "0.1.0-dev"

// Exit codes.
const (
	ExitOK      = 0
	ExitRuntime = 1 // runtime failure
	ExitInput   = 2 // bad usage or bad input file
)

// InputError marks an error caused by bad usage or a bad input file; the
// process exits with ExitInput.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// BadInput wraps err as an InputError (nil stays nil).
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	return &InputError{err}
}

// BugError marks an internal error (a bug in infertrace, such as a panic
// the engine recovered from): Execute prints it as the bug-report line and
// exits ExitRuntime.
type BugError struct{ Err error }

func (e *BugError) Error() string { return e.Err.Error() }
func (e *BugError) Unwrap() error { return e.Err }

// Bug wraps err as a BugError (nil stays nil).
func Bug(err error) error {
	if err == nil {
		return nil
	}
	return &BugError{err}
}

// bugLine is the one line printed for an internal error or panic.
const bugLine = "infertrace: internal error (please report a bug with this line): %v\n"

// testEnginePanicEnv is a test-only environment variable, not a feature:
// set to N, run panics inside the engine (in the token callback the
// session calls while decoding) when the N-th token is produced, so that
// tests of the real binary can check what an engine panic leaves behind:
// a JSON trace ending with ExecutionFailed, the bug-report line, exit 1.
const testEnginePanicEnv = "INFERTRACE_TEST_ENGINE_PANIC"

// testEnginePanic panics when testEnginePanicEnv asks for a panic at the
// n-th generated token.
func testEnginePanic(n int) {
	if v := os.Getenv(testEnginePanicEnv); v != "" && v == strconv.Itoa(n) {
		panic(fmt.Sprintf("%s=%s: test-only engine panic at token %d", testEnginePanicEnv, v, n))
	}
}

// Root is the root command; commands add themselves to it in init funcs.
var Root = &cobra.Command{
	Use:   "infertrace",
	Short: "A terminal debugger for LLM inference",
	Long: `infertrace runs GGUF and safetensors LLaMA/Qwen2 models on the CPU and
exposes inference as a state machine you can trace, step through and replay.`,
	Example: `  infertrace                                   # the debugger on the built-in demo model
  infertrace run -m model.gguf -p "Hello" --trace
  infertrace debug -m model.gguf -p "Hello"
  infertrace replay trace.json
  infertrace inspect model.gguf`,
	Version:       Version,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	Root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if !c.HasParent() { // "infertrace: unknown flag", not "infertrace: infertrace: ..."
			return BadInput(err)
		}
		return BadInput(fmt.Errorf("%s: %w", c.CommandPath(), err))
	})
}

// Execute runs the CLI with args and returns the process exit code. Errors
// are printed as one line on stderr; an internal panic prints a bug-report
// line and exits ExitRuntime.
func Execute(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, bugLine, r)
			if os.Getenv("INFERTRACE_DEBUG") != "" {
				fmt.Fprintf(stderr, "%s\n", debug.Stack())
			}
			code = ExitRuntime
		}
	}()
	Root.SetArgs(args)
	Root.SetOut(stdout)
	Root.SetErr(stderr)
	cmd, err := Root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	var be *BugError
	if errors.As(err, &be) {
		fmt.Fprintf(stderr, bugLine, err)
		return ExitRuntime
	}
	fmt.Fprintf(stderr, "infertrace: %v\n", err)
	var ie *InputError
	if errors.As(err, &ie) || isUsageError(cmd, err) {
		return ExitInput
	}
	return ExitRuntime
}

// isUsageError recognises cobra's own argument errors ("unknown command",
// "accepts 1 arg(s)"), which it does not type.
func isUsageError(cmd *cobra.Command, err error) bool {
	if cmd == nil {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
