package loader

import (
	"errors"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

// TestOverlapBehindEmptyTensor: an empty tensor placed between two
// overlapping ones must not hide the overlap (neighbours in offset order
// are not enough: the overlap is between non-adjacent tensors).
func TestOverlapBehindEmptyTensor(t *testing.T) {
	g := &gguf{}
	g.tensor("a", tensor.F32, 32) // [0, 128)
	g.tensors = append(g.tensors,
		gtensor{name: "z", dims: []uint64{0}, typ: uint32(tensor.F32), offset: 32},
		gtensor{name: "b", dims: []uint64{16}, typ: uint32(tensor.F32), offset: 64, data: make([]byte, 64)}, // [64, 128)
	)
	_, err := FromBytes("bad.gguf", g.bytes())
	if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), `tensor "b" data [offset`) || !strings.Contains(err.Error(), `overlaps tensor "a"`) {
		t.Errorf("GGUF: %v, want b overlapping a", err)
	}

	st := safetensorsBytes(map[string]any{
		"a": stEntry{"F32", []uint64{32}, []uint64{0, 128}},
		"z": stEntry{"F32", []uint64{0}, []uint64{32, 32}},
		"b": stEntry{"F32", []uint64{16}, []uint64{64, 128}},
	}, 128)
	_, _, err = parseSafetensors("bad.safetensors", st)
	if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), `tensor "b" data_offsets [64, 128] overlap tensor "a" [0, 128]`) {
		t.Errorf("safetensors: %v, want b overlapping a", err)
	}
}
