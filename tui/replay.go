package tui

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/infertrace/infertrace/trace"
)

// replaySource reads a trace file through a streaming index: one pass
// records each event's offset (Prepare), then events are read on demand,
// so a large trace needs little memory.
type replaySource struct {
	path     string
	progress func(done, total int64)
	header   trace.Header

	mu        sync.Mutex
	ix        *trace.Index
	next      int
	truncated error // the index covers only a readable prefix
	closed    bool
}

// NewReplaySource opens the trace file path and checks its header; the
// index is built by Prepare (Run calls it and shows a progress bar), which
// also calls progress when it is not nil.
func NewReplaySource(path string, progress func(done, total int64)) (Source, error) {
	rd, err := trace.OpenFile(path)
	if err != nil {
		return nil, err
	}
	h := rd.Header()
	if err := rd.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &replaySource{path: path, progress: progress, header: h}, nil
}

// Prepare indexes the trace in one streaming pass. A truncated trace (a
// crashed run) keeps its readable prefix; any other damage is an error.
func (r *replaySource) Prepare(progress func(done, total int64)) error {
	ix, err := trace.BuildIndex(r.path, func(done, total int64) {
		if progress != nil {
			progress(done, total)
		}
		if r.progress != nil {
			r.progress(done, total)
		}
	})
	if err != nil && (ix == nil || !errors.Is(err, trace.ErrTruncated)) {
		if ix != nil {
			ix.Close()
		}
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed { // closed while indexing (the user quit)
		ix.Close()
		return fmt.Errorf("%s: replay closed", r.path)
	}
	if r.ix != nil {
		r.ix.Close() // indexed twice: keep the newer
	}
	r.ix, r.truncated = ix, err
	return nil
}

func (r *replaySource) index() (*trace.Index, error) {
	r.mu.Lock()
	ix, closed := r.ix, r.closed
	r.mu.Unlock()
	switch {
	case closed:
		return nil, fmt.Errorf("%s: replay closed", r.path)
	case ix != nil:
		return ix, nil
	}
	if err := r.Prepare(nil); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ix, nil
}

// Next returns the events in file order, io.EOF after the last; the end of
// a truncated trace is reported as its ErrTruncated error.
func (r *replaySource) Next() (trace.Event, error) {
	ix, err := r.index()
	if err != nil {
		return trace.Event{}, err
	}
	r.mu.Lock()
	i := r.next
	if i >= ix.Len() {
		r.mu.Unlock()
		if r.truncated != nil {
			return trace.Event{}, r.truncated
		}
		return trace.Event{}, io.EOF
	}
	r.next++
	r.mu.Unlock()
	return ix.ReadEventAt(i)
}

// EventAt re-reads event i (0-based) through the index.
func (r *replaySource) EventAt(i int) (trace.Event, error) {
	ix, err := r.index()
	if err != nil {
		return trace.Event{}, err
	}
	return ix.ReadEventAt(i)
}

// Info describes the recorded run from the trace header.
func (r *replaySource) Info() SourceInfo {
	mi := r.header.Model
	name := mi.Name
	if name == "" {
		name = filepath.Base(mi.Path)
	}
	return SourceInfo{Mode: "REPLAY", Model: name, Type: mi.QuantType, NLayer: mi.NumLayers,
		NPredict: r.header.Run.NPredict, Prompt: r.header.Run.Prompt, Path: r.path}
}

// Close closes the trace file.
func (r *replaySource) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.ix == nil {
		return nil
	}
	err := r.ix.Close()
	r.ix = nil
	return err
}
