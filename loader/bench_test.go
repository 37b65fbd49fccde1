package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

// writeSparseLlama writes an F32 llama GGUF header with the given shape
// and extends the file to its full size with Truncate (a sparse file), so
// a 440 MB model is produced in milliseconds. It returns the path and size.
func writeSparseLlama(tb testing.TB, dir string, nEmbd, nLayer, nFF, nVocab uint64) (string, int64) {
	tb.Helper()
	g := &gguf{}
	g.kv("general.architecture", TypeString, func(e *enc) { e.str("llama") })
	for _, kv := range []struct {
		k string
		v uint64
	}{{"embedding_length", nEmbd}, {"block_count", nLayer}, {"attention.head_count", 12}, {"feed_forward_length", nFF}, {"vocab_size", nVocab}} {
		g.kv("llama."+kv.k, TypeUint32, func(e *enc) { e.u32(uint32(kv.v)) })
	}
	var off uint64
	add := func(name string, dims ...uint64) {
		rb, _ := tensor.RowBytes(tensor.F32, int(dims[0]))
		size := uint64(rb)
		for _, d := range dims[1:] {
			size *= d
		}
		g.tensors = append(g.tensors, gtensor{name: name, dims: dims, typ: uint32(tensor.F32), offset: off})
		off = alignUp(off+size, 32)
	}
	add("token_embd.weight", nEmbd, nVocab)
	for l := range nLayer {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", nEmbd)
		for _, n := range []string{"attn_q", "attn_k", "attn_v", "attn_output"} {
			add(p+n+".weight", nEmbd, nEmbd)
		}
		add(p+"ffn_norm.weight", nEmbd)
		add(p+"ffn_gate.weight", nEmbd, nFF)
		add(p+"ffn_up.weight", nEmbd, nFF)
		add(p+"ffn_down.weight", nFF, nEmbd)
	}
	add("output_norm.weight", nEmbd)
	hdr := g.bytes() // data-less tensors: the header, padded to the data section
	p := filepath.Join(dir, fmt.Sprintf("llama-%dL-%dV.gguf", nLayer, nVocab))
	if err := os.WriteFile(p, hdr, 0o644); err != nil {
		tb.Fatal(err)
	}
	size := int64(len(hdr)) + int64(off)
	if err := os.Truncate(p, size); err != nil {
		tb.Fatal(err)
	}
	return p, size
}

// TestOpenIsLazy opens a 440 MB (sparse) model: the allocations are those
// of the header, and tensor data are views of the mapping.
func TestOpenIsLazy(t *testing.T) {
	p, size := writeSparseLlama(t, t.TempDir(), 768, 12, 2048, 32000)
	var f *File
	var err error
	alloc := allocated(func() { f, err = Open(p) })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size != size || size < 400<<20 || len(f.Tensors) != 2+12*9 {
		t.Fatalf("size %d, %d tensors", f.Size, len(f.Tensors))
	}
	if alloc > 256<<10 {
		t.Errorf("Open allocated %d bytes for a %d-byte file; want only the header", alloc, size)
	}
	last := f.Tensors[len(f.Tensors)-1]
	if end := &last.Data[len(last.Data)-1]; end != &f.mappings[0][size-1] {
		t.Errorf("last tensor does not end at the last byte of the mapping")
	}
	c, err := f.Config()
	if err != nil || c.NVocab != 32000 || !c.TiedOutput {
		t.Errorf("Config %+v, %v", c, err)
	}
}

// BenchmarkOpen110M times Open+Close of a 110M-parameter F32 llama
// (~440 MB) against files of the same header at 1/10 and 8x the size:
// the cost is the header's, not the file's.
func BenchmarkOpen110M(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name                       string
		nEmbd, nLayer, nFF, nVocab uint64
	}{
		// Same 110-tensor header, three file sizes.
		{"43MB", 240, 12, 640, 10000},
		{"440MB", 768, 12, 2048, 32000},
		{"3.4GB", 2304, 12, 6144, 32000},
	} {
		p, size := writeSparseLlama(b, dir, c.nEmbd, c.nLayer, c.nFF, c.nVocab)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(float64(size)/1e6, "file-MB")
			for b.Loop() {
				f, err := Open(p)
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
