package tensor_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

// readGGUFTensor is a minimal GGUF v2/v3 reader for tests: it skips the
// metadata (keeping general.alignment) and returns one tensor's bytes.
func readGGUFTensor(tb testing.TB, path, name string) *tensor.Tensor {
	tb.Helper()
	t, err := ggufTensor(path, name)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return t
}

type ggufReader struct {
	b   []byte
	off int
	err error
}

func (r *ggufReader) take(n int) []byte {
	if r.err != nil || n < 0 || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = io.ErrUnexpectedEOF
		}
		return make([]byte, max(n, 0))
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}
func (r *ggufReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *ggufReader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *ggufReader) str() string { return string(r.take(int(r.u64()))) }

// skipValue skips one metadata value of GGUF type vt and returns it as a
// uint64 when it is an integer (for general.alignment).
func (r *ggufReader) skipValue(vt uint32) uint64 {
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	switch vt {
	case 8:
		r.str()
		return 0
	case 9:
		et, n := r.u32(), r.u64()
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.skipValue(et)
		}
		return 0
	}
	n, ok := sizes[vt]
	if !ok {
		r.err = fmt.Errorf("bad metadata value type %d", vt)
		return 0
	}
	b := r.take(n)
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func ggufTensor(path, name string) (*tensor.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &ggufReader{b: b}
	if string(r.take(4)) != "GGUF" {
		return nil, fmt.Errorf("not a GGUF file")
	}
	r.u32()
	nt, nkv := r.u64(), r.u64()
	align := uint64(32)
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		k := r.str()
		v := r.skipValue(r.u32())
		if k == "general.alignment" {
			align = v
		}
	}
	type info struct {
		dims []int
		typ  tensor.Type
		off  uint64
	}
	infos := map[string]info{}
	for i := uint64(0); i < nt && r.err == nil; i++ {
		n := r.str()
		nd := r.u32()
		var in info
		for j := uint32(0); j < nd; j++ {
			in.dims = append(in.dims, int(r.u64()))
		}
		in.typ = tensor.Type(r.u32())
		in.off = r.u64()
		infos[n] = in
	}
	if r.err != nil {
		return nil, r.err
	}
	base := (uint64(r.off) + align - 1) / align * align
	in, ok := infos[name]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", name)
	}
	t := &tensor.Tensor{Name: name, Type: in.typ, Dims: in.dims}
	nb, err := tensor.RowBytes(in.typ, t.Elements())
	if err != nil {
		return nil, err
	}
	start := base + in.off
	if start+uint64(nb) > uint64(len(b)) {
		return nil, fmt.Errorf("tensor %q past end of file", name)
	}
	t.Data = b[start : start+uint64(nb)]
	return t, nil
}
