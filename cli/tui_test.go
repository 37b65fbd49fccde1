package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/trace"
	"github.com/infertrace/infertrace/tui"
)

// TestTUINeedsTerminal: every entry point of the debugger refuses a
// stdout that is not a terminal with exit 2 and one line suggesting the
// text trace, before loading anything.
func TestTUINeedsTerminal(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"run", "--tui"},
		{"run", "--tui", "-m", filepath.Join(t.TempDir(), "missing.gguf")},
		{"debug"},
	} {
		var stdout, stderr bytes.Buffer
		code := Execute(args, &stdout, &stderr)
		msg := stderr.String()
		if code != ExitInput {
			t.Errorf("%v: exit %d, want %d; stderr %q", args, code, ExitInput, msg)
		}
		if strings.Count(msg, "\n") != 1 || strings.Count(msg, "infertrace:") != 1 || !strings.Contains(msg, "not a terminal") || !strings.Contains(msg, "--trace") {
			t.Errorf("%v: stderr %q, want one line suggesting --trace", args, msg)
		}
	}
}

// tuiSetup loads stories260K for a greedy 3-token run through the flag
// defaults, as `run --tui -m ... -n 3 --temp 0` would.
func tuiSetup(t *testing.T) *RunSetup {
	t.Helper()
	var f RunFlags
	AddRunFlags(&cobra.Command{}, &f)
	f.Model = refdata.Path(t, "stories260K", "stories260K.gguf")
	f.NPredict, f.Temp = 3, 0
	rs, err := f.Setup()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Model.Close() })
	return rs
}

// validTrace reads and validates a trace file and returns its events.
func validTrace(t *testing.T, path string) ([]trace.Event, *trace.Summary) {
	t.Helper()
	rd, err := trace.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range trace.Validate(rd) {
		t.Errorf("%s: %s", path, v)
	}
	rd.Close()
	_, evs, sum, err := trace.ReadAll(mustOpenFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return evs, sum
}

func pull(t *testing.T, src tui.Source, n int) []trace.Event {
	t.Helper()
	var evs []trace.Event
	for n < 0 || len(evs) < n {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestTUITraceFileRestart: with --trace-output, `r` used to append a
// second run with ids from 1 to the same document. The file must hold
// the latest run only, and validate after every run and restart.
func TestTUITraceFileRestart(t *testing.T) {
	rs := tuiSetup(t)
	path := filepath.Join(t.TempDir(), "tui.json")
	tf, err := CreateTraceFile(path, rs.Header)
	if err != nil {
		t.Fatal(err)
	}
	src := rs.LiveSource(tf)
	defer src.Close()

	// A first run, stopped part-way, then restarted.
	first := pull(t, src, 40)
	if err := src.(tui.Restarter).Restart(); err != nil {
		t.Fatal(err)
	}
	second := pull(t, src, 1)
	// While a run goes on the file is its streamed prefix, as in run.
	_, evs, sum, err := trace.ReadAll(mustOpenFile(t, path))
	if !errors.Is(err, trace.ErrTruncated) || sum != nil {
		t.Errorf("during the new run: error %v, summary %+v; want its truncated prefix", err, sum)
	}
	if len(evs) != 1 || evs[0].Type != trace.ExecutionStarted || evs[0].ID != 1 {
		t.Fatalf("after the restart the file holds %d events, want the new run's ExecutionStarted", len(evs))
	}

	// The second run to its end: the file is closed at once, with the
	// same events the debugger received.
	second = append(second, pull(t, src, -1)...)
	evs, sum = validTrace(t, path)
	if len(evs) != len(second) || evs[len(evs)-1].Type != trace.ExecutionSucceeded {
		t.Fatalf("file has %d events ending %s, the run had %d", len(evs), evs[len(evs)-1].Type, len(second))
	}
	for i := range evs {
		if evs[i].ID != second[i].ID || evs[i].Type != second[i].Type || evs[i].State != second[i].State {
			t.Fatalf("event %d: file %d %s %s, debugger %d %s %s", i, evs[i].ID, evs[i].Type, evs[i].State,
				second[i].ID, second[i].Type, second[i].State)
		}
	}
	if sum == nil || sum.Status != trace.StatusSucceeded || sum.GeneratedTokens != 3 || sum.PromptTokens != 5 {
		t.Errorf("summary %+v, want SUCCEEDED with 5 prompt + 3 generated tokens", sum)
	}
	if len(first) != 40 || first[0].ID != 1 {
		t.Fatalf("first run: %d events", len(first))
	}

	// A restart after a finished run, quit part-way: closed as aborted.
	if err := src.(tui.Restarter).Restart(); err != nil {
		t.Fatal(err)
	}
	third := pull(t, src, 25)
	src.Close()
	if err := tf.Abort("closed"); err != nil {
		t.Fatal(err)
	}
	evs, sum = validTrace(t, path)
	// The events pulled, then only the exits of states left open, then
	// ExecutionAborted.
	if len(evs) <= len(third) || evs[len(evs)-1].Type != trace.ExecutionAborted {
		t.Fatalf("quit part-way: %d events ending %s, want the %d pulled + ExecutionAborted", len(evs), evs[len(evs)-1].Type, len(third))
	}
	for i, ev := range evs[:len(evs)-1] {
		if i < len(third) && (ev.ID != third[i].ID || ev.Type != third[i].Type) || i >= len(third) && ev.Type != trace.TaskStateExited {
			t.Errorf("quit part-way: event %d is %s %s", ev.ID, ev.Type, ev.State)
		}
	}
	if sum == nil || sum.Status != trace.StatusAborted {
		t.Errorf("summary %+v, want ABORTED", sum)
	}
	if tf.Err() != nil {
		t.Errorf("trace file error: %v", tf.Err())
	}
}

func mustOpenFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
