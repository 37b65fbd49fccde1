package tui

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/infertrace/infertrace/trace"
)

// Source yields events one at a time; live runs and replays implement it.
// Next is called inside a tea.Cmd, never on the UI goroutine, so it may
// block while the engine computes.
type Source interface {
	Next() (trace.Event, error) // io.EOF at the end
	Info() SourceInfo
	Close() error
}

// SourceInfo describes a run for the status bar.
type SourceInfo struct {
	Mode      string // "LIVE" or "REPLAY"
	Model     string // model name (file base name or general.name)
	Type      string // dominant tensor type, e.g. "F32", "Q8_0"
	NLayer    int    // transformer blocks
	NPredict  int    // tokens to generate
	Prompt    string // the prompt, when known before TOKENIZE
	Path      string // model or trace file
	Restarter bool   // set by NewLiveSource: `r` re-runs the model
}

// Restarter is implemented by sources that can run again from the start.
type Restarter interface {
	Restart() error
}

// Preparer is implemented by sources that need a long setup pass (a
// replay's streaming index). Run calls Prepare inside a tea.Cmd and shows a
// progress bar fed by progress.
type Preparer interface {
	Prepare(progress func(done, total int64)) error
}

// RandomAccess is implemented by sources whose events can be re-read by
// position (0-based), so the UI need not keep them in memory.
type RandomAccess interface {
	EventAt(i int) (trace.Event, error)
}

// ErrRestartUnsupported is returned by restart on a source that cannot run
// again.
var ErrRestartUnsupported = errors.New("this source cannot restart")

// liveSource adapts a pull iterator (iter.Pull over a pipeline session's
// event sequence) to Source.
type liveSource struct {
	start func() (next func() (trace.Event, bool), stop func(), err error)
	info  SourceInfo

	mu   sync.Mutex
	next func() (trace.Event, bool)
	stop func()
	done bool
}

// NewLiveSource returns a Source over a live run. start begins a run and
// returns its pull iterator and the function that releases it; it is called
// lazily on the first Next and again on each restart (`r`).
func NewLiveSource(start func() (next func() (trace.Event, bool), stop func(), err error), info SourceInfo) Source {
	if info.Mode == "" {
		info.Mode = "LIVE"
	}
	info.Restarter = true
	return &liveSource{start: start, info: info}
}

func (s *liveSource) ensure() error {
	if s.next != nil || s.done {
		return nil
	}
	next, stop, err := s.start()
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	s.next, s.stop = next, stop
	return nil
}

// Next returns the run's next event, io.EOF after the last one.
func (s *liveSource) Next() (trace.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensure(); err != nil {
		return trace.Event{}, err
	}
	if s.done {
		return trace.Event{}, io.EOF
	}
	ev, ok := s.next()
	if !ok {
		s.release()
		s.done = true
		return trace.Event{}, io.EOF
	}
	return ev, nil
}

func (s *liveSource) release() {
	if s.stop != nil {
		s.stop()
	}
	s.next, s.stop = nil, nil
}

// Restart stops the current run; the next Next starts a new one.
func (s *liveSource) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release()
	s.done = false
	return nil
}

// Info describes the run.
func (s *liveSource) Info() SourceInfo { return s.info }

// Close stops the run.
func (s *liveSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release()
	s.done = true
	return nil
}
