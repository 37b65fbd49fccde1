package loader

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

// enc is a little-endian byte writer for hand-rolled GGUF files.
type enc []byte

func (e *enc) u8(x uint8)   { *e = append(*e, x) }
func (e *enc) u16(x uint16) { *e = binary.LittleEndian.AppendUint16(*e, x) }
func (e *enc) u32(x uint32) { *e = binary.LittleEndian.AppendUint32(*e, x) }
func (e *enc) u64(x uint64) { *e = binary.LittleEndian.AppendUint64(*e, x) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); *e = append(*e, s...) }

// gkv is one metadata entry: key, value type and the encoded value.
type gkv struct {
	key string
	typ ValueType
	val []byte
}

// gtensor is one tensor info plus its data.
type gtensor struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
	data   []byte
}

// gguf describes a GGUF file; bytes() serialises it. Counts default to
// the lengths of kvs and tensors unless overridden.
type gguf struct {
	magic       string
	version     uint32
	tensorCount *uint64
	kvCount     *uint64
	kvs         []gkv
	tensors     []gtensor
	align       uint64 // data section alignment used for layout (default 32)
}

func (g *gguf) kv(key string, typ ValueType, build func(e *enc)) {
	var e enc
	build(&e)
	g.kvs = append(g.kvs, gkv{key, typ, e})
}

// tensor appends a tensor of type typ with dims, laid out after the
// previous one at the next aligned offset, filled with a byte pattern.
func (g *gguf) tensor(name string, typ tensor.Type, dims ...uint64) {
	n := uint64(1)
	for _, d := range dims[1:] {
		n *= d
	}
	rb, err := tensor.RowBytes(typ, int(dims[0]))
	if err != nil {
		panic(err)
	}
	size := uint64(rb) * n
	var off uint64
	if k := len(g.tensors); k > 0 {
		last := g.tensors[k-1]
		off = alignUp(last.offset+uint64(len(last.data)), g.alignment())
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + len(g.tensors))
	}
	g.tensors = append(g.tensors, gtensor{name, dims, uint32(typ), off, data})
}

func (g *gguf) alignment() uint64 {
	if g.align == 0 {
		return 32
	}
	return g.align
}

// headerLen is the offset where the tensor data section starts.
func (g *gguf) bytes() []byte {
	var e enc
	magic := g.magic
	if magic == "" {
		magic = "GGUF"
	}
	e = append(e, magic...)
	v := g.version
	if v == 0 {
		v = 3
	}
	e.u32(v)
	if g.tensorCount != nil {
		e.u64(*g.tensorCount)
	} else {
		e.u64(uint64(len(g.tensors)))
	}
	if g.kvCount != nil {
		e.u64(*g.kvCount)
	} else {
		e.u64(uint64(len(g.kvs)))
	}
	for _, kv := range g.kvs {
		e.str(kv.key)
		e.u32(uint32(kv.typ))
		e = append(e, kv.val...)
	}
	for _, t := range g.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			e.u64(d)
		}
		e.u32(t.typ)
		e.u64(t.offset)
	}
	start := alignUp(uint64(len(e)), g.alignment())
	for uint64(len(e)) < start {
		e.u8(0)
	}
	for _, t := range g.tensors {
		if t.data == nil {
			continue // info only: the data lies outside the file
		}
		end := start + t.offset + uint64(len(t.data))
		for uint64(len(e)) < end {
			e.u8(0)
		}
		copy(e[start+t.offset:], t.data)
	}
	return e
}

// validGGUF is a small valid file with every metadata value type, string
// and nested arrays, and tensors of three types.
func validGGUF() *gguf {
	g := &gguf{}
	g.kv("general.architecture", TypeString, func(e *enc) { e.str("llama") })
	g.kv("general.name", TypeString, func(e *enc) { e.str("builder") })
	g.kv("test.u8", TypeUint8, func(e *enc) { e.u8(200) })
	g.kv("test.i8", TypeInt8, func(e *enc) { e.u8(0x80) })
	g.kv("test.u16", TypeUint16, func(e *enc) { e.u16(65000) })
	g.kv("test.i16", TypeInt16, func(e *enc) { e.u16(0xfffe) })
	g.kv("test.u32", TypeUint32, func(e *enc) { e.u32(4000000000) })
	g.kv("test.i32", TypeInt32, func(e *enc) { e.u32(0xfffffff9) })
	g.kv("test.f32", TypeFloat32, func(e *enc) { e.u32(math.Float32bits(0.25)) })
	g.kv("test.bool", TypeBool, func(e *enc) { e.u8(1) })
	g.kv("test.u64", TypeUint64, func(e *enc) { e.u64(1 << 40) })
	g.kv("test.i64", TypeInt64, func(e *enc) { e.u64(uint64(math.MaxUint64 - 4)) }) // -5
	g.kv("test.f64", TypeFloat64, func(e *enc) { e.u64(math.Float64bits(-1.5)) })
	g.kv("test.strings", TypeArray, func(e *enc) {
		e.u32(uint32(TypeString))
		e.u64(3)
		e.str("a")
		e.str("")
		e.str("héllo")
	})
	g.kv("test.u16s", TypeArray, func(e *enc) {
		e.u32(uint32(TypeUint16))
		e.u64(2)
		e.u16(1)
		e.u16(65535)
	})
	g.kv("test.nested", TypeArray, func(e *enc) { // [[1, 2], [-3]] of i32
		e.u32(uint32(TypeArray))
		e.u64(2)
		e.u32(uint32(TypeInt32))
		e.u64(2)
		e.u32(1)
		e.u32(2)
		e.u32(uint32(TypeInt32))
		e.u64(1)
		e.u32(uint32(0xfffffffd))
	})
	g.kv("llama.embedding_length", TypeUint32, func(e *enc) { e.u32(32) })
	g.kv("llama.block_count", TypeUint32, func(e *enc) { e.u32(1) })
	g.kv("llama.attention.head_count", TypeUint32, func(e *enc) { e.u32(4) })
	g.kv("llama.attention.head_count_kv", TypeUint32, func(e *enc) { e.u32(2) })
	g.kv("llama.feed_forward_length", TypeUint32, func(e *enc) { e.u32(64) })
	g.kv("llama.rope.freq_base", TypeFloat32, func(e *enc) { e.u32(math.Float32bits(500000)) })
	g.kv("general.file_type", TypeUint32, func(e *enc) { e.u32(7) })
	g.tensor("token_embd.weight", tensor.F32, 32, 3)
	g.tensor("blk.0.attn_q.weight", tensor.Q8_0, 32, 2)
	g.tensor("output_norm.weight", tensor.F16, 32)
	return g
}

// writeFile writes b to name in a fresh temp dir and returns the path.
func writeFile(tb testing.TB, dir, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// stEntry is one safetensors header entry.
type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []uint64 `json:"shape"`
	Offsets []uint64 `json:"data_offsets"`
}

// safetensorsBytes serialises a safetensors file: header entries plus a
// data section of dataLen bytes (a byte pattern).
func safetensorsBytes(entries map[string]any, dataLen int) []byte {
	h, err := json.Marshal(entries)
	if err != nil {
		panic(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var e enc
	e.u64(uint64(len(h)))
	e = append(e, h...)
	for i := range dataLen {
		e.u8(byte(i * 13))
	}
	return e
}

// stLayout lays tensors out back to back: names with their dtype and HF
// shape, returning the header entries and the data length.
func stLayout(specs ...any) (map[string]any, int) {
	entries := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := uint64(0)
	for i := 0; i < len(specs); i += 3 {
		name, dtype, shape := specs[i].(string), specs[i+1].(string), specs[i+2].([]uint64)
		n := uint64(map[string]int{"F32": 4, "F16": 2, "BF16": 2}[dtype])
		for _, d := range shape {
			n *= d
		}
		entries[name] = stEntry{dtype, shape, []uint64{off, off + n}}
		off += n
	}
	return entries, int(off)
}
