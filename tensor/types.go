// Package tensor holds the tensor element types (every GGML block-quant
// format), dequantization, the dot/matmul kernels (SIMD with pure-Go
// fallbacks) and the persistent worker pool. It knows nothing about models,
// files or events: kernels take byte slices, shapes and float32 slices.
package tensor

import (
	"fmt"
	"math/bits"
	"strings"
)

// Type is a GGML tensor element type id, as stored in GGUF tensor infos.
type Type uint32

// GGML type ids (ggml.h). Ids 4 and 5 (Q4_2, Q4_3) were removed upstream.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	BF16 Type = 30
)

// QK_K is the super-block size of the K-quant formats.
const QK_K = 256

// TypeInfo describes the storage layout of a type: values per block and
// bytes per block.
type TypeInfo struct {
	Name       string
	BlockSize  int
	BlockBytes int
}

var typeInfos = map[Type]TypeInfo{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	BF16: {"BF16", 1, 2},
	Q4_0: {"Q4_0", 32, 2 + 16},
	Q4_1: {"Q4_1", 32, 2 + 2 + 16},
	Q5_0: {"Q5_0", 32, 2 + 4 + 16},
	Q5_1: {"Q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"Q8_0", 32, 2 + 32},
	Q8_1: {"Q8_1", 32, 2 + 2 + 32},
	Q2_K: {"Q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2},
	Q3_K: {"Q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2},
	Q4_K: {"Q4_K", QK_K, 2 + 2 + 12 + QK_K/2},
	Q5_K: {"Q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2},
	Q6_K: {"Q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2},
	Q8_K: {"Q8_K", QK_K, 4 + QK_K + QK_K/16*2},
}

// Info returns the layout of t and whether t is a known type.
func (t Type) Info() (TypeInfo, bool) {
	ti, ok := typeInfos[t]
	return ti, ok
}

// Known reports whether t is a type this package can store.
func (t Type) Known() bool { _, ok := typeInfos[t]; return ok }

// String returns the GGML name of the type ("Q4_K"), or "type(N)".
func (t Type) String() string {
	if ti, ok := typeInfos[t]; ok {
		return ti.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// ParseType parses a type name, case-insensitively ("q8_0", "F16").
func ParseType(s string) (Type, error) {
	for t, ti := range typeInfos {
		if strings.EqualFold(ti.Name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", s)
}

// Types lists every known type in id order.
func Types() []Type {
	out := make([]Type, 0, len(typeInfos))
	for t := Type(0); t <= BF16; t++ {
		if t.Known() {
			out = append(out, t)
		}
	}
	return out
}

// RowBytes returns the number of bytes that n values of type t occupy. It
// fails for an unknown type, a negative n, or an n that is not a whole
// number of blocks.
func RowBytes(t Type, n int) (int, error) {
	ti, ok := typeInfos[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type id %d", uint32(t))
	}
	if n < 0 || n%ti.BlockSize != 0 {
		return 0, fmt.Errorf("%d values of %s are not a whole number of %d-value blocks", n, ti.Name, ti.BlockSize)
	}
	hi, lo := bits.Mul64(uint64(n/ti.BlockSize), uint64(ti.BlockBytes))
	if hi != 0 || lo > uint64(maxInt) {
		return 0, fmt.Errorf("%d values of %s overflow the address space", n, ti.Name)
	}
	return int(lo), nil
}

const maxInt = int(^uint(0) >> 1)

// Tensor is a named tensor whose Data is a view of the model file's mapping
// (never a copy). Dims are in GGML order: Dims[0] is the length of one row
// (ne[0]); a 2-D weight of Dims [cols, rows] has rows rows of cols values.
type Tensor struct {
	Name string
	Type Type
	Dims []int
	Data []byte
}

// Elements returns the number of values in the tensor.
func (t *Tensor) Elements() int {
	n := 1
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Cols returns the row length, Dims[0].
func (t *Tensor) Cols() int {
	if len(t.Dims) == 0 {
		return 1
	}
	return t.Dims[0]
}

// Rows returns the number of rows: the product of Dims[1:].
func (t *Tensor) Rows() int {
	n := 1
	for _, d := range t.Dims[1:] {
		n *= d
	}
	return n
}

// Matrix returns the tensor as a weight matrix of Rows() rows.
func (t *Tensor) Matrix() Matrix {
	rb, _ := RowBytes(t.Type, t.Cols())
	return Matrix{Type: t.Type, Rows: t.Rows(), Cols: t.Cols(), RowBytes: rb, Data: t.Data}
}

// Matrix is a row-major weight matrix: Rows rows of Cols values each,
// encoded in Type, RowBytes bytes per row, Data of Rows*RowBytes bytes.
type Matrix struct {
	Type     Type
	Rows     int
	Cols     int
	RowBytes int
	Data     []byte
}

// Row returns the encoded bytes of row r.
func (m Matrix) Row(r int) []byte { return m.Data[r*m.RowBytes : (r+1)*m.RowBytes] }
