// Package loader opens model files — GGUF v2/v3 and safetensors (single
// file or sharded directory with config.json) — by memory-mapping them
// read-only. Only the header is parsed; tensor data are views of the
// mapping, never copies. Every count, length, offset and shape in a header
// is checked before it is used, so a hostile or truncated file yields a
// one-line *FormatError naming the file, never a panic or a huge
// allocation. Config derives the model hyperparameters (llama, qwen2).
package loader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/edsrzf/mmap-go"

	"github.com/infertrace/infertrace/tensor"
)

// File is an opened model: its metadata and tensor table. Tensor data are
// views of the file mapping and become invalid after Close.
type File struct {
	Path       string
	Format     string // "gguf" | "safetensors"
	Version    uint32 // GGUF version (0 for safetensors)
	Meta       *Metadata
	Tensors    []*tensor.Tensor // file order; Data are views of the mapping, never copies
	Alignment  int              // GGUF general.alignment (default 32); 1 for safetensors
	DataOffset int64            // start of the tensor data section (first shard's for sharded safetensors)
	Size       int64            // file size in bytes (sum of shards for sharded safetensors)
	Dir        string           // safetensors: the model directory (tokenizer.json lives there)

	index    map[string]int
	offsets  []int64 // per tensor: byte offset of its data in its file
	mappings []mmap.MMap
}

// Offset returns the byte offset of the data of tensor name in its file
// (in its shard for sharded safetensors).
func (f *File) Offset(name string) (int64, bool) {
	i, ok := f.index[name]
	if !ok || i >= len(f.offsets) {
		return 0, false
	}
	return f.offsets[i], true
}

var errOverflow = errors.New("size overflows 64 bits")

// Tensor returns the tensor called name (GGUF naming, also for safetensors).
func (f *File) Tensor(name string) (*tensor.Tensor, bool) {
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return f.Tensors[i], true
}

// Close unmaps the file. Tensor data must not be used afterwards. Closing
// twice is harmless.
func (f *File) Close() error {
	var errs []error
	for _, m := range f.mappings {
		if err := m.Unmap(); err != nil {
			errs = append(errs, fmt.Errorf("%s: unmap: %w", f.Path, err))
		}
	}
	f.mappings = nil
	return errors.Join(errs...)
}

// FromBytes parses a GGUF file held in memory (such as a go:embed demo
// model). Tensor data are views of data, which must not be modified while
// the File is in use. name is used in error messages and as Path.
func FromBytes(name string, data []byte) (*File, error) {
	f := &File{Path: name, Format: "gguf", Size: int64(len(data))}
	if err := parseGGUF(f, data); err != nil {
		return nil, err
	}
	return f, nil
}

// Open opens a model: a GGUF file, a single .safetensors file, or a
// directory holding model.safetensors or model.safetensors.index.json
// (plus config.json). The format is recognised by its magic bytes (or the
// directory layout), not by the file extension.
func Open(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &FormatError{File: path, Problem: "cannot open: " + errText(err), Kind: ErrNotModel, Cause: err}
	}
	if st.IsDir() {
		return openSafetensorsDir(path)
	}
	data, closeMap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := openMapped(path, data)
	if err != nil {
		closeMap()
		return nil, err
	}
	return f, nil
}

// openMapped sniffs a mapped file and parses it.
func openMapped(path string, m mmap.MMap) (*File, error) {
	data := []byte(m)
	switch {
	case len(data) >= 4 && string(data[:4]) == ggufMagic:
		f := &File{Path: path, Format: "gguf", Size: int64(len(data)), mappings: []mmap.MMap{m}}
		if err := parseGGUF(f, data); err != nil {
			return nil, err
		}
		return f, nil
	case len(data) >= 4 && string(data[:4]) == "FUGG":
		return nil, formatErr(path, ErrBigEndian, "big-endian GGUF (magic %q); only little-endian files are supported", data[:4])
	case looksLikeSafetensors(data) || strings.HasSuffix(path, ".safetensors"):
		return openSafetensorsFile(path, m)
	}
	n := min(len(data), 8)
	return nil, formatErr(path, ErrNotModel, "not a GGUF or safetensors file (starts with %q, %d bytes)", data[:n], len(data))
}

// mapFile maps path read-only. The returned closer unmaps it.
func mapFile(path string) (mmap.MMap, func(), error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, &FormatError{File: path, Problem: "cannot open: " + errText(err), Kind: ErrNotModel, Cause: err}
	}
	defer fd.Close() // the mapping outlives the descriptor
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, &FormatError{File: path, Problem: "cannot stat: " + errText(err), Kind: ErrNotModel, Cause: err}
	}
	if st.Size() == 0 {
		return nil, nil, formatErr(path, ErrTruncated, "empty file")
	}
	m, err := mmap.Map(fd, mmap.RDONLY, 0)
	if err != nil {
		return nil, nil, &FormatError{File: path, Problem: "cannot mmap: " + errText(err), Kind: ErrNotModel, Cause: err}
	}
	return m, func() { _ = m.Unmap() }, nil
}

// errText strips the path that *os.PathError repeats.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	if errors.Is(err, io.EOF) {
		return "unexpected end of file"
	}
	return err.Error()
}

func quote(s string) string { return strconv.Quote(s) }
