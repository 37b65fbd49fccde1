package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestExecuteExitCodes: every kind of failure of a command is one line on
// stderr with its exit code; a panic or a BugError is the bug-report line
// with exit 1, and a failing input file exits 2 however deeply wrapped.
func TestExecuteExitCodes(t *testing.T) {
	fail := func(err error) func(*cobra.Command, []string) error {
		return func(*cobra.Command, []string) error { return err }
	}
	cmds := map[string]func(*cobra.Command, []string) error{
		"test-ok":      fail(nil),
		"test-runtime": fail(errors.New("disk on fire")),
		"test-input":   fail(fmt.Errorf("open: %w", BadInput(errors.New("m.gguf: truncated file")))),
		"test-bug":     fail(Bug(errors.New("engine panic: boom"))),
		"test-panic":   func(*cobra.Command, []string) error { panic("boom") },
	}
	for name, run := range cmds {
		c := &cobra.Command{Use: name, RunE: run}
		Root.AddCommand(c)
		defer Root.RemoveCommand(c)
	}
	const bug = "infertrace: internal error (please report a bug with this line): "
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"test-ok"}, ExitOK, ""},
		{[]string{"test-runtime"}, ExitRuntime, "infertrace: disk on fire\n"},
		{[]string{"test-input"}, ExitInput, "infertrace: open: m.gguf: truncated file\n"},
		{[]string{"test-bug"}, ExitRuntime, bug + "engine panic: boom\n"},
		{[]string{"test-panic"}, ExitRuntime, bug + "boom\n"},
		{[]string{"test-ok", "--bogus"}, ExitInput, "infertrace: infertrace test-ok: unknown flag: --bogus\n"},
		{[]string{"--bogus"}, ExitInput, "infertrace: unknown flag: --bogus\n"},
		{[]string{"no-such-command"}, ExitInput, `infertrace: unknown command "no-such-command" for "infertrace"` + "\n"},
	} {
		t.Setenv("INFERTRACE_DEBUG", "")
		var out, errb bytes.Buffer
		code := Execute(tc.args, &out, &errb)
		if code != tc.code || errb.String() != tc.stderr {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, errb.String(), tc.code, tc.stderr)
		}
		if strings.Count(errb.String(), "\n") > 1 {
			t.Errorf("%v: more than one stderr line", tc.args)
		}
	}
}

// TestEnginePanicHook: the test-only hook panics at the requested token
// only.
func TestEnginePanicHook(t *testing.T) {
	t.Setenv(testEnginePanicEnv, "3")
	for n := range 5 {
		func() {
			defer func() {
				if r := recover(); (r != nil) != (n == 3) {
					t.Errorf("token %d: recovered %v", n, r)
				}
			}()
			testEnginePanic(n)
		}()
	}
	t.Setenv(testEnginePanicEnv, "")
	testEnginePanic(0) // unset: never panics
}
