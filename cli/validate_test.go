package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/trace"
)

func writeTrace(t *testing.T, path string, evs []trace.Event) {
	t.Helper()
	w, err := trace.CreateJSONFile(path, trace.Header{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(trace.Summary{}); err != nil {
		t.Fatal(err)
	}
}

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	writeTrace(t, good, []trace.Event{
		{Type: trace.ExecutionStarted},
		{Type: trace.TaskStateEntered, State: trace.Embed, Payload: &trace.Payload{Layer: trace.NoLayer}},
		{Type: trace.TaskStateExited, State: trace.Embed, Payload: &trace.Payload{Layer: trace.NoLayer}},
		{Type: trace.ExecutionSucceeded},
	})
	bad := filepath.Join(dir, "bad.json")
	writeTrace(t, bad, []trace.Event{
		{Type: trace.ExecutionStarted},
		{Type: trace.TaskStateEntered, State: trace.Embed, Payload: &trace.Payload{Layer: trace.NoLayer}},
		{Type: trace.ExecutionSucceeded},
	})
	notTrace := filepath.Join(dir, "x.json")
	os.WriteFile(notTrace, []byte(`{"hello":1}`), 0o644)
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"validate", good}, ExitOK, "OK: 4 events (SUCCEEDED, 0 errors, 0 warnings", ""},
		{[]string{"validate", bad}, ExitRuntime, "event 2: unclosed: EMBED was never exited", "trace is invalid: 1 violations in 3 events"},
		{[]string{"validate", notTrace}, ExitInput, "", "not an infertrace trace"},
		{[]string{"validate", filepath.Join(dir, "missing.json")}, ExitInput, "", "no such file"},
		{[]string{"validate"}, ExitInput, "", "accepts 1 arg"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := Execute(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out.String(), errb.String())
		}
		if n := strings.Count(errb.String(), "\n"); n > 1 {
			t.Errorf("%v: stderr has %d lines, want one", tc.args, n)
		}
	}
}
