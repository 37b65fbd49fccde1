package cli

import (
	"fmt"
	"sync"

	"github.com/infertrace/infertrace/trace"
)

// TraceFile is the --trace-output file of a debugger session. A session
// may run the model several times (`r` restarts it); the file always holds
// the latest run and is valid JSON between runs: Begin closes the previous
// run (as ExecutionAborted when it had not finished) and rewrites the file
// from scratch with ids from 1. A run is closed with its summary as soon as
// its final event is written, so a finished run validates while the
// debugger is still open. It is safe for concurrent use.
type TraceFile struct {
	path   string
	header trace.Header

	mu    sync.Mutex
	jw    *trace.JSONWriter
	err   error // the current run's first write error: its later writes are skipped
	first error // the session's first error, reported by Err
}

// CreateTraceFile creates (truncating) path and writes the trace header
// for the first run.
func CreateTraceFile(path string, h trace.Header) (*TraceFile, error) {
	jw, err := trace.CreateJSONFile(path, h)
	if err != nil {
		return nil, err
	}
	return &TraceFile{path: path, header: h, jw: jw}, nil
}

// Path returns the file's path.
func (t *TraceFile) Path() string { return t.path }

// Begin prepares the file for a new run. The first run uses the file as
// created; a later one (a restart) first closes the previous run, as
// ExecutionAborted if it had not finished, then rewrites the file.
func (t *TraceFile) Begin() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.jw.LastID() == 0 {
		return nil // nothing of a run written yet
	}
	if err := t.jw.Abort("restarted in the debugger (r); the file now holds the new run"); err != nil {
		t.keep(err)
	}
	jw, err := trace.CreateJSONFile(t.path, t.header)
	if err != nil {
		t.keep(err)
		return err
	}
	t.jw, t.err = jw, nil
	return nil
}

// Write appends ev to the current run; the run's final event closes the
// document with its summary. After a write error the file is left as it
// is and Err reports the error.
func (t *TraceFile) Write(ev trace.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if err := t.jw.Write(ev); err != nil {
		t.keep(err)
		return err
	}
	switch ev.Type {
	case trace.ExecutionSucceeded, trace.ExecutionFailed, trace.ExecutionAborted:
		if err := t.jw.Close(trace.Summary{}); err != nil {
			t.keep(err)
			return err
		}
	}
	return nil
}

// Status returns the current run's status (SUCCEEDED, FAILED, ABORTED) or
// "" while it runs.
func (t *TraceFile) Status() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.jw.Tally().Status
}

// Abort closes a run that has not finished as ExecutionAborted with
// reason; a finished run is left as it is.
func (t *TraceFile) Abort(reason string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.jw.Abort(reason); err != nil {
		t.keep(err)
	}
	return t.err
}

// Fail closes a run that has not finished as ExecutionFailed.
func (t *TraceFile) Fail(code, cause, hint string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.jw.Fail(code, cause, hint); err != nil {
		t.keep(err)
	}
	return t.err
}

// Err returns the first error met writing the file in the session, if
// any (a later run that wrote the file cleanly does not hide it).
func (t *TraceFile) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first
}

func (t *TraceFile) keep(err error) {
	if t.err == nil && err != nil {
		t.err = fmt.Errorf("--trace-output %s: %w", t.path, err)
		if t.first == nil {
			t.first = t.err
		}
	}
}
