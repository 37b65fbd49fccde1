package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Format is the value of the document's "format" member.
const Format = "infertrace/v1"

// Header is everything a trace document holds before its events.
type Header struct {
	Format  string    `json:"format"`
	Version string    `json:"infertrace_version"`
	Created time.Time `json:"created"`
	Model   ModelInfo `json:"model"`
	Run     RunInfo   `json:"run"`
}

// ModelInfo identifies the model a trace was recorded with.
type ModelInfo struct {
	Path         string `json:"path"`
	Name         string `json:"name"`
	Architecture string `json:"architecture"`
	NumLayers    int    `json:"num_layers"`
	HiddenDim    int    `json:"hidden_dim"`
	VocabSize    int    `json:"vocab_size"`
	NumHeads     int    `json:"num_heads"`
	NumKVHeads   int    `json:"num_kv_heads"`
	QuantType    string `json:"quant_type"`
	FileSHA256   string `json:"file_sha256"`
}

// RunInfo is the run's settings; it is also the input of ExecutionStarted.
type RunInfo struct {
	Prompt     string        `json:"prompt"`
	NPredict   int           `json:"n_predict"`
	Sampler    SamplerConfig `json:"sampler"`
	Threads    int           `json:"threads"`
	Steps      []string      `json:"steps"`      // traced state names
	Injections []string      `json:"injections"` // --inject specs as written
}

// Run statuses of Summary.Status.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusAborted   = "ABORTED"
)

// Summary closes a trace document.
type Summary struct {
	Status          string `json:"status"` // SUCCEEDED, FAILED or ABORTED
	ErrorCount      int    `json:"error_count"`
	WarningCount    int    `json:"warning_count"`
	PromptTokens    int    `json:"prompt_tokens"`
	GeneratedTokens int    `json:"generated_tokens"`
	WallMS          int64  `json:"wall_ms"`
}

// Sink consumes the events of a run: the JSON writer, the text sink, the
// TUI's recorder.
type Sink interface {
	Write(ev Event) error
	Close(s Summary) error
}

// Tee returns a Sink writing to every sink in turn; errors are joined.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) Write(ev Event) error {
	var errs []error
	for _, s := range t {
		errs = append(errs, s.Write(ev))
	}
	return errors.Join(errs...)
}

func (t tee) Close(sum Summary) error {
	var errs []error
	for _, s := range t {
		errs = append(errs, s.Close(sum))
	}
	return errors.Join(errs...)
}

// Tally counts errors, warnings and tokens of a run from its events, to
// fill a Summary.
type Tally struct {
	Status          string
	Errors          int
	Warnings        int
	PromptTokens    int
	GeneratedTokens int
	codes           map[string]bool
}

// Add counts ev.
func (t *Tally) Add(ev Event) {
	if p := ev.Payload; p != nil {
		for _, is := range p.Issues {
			if is.Severity == SevError {
				t.Errors++
				if t.codes == nil {
					t.codes = map[string]bool{}
				}
				t.codes[is.Code] = true
			} else {
				t.Warnings++
			}
		}
		if ev.Type == TaskStateExited {
			switch ev.State {
			case Tokenize:
				t.PromptTokens += len(p.TokenIDs)
			case Decode:
				t.GeneratedTokens++
			}
		}
	}
	switch ev.Type {
	case ExecutionSucceeded:
		t.Status = StatusSucceeded
	case ExecutionFailed:
		t.Status = StatusFailed
		// The failure usually repeats an issue already counted.
		if !t.codes[ev.Error] {
			t.Errors++
		}
	case ExecutionAborted:
		t.Status = StatusAborted
	}
}

// Summary returns the counts as a Summary of a run that took wall. A run
// without a final event counts as ABORTED.
func (t *Tally) Summary(wall time.Duration) Summary {
	st := t.Status
	if st == "" {
		st = StatusAborted
	}
	return Summary{Status: st, ErrorCount: t.Errors, WarningCount: t.Warnings,
		PromptTokens: t.PromptTokens, GeneratedTokens: t.GeneratedTokens, WallMS: wall.Milliseconds()}
}

// JSONWriter streams a trace document: the header at creation, each event
// as it is written (flushed, so a crash leaves a readable prefix), the
// summary at Close. It is safe for concurrent use, so a signal handler may
// call Abort while the engine writes.
type JSONWriter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	file   *os.File // set by CreateJSONFile: synced and closed by Close
	header Header
	start  time.Time
	lastID int64
	n      int
	tally  Tally
	open   []openEntered // states entered and not exited, outermost first
	closed bool
	err    error   // first write error; later writes return it
	enc    encoder // its buffers and summary cache are reused event to event
}

// openEntered is a state the document has entered and not yet exited.
type openEntered struct {
	state            State
	iteration, layer int
	parent           int64
	at               time.Time
}

// NewJSONWriter writes the header of a document to w and opens its events
// array. Empty Format/Created are filled in.
func NewJSONWriter(w io.Writer, h Header) (*JSONWriter, error) {
	if h.Format == "" {
		h.Format = Format
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	h.Created = h.Created.UTC().Truncate(time.Millisecond)
	// Lists are written as [] rather than null when empty.
	if h.Run.Steps == nil {
		h.Run.Steps = []string{}
	}
	if h.Run.Injections == nil {
		h.Run.Injections = []string{}
	}
	jw := &JSONWriter{w: bufio.NewWriterSize(w, 64<<10), header: h, start: time.Now()}
	jw.enc.cache = new([summaryCacheSize]cachedSummary)
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("trace header: %w", err)
	}
	// Reopen the header object to append the events array to it.
	b = append(b[:len(b)-1], `,"events":[`...)
	if _, err := jw.w.Write(b); err != nil {
		return nil, fmt.Errorf("write trace header: %w", err)
	}
	if err := jw.w.Flush(); err != nil {
		return nil, fmt.Errorf("write trace header: %w", err)
	}
	return jw, nil
}

// CreateJSONFile creates (truncating) the file path and writes the header;
// Close syncs and closes the file.
func CreateJSONFile(path string, h Header) (*JSONWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create trace: %w", err)
	}
	jw, err := NewJSONWriter(f, h)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	jw.file = f
	return jw, nil
}

// headerJSON is the wire form of a Header: created is written like the
// event timestamps (RFC 3339, UTC, milliseconds).
type headerJSON struct {
	Format  string    `json:"format"`
	Version string    `json:"infertrace_version"`
	Created string    `json:"created"`
	Model   ModelInfo `json:"model"`
	Run     RunInfo   `json:"run"`
}

// MarshalJSON writes the header with created in the timestamp layout.
func (h Header) MarshalJSON() ([]byte, error) {
	return json.Marshal(headerJSON{h.Format, h.Version, h.Created.UTC().Format(timeLayout), h.Model, h.Run})
}

// Header returns the header as written.
func (jw *JSONWriter) Header() Header { return jw.header }

// LastID returns the id of the last event written (0 before the first).
func (jw *JSONWriter) LastID() int64 {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	return jw.lastID
}

// Write appends ev and flushes. An event with ID 0 gets the next id (and
// the previous one as PreviousID); a zero Time becomes now; an
// ExecutionStarted without Run gets the header's run info.
func (jw *JSONWriter) Write(ev Event) error {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	return jw.write(ev)
}

func (jw *JSONWriter) write(ev Event) error {
	if jw.closed {
		return errors.New("trace: write after close")
	}
	if jw.err != nil {
		return jw.err
	}
	if ev.ID == 0 {
		ev.ID, ev.PreviousID = jw.lastID+1, jw.lastID
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Type == ExecutionStarted && ev.Run == nil {
		run := jw.header.Run
		ev.Run = &run
	}
	b, err := jw.enc.appendEvent(jw.enc.buf[:0], ev)
	if err != nil {
		return fmt.Errorf("trace event %d: %w", ev.ID, err)
	}
	jw.enc.buf = b
	if jw.n > 0 {
		jw.w.WriteByte(',')
	}
	jw.w.WriteByte('\n')
	jw.w.Write(b)
	if err := jw.w.Flush(); err != nil {
		jw.err = fmt.Errorf("write trace event %d: %w", ev.ID, err)
		return jw.err
	}
	jw.n++
	jw.lastID = ev.ID
	jw.tally.Add(ev)
	switch ev.Type {
	case TaskStateEntered:
		o := openEntered{state: ev.State, layer: NoLayer, at: ev.Time}
		if p := ev.Payload; p != nil {
			o.iteration, o.layer, o.parent = p.Iteration, p.Layer, p.Parent
		}
		jw.open = append(jw.open, o)
	case TaskStateExited:
		for i := len(jw.open) - 1; i >= 0; i-- {
			if jw.open[i].state == ev.State {
				jw.open = jw.open[:i]
				break
			}
		}
	}
	return nil
}

// Tally returns the counts of the events written so far.
func (jw *JSONWriter) Tally() Tally {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	return jw.tally
}

// Close writes the summary and ends the document; a summary with an empty
// Status is filled from the events written. Closing twice is a no-op.
func (jw *JSONWriter) Close(s Summary) error {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	return jw.close(s)
}

func (jw *JSONWriter) close(s Summary) error {
	if jw.closed {
		return nil
	}
	jw.closed = true
	if s.Status == "" {
		s = jw.tally.Summary(time.Since(jw.start))
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("trace summary: %w", err)
	}
	var errs []error
	if jw.err == nil {
		jw.w.WriteString("\n],\"summary\":")
		jw.w.Write(b)
		jw.w.WriteString("}\n")
		if err := jw.w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("write trace summary: %w", err))
		}
	} else {
		errs = append(errs, jw.err)
	}
	if jw.file != nil {
		if err := jw.file.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", jw.file.Name(), err))
		}
		if err := jw.file.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", jw.file.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Abort appends an ExecutionAborted event (error "Interrupted", cause
// reason), after an Exited for every state still open, and closes the
// document with status ABORTED. It is a no-op on a closed writer, so a
// signal handler and the normal exit path may race.
func (jw *JSONWriter) Abort(reason string) error {
	return jw.terminate(Event{Type: ExecutionAborted, Error: "Interrupted", Cause: reason})
}

// Fail appends an ExecutionFailed event, after an Exited for every state
// still open, and closes the document with status FAILED; a no-op on a
// closed writer.
func (jw *JSONWriter) Fail(code, cause, hint string) error {
	return jw.terminate(Event{Type: ExecutionFailed, Error: code, Cause: cause, Hint: hint})
}

func (jw *JSONWriter) terminate(ev Event) error {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	if jw.closed {
		return nil
	}
	// Exit the states the run was in, innermost first, so that the
	// document stays a well-formed history.
	var werr error
	for i := len(jw.open) - 1; i >= 0 && werr == nil; i-- {
		o := jw.open[i]
		now := time.Now()
		werr = jw.write(Event{Type: TaskStateExited, State: o.state, Time: now, Payload: &Payload{Iteration: o.iteration,
			Layer: o.layer, Parent: o.parent, DurationUS: float64(now.Sub(o.at).Nanoseconds()) / 1e3}})
	}
	if werr != nil {
		return errors.Join(werr, jw.close(Summary{}))
	}
	werr = jw.write(ev)
	return errors.Join(werr, jw.close(Summary{}))
}

// eventJSON is the wire form of an Event.
type eventJSON struct {
	ID         int64        `json:"id"`
	PreviousID int64        `json:"previousEventId"`
	Timestamp  string       `json:"timestamp"`
	Type       EventType    `json:"type"`
	Started    *detailsJSON `json:"executionStartedEventDetails,omitempty"`
	Entered    *detailsJSON `json:"stateEnteredEventDetails,omitempty"`
	Exited     *detailsJSON `json:"stateExitedEventDetails,omitempty"`
	Succeeded  *detailsJSON `json:"executionSucceededEventDetails,omitempty"`
	Failed     *failureJSON `json:"executionFailedEventDetails,omitempty"`
	Aborted    *failureJSON `json:"executionAbortedEventDetails,omitempty"`
}

type detailsJSON struct {
	Name   string  `json:"name,omitempty"`
	Input  *string `json:"input,omitempty"`
	Output *string `json:"output,omitempty"`
}

type failureJSON struct {
	Error string `json:"error"`
	Cause string `json:"cause"`
	Hint  string `json:"hint,omitempty"`
}

// timeLayout is RFC 3339 in UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the AWS Step Functions history-event shape; payloads
// become JSON strings. It is written by hand (encoder): a traced run
// writes one event per state transition.
func (ev Event) MarshalJSON() ([]byte, error) {
	var e encoder
	return e.appendEvent(make([]byte, 0, 512), ev)
}

// UnmarshalJSON reads the form written by MarshalJSON.
func (ev *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	e, err := j.event()
	*ev = e
	return err
}

// event converts the wire form into an Event, decoding the payload string.
func (j *eventJSON) event() (Event, error) {
	ev := &Event{ID: j.ID, PreviousID: j.PreviousID, Type: j.Type}
	if j.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, j.Timestamp)
		if err != nil {
			return *ev, fmt.Errorf("event %d: bad timestamp %q", j.ID, j.Timestamp)
		}
		ev.Time = t.UTC()
	}
	payload := func(s *string) (*Payload, error) {
		if s == nil {
			return nil, nil
		}
		p := new(Payload)
		if err := json.Unmarshal([]byte(*s), p); err != nil {
			return nil, fmt.Errorf("event %d payload: %w", j.ID, err)
		}
		return p, nil
	}
	var err error
	switch {
	case j.Started != nil:
		if j.Started.Input != nil {
			ev.Run = new(RunInfo)
			if err := json.Unmarshal([]byte(*j.Started.Input), ev.Run); err != nil {
				return *ev, fmt.Errorf("event %d run info: %w", j.ID, err)
			}
		}
	case j.Entered != nil:
		ev.State = State(j.Entered.Name)
		ev.Payload, err = payload(j.Entered.Input)
	case j.Exited != nil:
		ev.State = State(j.Exited.Name)
		ev.Payload, err = payload(j.Exited.Output)
	case j.Succeeded != nil:
		ev.Payload, err = payload(j.Succeeded.Output)
	case j.Failed != nil:
		ev.Error, ev.Cause, ev.Hint = j.Failed.Error, j.Failed.Cause, j.Failed.Hint
	case j.Aborted != nil:
		ev.Error, ev.Cause, ev.Hint = j.Aborted.Error, j.Aborted.Cause, j.Aborted.Hint
	}
	return *ev, err
}

// MarshalJSON writes the entry as [id, score, piece]; a non-finite score is
// written as null.
func (ts TokenScore) MarshalJSON() ([]byte, error) { return ts.appendJSON(make([]byte, 0, 32)), nil }

// appendJSON appends what MarshalJSON writes.
func (ts TokenScore) appendJSON(b []byte) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(ts.ID), 10)
	b = append(b, ',')
	b = appendFloat(b, ts.Score)
	b = append(b, ',')
	b = appendJSONString(b, ts.Piece)
	return append(b, ']')
}

// UnmarshalJSON reads [id, score, piece]; a null score becomes NaN.
func (ts *TokenScore) UnmarshalJSON(b []byte) error {
	var arr []json.RawMessage
	if err := json.Unmarshal(b, &arr); err != nil {
		return fmt.Errorf("token score: %w", err)
	}
	if len(arr) != 3 {
		return fmt.Errorf("token score: want [id, score, piece], got %d elements", len(arr))
	}
	var score *float64
	if err := json.Unmarshal(arr[0], &ts.ID); err != nil {
		return fmt.Errorf("token score id: %w", err)
	}
	if err := json.Unmarshal(arr[1], &score); err != nil {
		return fmt.Errorf("token score: %w", err)
	}
	ts.Score = nanIfNil(score)
	if err := json.Unmarshal(arr[2], &ts.Piece); err != nil {
		return fmt.Errorf("token score piece: %w", err)
	}
	return nil
}
