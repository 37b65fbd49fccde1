package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTruncated marks a trace that ends before its document does (a crashed
// or still-running writer); everything before the cut was readable.
var ErrTruncated = errors.New("trace truncated")

// ErrNotTrace marks input that is not an infertrace JSON trace.
var ErrNotTrace = errors.New("not an infertrace trace")

// MaxEventBytes bounds the encoded size of one event (and of the header),
// so broken input cannot make the reader buffer without limit.
const MaxEventBytes = 64 << 20

// countingReader counts the bytes read and refuses to read further once
// more than limit bytes were read since mark (the start of the value being
// decoded).
type countingReader struct {
	r           io.Reader
	n           int64
	mark, limit int64
}

var errValueTooLarge = errors.New("value too large")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n-c.mark > c.limit {
		return 0, errValueTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// reader states
const (
	inHeader = iota
	inEvents
	done
)

// Reader streams a trace document: the header at open, then one event per
// Next, then the summary. Memory is bounded by the largest event.
type Reader struct {
	cr      *countingReader
	dec     *json.Decoder
	closer  io.Closer
	name    string // file name for errors, or ""
	header  Header
	summary *Summary
	n       int // events returned
	state   int
	err     error // sticky error
}

// OpenReader reads the header of the trace in r.
func OpenReader(r io.Reader) (*Reader, error) {
	return openReader(r, "", MaxEventBytes)
}

// OpenFile opens the trace file path; Close closes it.
func OpenFile(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	rd, err := openReader(f, path, MaxEventBytes)
	if err != nil {
		f.Close()
		return nil, err
	}
	rd.closer = f
	return rd, nil
}

func openReader(r io.Reader, name string, limit int64) (*Reader, error) {
	cr := &countingReader{r: r, limit: limit}
	rd := &Reader{cr: cr, dec: json.NewDecoder(cr), name: name}
	tok, err := rd.dec.Token()
	if err != nil {
		return nil, rd.wrap(err, "reading the header")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, rd.prefix(fmt.Errorf("%w: the document is not a JSON object", ErrNotTrace))
	}
	sawFormat := false
	for rd.state == inHeader {
		key, err := rd.key()
		if err != nil {
			return nil, rd.wrap(err, "reading the header")
		}
		if key == "" { // end of the document without events
			if err := rd.atEnd(); err != nil {
				return nil, err
			}
			rd.state = done
			break
		}
		rd.cr.mark = rd.dec.InputOffset()
		var dst any
		switch key {
		case "format":
			dst = &rd.header.Format
			sawFormat = true
		case "infertrace_version":
			dst = &rd.header.Version
		case "created":
			dst = &rd.header.Created
		case "model":
			dst = &rd.header.Model
		case "run":
			dst = &rd.header.Run
		case "summary":
			dst = &rd.summary // null leaves it nil
		case "events":
			if !sawFormat {
				break
			}
			tok, err := rd.dec.Token()
			if err != nil {
				return nil, rd.wrap(err, "reading the header")
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return nil, rd.prefix(fmt.Errorf("%w: \"events\" is not an array", ErrNotTrace))
			}
			rd.state = inEvents
			continue
		default:
			dst = new(json.RawMessage)
		}
		if !sawFormat {
			return nil, rd.prefix(fmt.Errorf("%w: no \"format\" member before %q", ErrNotTrace, key))
		}
		if err := rd.dec.Decode(dst); err != nil {
			return nil, rd.wrap(err, fmt.Sprintf("reading header member %q", key))
		}
		if key == "format" && rd.header.Format != Format {
			return nil, rd.prefix(fmt.Errorf("%w: format is %q, want %q", ErrNotTrace, rd.header.Format, Format))
		}
	}
	if !sawFormat {
		return nil, rd.prefix(fmt.Errorf("%w: no \"format\" member", ErrNotTrace))
	}
	return rd, nil
}

// key reads the next object key, or returns "" at the object's end.
func (rd *Reader) key() (string, error) {
	tok, err := rd.dec.Token()
	if err != nil {
		return "", err
	}
	switch t := tok.(type) {
	case string:
		return t, nil
	case json.Delim:
		if t == '}' {
			return "", nil
		}
	}
	return "", fmt.Errorf("unexpected %v where a member name belongs", tok)
}

func (rd *Reader) prefix(err error) error {
	if rd.name != "" {
		return fmt.Errorf("%s: %w", rd.name, err)
	}
	return err
}

// wrap turns a decoding error into a one-line error naming the position.
func (rd *Reader) wrap(err error, what string) error {
	off := rd.dec.InputOffset()
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return rd.prefix(fmt.Errorf("%w at byte %d after %d events (%s)", ErrTruncated, rd.cr.n, rd.n, what))
	case errors.Is(err, errValueTooLarge):
		return rd.prefix(fmt.Errorf("%s: a value at byte %d is larger than %d MB", what, rd.cr.mark, MaxEventBytes>>20))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	return rd.prefix(fmt.Errorf("invalid trace at byte %d after %d events (%s): %w", off, rd.n, what, err))
}

// Header returns the document's header.
func (rd *Reader) Header() Header { return rd.header }

// Summary returns the document's summary once Next has returned io.EOF;
// ok is false when the document has none (or was not read to the end).
func (rd *Reader) Summary() (s Summary, ok bool) {
	if rd.summary == nil {
		return Summary{}, false
	}
	return *rd.summary, true
}

// Count returns the number of events returned so far.
func (rd *Reader) Count() int { return rd.n }

// Next returns the next event, io.EOF after the last one, or an error
// (wrapping ErrTruncated when the document is cut short). Errors are
// sticky.
func (rd *Reader) Next() (Event, error) {
	if rd.err != nil {
		return Event{}, rd.err
	}
	if rd.state != inEvents {
		return Event{}, io.EOF
	}
	if !rd.dec.More() {
		if err := rd.finish(); err != nil {
			rd.err = err
			return Event{}, err
		}
		rd.state = done
		return Event{}, io.EOF
	}
	// Decode straight into the wire form: no intermediate copy and one
	// scan of the event's bytes fewer than RawMessage + Unmarshal.
	rd.cr.mark = rd.dec.InputOffset()
	var j eventJSON
	if err := rd.dec.Decode(&j); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			rd.err = rd.prefix(fmt.Errorf("invalid trace at byte %d: event %d is not an object", te.Offset, rd.n+1))
		} else if errors.As(err, &te) {
			rd.err = rd.prefix(fmt.Errorf("event %d: %w", rd.n+1, err))
		} else {
			rd.err = rd.wrap(err, "reading an event")
		}
		return Event{}, rd.err
	}
	rd.n++
	ev, err := j.event()
	if err != nil {
		rd.err = rd.prefix(err) // event() names the event
		return Event{}, rd.err
	}
	return ev, nil
}

// nextRaw returns the encoded next event and its byte offset.
func (rd *Reader) nextRaw() (json.RawMessage, int64, error) {
	if rd.err != nil {
		return nil, 0, rd.err
	}
	if rd.state != inEvents {
		return nil, 0, io.EOF
	}
	if rd.dec.More() {
		rd.cr.mark = rd.dec.InputOffset()
		var raw json.RawMessage
		if err := rd.dec.Decode(&raw); err != nil {
			rd.err = rd.wrap(err, "reading an event")
			return nil, 0, rd.err
		}
		if len(raw) == 0 || raw[0] != '{' {
			rd.err = rd.prefix(fmt.Errorf("invalid trace at byte %d: event %d is not an object", rd.dec.InputOffset()-int64(len(raw)), rd.n+1))
			return nil, 0, rd.err
		}
		rd.n++
		return raw, rd.dec.InputOffset() - int64(len(raw)), nil
	}
	if err := rd.finish(); err != nil {
		rd.err = err
		return nil, 0, err
	}
	rd.state = done
	return nil, 0, io.EOF
}

// finish reads the end of the events array and the members after it.
func (rd *Reader) finish() error {
	tok, err := rd.dec.Token()
	if err != nil {
		return rd.wrap(err, "reading the events")
	}
	if d, ok := tok.(json.Delim); !ok || d != ']' {
		return rd.prefix(fmt.Errorf("invalid trace at byte %d: unexpected %v in the events array", rd.dec.InputOffset(), tok))
	}
	for {
		key, err := rd.key()
		if err != nil {
			return rd.wrap(err, "reading the summary")
		}
		if key == "" {
			return rd.atEnd()
		}
		rd.cr.mark = rd.dec.InputOffset()
		var dst any = new(json.RawMessage)
		if key == "summary" {
			dst = &rd.summary // null leaves it nil
		}
		if err := rd.dec.Decode(dst); err != nil {
			return rd.wrap(err, fmt.Sprintf("reading member %q", key))
		}
	}
}

// atEnd checks that only white space follows the document's closing
// brace (a trace with data appended is not one document).
func (rd *Reader) atEnd() error {
	tok, err := rd.dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return rd.prefix(fmt.Errorf("invalid trace at byte %d: data after the end of the document: %w", rd.dec.InputOffset(), err))
	}
	return rd.prefix(fmt.Errorf("invalid trace at byte %d: %s after the end of the document", rd.dec.InputOffset(), tokenDesc(tok)))
}

// tokenDesc names a JSON token for a one-line error without quoting the
// file's content (a string may hold newlines or be megabytes long).
func tokenDesc(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// Close closes the file opened by OpenFile.
func (rd *Reader) Close() error {
	if rd.closer == nil {
		return nil
	}
	err := rd.closer.Close()
	rd.closer = nil
	return err
}

// ReadAll reads every event of the trace in r (for tests and small traces;
// use Reader or Index for large ones). On a truncated trace it returns the
// valid prefix and the error.
func ReadAll(r io.Reader) (Header, []Event, *Summary, error) {
	rd, err := OpenReader(r)
	if err != nil {
		return Header{}, nil, nil, err
	}
	var evs []Event
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return rd.header, evs, rd.summary, nil
		}
		if err != nil {
			return rd.header, evs, rd.summary, err
		}
		evs = append(evs, ev)
	}
}

// Index locates every event of a trace file, so that a viewer can read any
// event on demand without holding the trace in memory.
type Index struct {
	f       *os.File
	header  Header
	summary *Summary
	offsets []int64
	lengths []uint32
}

// BuildIndex reads the trace file path in one streaming pass, recording
// the offset of every event; progress (may be nil) is called now and then
// with the bytes read and the file size. The pass checks the document's
// structure only (ReadEventAt decodes each event it reads). On a truncated
// or broken file it returns the index of the valid prefix together with
// the error.
func BuildIndex(path string, progress func(done, total int64)) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	rd, err := openReader(f, path, MaxEventBytes)
	if err != nil {
		f.Close()
		return nil, err
	}
	ix := &Index{f: f, header: rd.header, summary: rd.summary}
	if rd.state != inEvents {
		return ix, nil
	}
	base := rd.dec.InputOffset()
	if _, err := f.Seek(base, io.SeekStart); err != nil {
		return ix, fmt.Errorf("%s: seek: %w", path, err)
	}
	sc := &eventScanner{r: f, name: path, limit: MaxEventBytes}
	if progress != nil {
		sc.progress = func(done int64) { progress(done, size) }
	}
	tail, n, err := sc.scanEvents(base, 0, func(off int64, n int) {
		ix.offsets = append(ix.offsets, off)
		ix.lengths = append(ix.lengths, uint32(n))
	})
	if err != nil {
		return ix, err
	}
	s, err := parseTrailer(tail, size-int64(len(tail)), path, n)
	if s != nil {
		ix.summary = s
	}
	if progress != nil {
		progress(size, size)
	}
	return ix, err
}

// Header returns the trace's header.
func (ix *Index) Header() Header { return ix.header }

// Summary returns the trace's summary, if it has one.
func (ix *Index) Summary() (Summary, bool) {
	if ix.summary == nil {
		return Summary{}, false
	}
	return *ix.summary, true
}

// Len returns the number of indexed events.
func (ix *Index) Len() int { return len(ix.offsets) }

// ReadEventAt reads event i (0-based; its ID is normally i+1). It is safe
// for concurrent use.
func (ix *Index) ReadEventAt(i int) (Event, error) {
	if i < 0 || i >= len(ix.offsets) {
		return Event{}, fmt.Errorf("%s: event index %d out of range [0, %d)", ix.f.Name(), i, len(ix.offsets))
	}
	buf := make([]byte, ix.lengths[i])
	if _, err := ix.f.ReadAt(buf, ix.offsets[i]); err != nil {
		return Event{}, fmt.Errorf("%s: read event %d: %w", ix.f.Name(), i, err)
	}
	var ev Event
	if err := json.Unmarshal(buf, &ev); err != nil {
		return Event{}, fmt.Errorf("%s: event %d at byte %d: %w", ix.f.Name(), i, ix.offsets[i], err)
	}
	return ev, nil
}

// Close closes the trace file.
func (ix *Index) Close() error { return ix.f.Close() }
