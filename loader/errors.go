package loader

import (
	"errors"
	"fmt"
)

// Problem kinds. Every error returned by Open, FromBytes and Config is a
// *FormatError whose Kind is one of these, so callers can test the kind
// with errors.Is while the message stays one line naming the file.
var (
	ErrNotModel      = errors.New("not a GGUF or safetensors model")
	ErrVersion       = errors.New("unsupported GGUF version")
	ErrBigEndian     = errors.New("big-endian GGUF")
	ErrTruncated     = errors.New("truncated file")
	ErrTooLarge      = errors.New("count or length larger than the file")
	ErrNesting       = errors.New("arrays nested too deeply")
	ErrBadValue      = errors.New("bad metadata value")
	ErrDuplicate     = errors.New("duplicate name")
	ErrAlignment     = errors.New("bad alignment")
	ErrUnknownType   = errors.New("unknown tensor type")
	ErrBadShape      = errors.New("bad tensor shape")
	ErrOutOfBounds   = errors.New("tensor data out of bounds")
	ErrMisaligned    = errors.New("tensor data misaligned")
	ErrOverlap       = errors.New("overlapping tensor data")
	ErrBadHeader     = errors.New("bad safetensors header")
	ErrUnknownDType  = errors.New("unsupported safetensors dtype")
	ErrMissingTensor = errors.New("missing tensor")
	ErrConfig        = errors.New("bad model config")
	ErrUnsupported   = errors.New("unsupported architecture")
)

// FormatError reports a problem with a model file. Error() is a single line
// "<file>: <problem>"; Unwrap returns Kind (one of the Err* sentinels) and,
// when present, the underlying cause.
type FormatError struct {
	File    string // path of the offending file
	Problem string // human description, without the file name
	Kind    error  // one of the Err* sentinels
	Cause   error  // optional underlying error (I/O, JSON)
}

func (e *FormatError) Error() string { return e.File + ": " + e.Problem }

// Unwrap exposes both the kind and the cause to errors.Is/As.
func (e *FormatError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

func formatErr(file string, kind error, format string, args ...any) *FormatError {
	return &FormatError{File: file, Kind: kind, Problem: fmt.Sprintf(format, args...)}
}
