package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// eventScanner finds the byte ranges of the objects of a JSON array
// without decoding them: it tracks only strings, escapes and bracket
// depth, which is many times faster than encoding/json and is all an index
// needs (ReadEventAt decodes, and so validates, each event it reads).
type eventScanner struct {
	r        io.Reader
	name     string
	buf      []byte
	pos      int64 // file offset of buf[0]
	limit    int64
	progress func(done int64)
}

// scanEvents scans from offset base (just after the events array's '[')
// and calls add for every event. It returns the bytes after the closing
// ']' (at most limit of them), or an error wrapping ErrTruncated when the
// input ends inside the array.
func (s *eventScanner) scanEvents(base int64, count int, add func(off int64, n int)) ([]byte, int, error) {
	const chunk = 1 << 20
	s.pos = base
	s.buf = make([]byte, 0, chunk)
	var (
		inEvent, inString, escape bool
		needComma                 bool   // an event was seen; ',' or ']' comes next
		stack                     []byte // open brackets of the current event
		start                     int64  // file offset of the current event's '{'
		i                         int    // index into buf
		lastProgress              int64
	)
	for {
		if i == len(s.buf) {
			// Keep the current event's bytes only while it is open; an
			// index needs offsets, not bytes, so drop everything read.
			s.pos += int64(len(s.buf))
			s.buf = s.buf[:cap(s.buf)]
			n, err := io.ReadFull(s.r, s.buf)
			s.buf = s.buf[:n]
			i = 0
			if s.progress != nil && s.pos-lastProgress >= 4<<20 {
				s.progress(s.pos)
				lastProgress = s.pos
			}
			if n == 0 {
				if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, count, s.errorf(count, "%w at byte %d after %d events (reading the events)", ErrTruncated, s.pos, count)
				}
				return nil, count, s.errorf(count, "read trace: %w", err)
			}
		}
		b := s.buf[i:]
		if inEvent {
			if inString {
				if escape {
					escape = false
					i++
					continue
				}
				j := indexSpecial(b, &stringSpecial)
				if j < 0 {
					i = len(s.buf)
					if s.pos+int64(i)-start > s.limit {
						return nil, count, s.tooLarge(start)
					}
					continue
				}
				if b[j] == '\\' {
					escape = true
				} else {
					inString = false
				}
				i += j + 1
				continue
			}
			j := indexSpecial(b, &structSpecial)
			if j < 0 {
				i = len(s.buf)
				if s.pos+int64(i)-start > s.limit {
					return nil, count, s.tooLarge(start)
				}
				continue
			}
			switch c := b[j]; c {
			case '"':
				inString = true
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				if open := stack[len(stack)-1]; open+2 != c { // '{'+2 = '}', '['+2 = ']'
					return nil, count, s.errorf(count, "invalid trace at byte %d after %d events: %q closes %q", s.pos+int64(i+j), count, c, open)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					end := s.pos + int64(i+j) + 1
					if end-start > s.limit {
						return nil, count, s.tooLarge(start)
					}
					count++
					add(start, int(end-start))
					inEvent, needComma = false, true
				}
			}
			i += j + 1
			continue
		}
		// Between events: whitespace, ',', '{' or ']'.
		c := b[0]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c == '{' && !needComma:
			inEvent, start = true, s.pos+int64(i)
			stack = append(stack[:0], '{')
		case c == ',' && needComma:
			needComma = false
		case c == ']' && (needComma || count == 0):
			rest := append([]byte(nil), b[1:]...)
			lr := &io.LimitedReader{R: s.r, N: s.limit}
			more, err := io.ReadAll(lr)
			if err != nil {
				return nil, count, s.errorf(count, "read trace: %w", err)
			}
			if lr.N <= 0 {
				return nil, count, s.errorf(count, "reading the summary: the members after the events are larger than %d MB", s.limit>>20)
			}
			return append(rest, more...), count, nil
		default:
			what := fmt.Sprintf("unexpected %q in the events array", c)
			switch c {
			case '{':
				what = "missing ',' between events"
			case ']', ',':
				what = fmt.Sprintf("unexpected %q after ','", c)
			}
			return nil, count, s.errorf(count, "invalid trace at byte %d after %d events: %s", s.pos+int64(i), count, what)
		}
		i++
	}
}

func (s *eventScanner) errorf(count int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if s.name != "" {
		err = fmt.Errorf("%s: %w", s.name, err)
	}
	return err
}

func (s *eventScanner) tooLarge(start int64) error {
	return s.errorf(0, "reading an event: a value at byte %d is larger than %d MB", start, s.limit>>20)
}

// parseTrailer reads what follows the events array: optional members (the
// summary) and the closing '}'. tail begins right after the ']' at file
// offset off.
func parseTrailer(tail []byte, off int64, name string, count int) (*Summary, error) {
	wrap := func(err error) error {
		if name != "" {
			return fmt.Errorf("%s: %w", name, err)
		}
		return err
	}
	t := bytes.TrimLeft(tail, " \t\r\n")
	switch {
	case len(t) == 0:
		return nil, wrap(fmt.Errorf("%w at byte %d after %d events (reading the summary)", ErrTruncated, off+int64(len(tail)), count))
	case t[0] == '}':
		if rest := bytes.TrimLeft(t[1:], " \t\r\n"); len(rest) > 0 {
			return nil, wrap(fmt.Errorf("invalid trace at byte %d: data after the end of the document", off+int64(len(tail)-len(rest))))
		}
		return nil, nil
	case t[0] != ',':
		return nil, wrap(fmt.Errorf("invalid trace at byte %d: unexpected %q after the events", off+int64(len(tail)-len(t)), t[0]))
	}
	// `,"summary":{...}}` with its comma replaced by '{' is an object.
	obj := append([]byte{'{'}, t[1:]...)
	var trailer struct {
		Summary *Summary `json:"summary"`
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	if err := dec.Decode(&trailer); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, wrap(fmt.Errorf("%w at byte %d after %d events (reading the summary)", ErrTruncated, off+int64(len(tail)), count))
		}
		return nil, wrap(fmt.Errorf("invalid trace after the events (reading the summary): %w", err))
	}
	// As Reader.atEnd: only white space may follow the document.
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		at := off + int64(len(tail)-len(t)) - 1 + dec.InputOffset()
		if err != nil {
			return nil, wrap(fmt.Errorf("invalid trace at byte %d: data after the end of the document: %w", at, err))
		}
		return nil, wrap(fmt.Errorf("invalid trace at byte %d: %s after the end of the document", at, tokenDesc(tok)))
	}
	return trailer.Summary, nil
}

// Byte classes of the scanner: the bytes that end a run of string content,
// and the bytes that matter outside strings.
var stringSpecial, structSpecial = byteSet(`"\`), byteSet(`"{}[]`)

func byteSet(chars string) (set [256]bool) {
	for i := range len(chars) {
		set[chars[i]] = true
	}
	return set
}

// indexSpecial returns the index of the first byte of b in set, or -1.
func indexSpecial(b []byte, set *[256]bool) int {
	for i, c := range b {
		if set[c] {
			return i
		}
	}
	return -1
}
