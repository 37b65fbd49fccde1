// Package e2e holds end-to-end tests that build and run the infertrace
// binary.
package e2e

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/trace"
)

// TestSignalClosesTrace interrupts a long traced run after its first
// output and checks that the JSON trace is valid and ends with
// ExecutionAborted, and that the process exits 1.
func TestSignalClosesTrace(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(dir, sig.String()+".json")
			cmd := exec.Command(bin, "run", "-m", model, "-n", "10000", "--temp", "0", "--trace-output", out)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the first generated text (the prompt is echoed
			// first, then tokens stream).
			r := bufio.NewReader(stdout)
			first := make([]byte, len("Once upon a time")+4)
			if _, err := io.ReadFull(r, first); err != nil {
				cmd.Process.Kill()
				t.Fatalf("reading the first output: %v", err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = r.WriteTo(io.Discard) }()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the run did not stop within 30 s of the signal")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want exit status 1", err)
			}

			rd, err := trace.OpenReader(mustOpen(t, out))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range trace.Validate(rd) {
				t.Errorf("trace violation: %s", v)
			}
			_, evs, sum, err := trace.ReadAll(mustOpen(t, out))
			if err != nil {
				t.Fatalf("read trace: %v", err)
			}
			if len(evs) == 0 || evs[len(evs)-1].Type != trace.ExecutionAborted {
				t.Fatalf("trace of %d events does not end with ExecutionAborted", len(evs))
			}
			if sum == nil || sum.Status != trace.StatusAborted {
				t.Errorf("summary %+v, want status %s", sum, trace.StatusAborted)
			}
		})
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestEnginePanicClosesTrace makes the engine of the real binary panic
// (through the test-only INFERTRACE_TEST_ENGINE_PANIC hook of cli) while
// a run writes a JSON trace: the trace must be valid JSON ending with
// ExecutionFailed (InternalError), the user must see the bug-report line
// and no stack, and the exit status must be 1.
func TestEnginePanicClosesTrace(t *testing.T) {
	dir := t.TempDir()
	bin := sharedBinary(t)
	out := filepath.Join(dir, "panic.json")
	cmd := exec.Command(bin, "run", "-n", "5", "--temp", "0", "--trace-output", out)
	cmd.Env = append(os.Environ(), "INFERTRACE_TEST_ENGINE_PANIC=2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1", err)
	}
	const bugLine = "infertrace: internal error (please report a bug with this line): engine panic: "
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, bugLine) || !strings.Contains(last, "test-only engine panic at token 2") {
		t.Errorf("last stderr line %q, want the bug-report line", last)
	}
	if n := strings.Count(stderr.String(), "infertrace:"); n != 1 || strings.Contains(stderr.String(), "goroutine") {
		t.Errorf("stderr has %d infertrace: lines (want 1) or a stack:\n%s", n, stderr.String())
	}

	rd, err := trace.OpenReader(mustOpen(t, out))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range trace.Validate(rd) {
		t.Errorf("trace violation: %s", v)
	}
	_, evs, sum, err := trace.ReadAll(mustOpen(t, out))
	if err != nil {
		t.Fatalf("read trace: %v", err)
	}
	if len(evs) == 0 {
		t.Fatal("the trace has no events")
	}
	if last := evs[len(evs)-1]; last.Type != trace.ExecutionFailed || last.Error != "InternalError" || !strings.Contains(last.Cause, "engine panic") {
		t.Errorf("last event %s %q %q, want ExecutionFailed InternalError naming the engine panic", last.Type, last.Error, last.Cause)
	}
	if sum == nil || sum.Status != trace.StatusFailed || sum.GeneratedTokens != 2 {
		t.Errorf("summary %+v, want status %s after 2 tokens", sum, trace.StatusFailed)
	}
}
