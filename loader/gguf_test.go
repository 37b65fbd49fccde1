package loader

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

func TestFromBytesValid(t *testing.T) {
	g := validGGUF()
	b := g.bytes()
	f, err := FromBytes("valid.gguf", b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 32 || f.Meta.Len() != len(g.kvs) || len(f.Tensors) != 3 {
		t.Fatalf("v%d align %d keys %d tensors %d", f.Version, f.Alignment, f.Meta.Len(), len(f.Tensors))
	}
	var wantKeys []string
	for _, kv := range g.kvs {
		wantKeys = append(wantKeys, kv.key)
	}
	if !slices.Equal(f.Meta.Keys(), wantKeys) {
		t.Errorf("keys %v, want file order %v", f.Meta.Keys(), wantKeys)
	}
	m := f.Meta
	u := func(k string) uint64 { x, _ := m.Uint(k); return x }
	i := func(k string) int64 { x, _ := m.Int(k); return x }
	fl := func(k string) float64 { x, _ := m.Float(k); return x }
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"u8", u("test.u8"), uint64(200)},
		{"i8", i("test.i8"), int64(-128)},
		{"u16", u("test.u16"), uint64(65000)},
		{"i16", i("test.i16"), int64(-2)},
		{"u32", u("test.u32"), uint64(4000000000)},
		{"i32", i("test.i32"), int64(-7)},
		{"f32", fl("test.f32"), 0.25},
		{"u64", u("test.u64"), uint64(1 << 40)},
		{"i64", i("test.i64"), int64(-5)},
		{"f64", fl("test.f64"), -1.5},
		{"int as float", fl("test.u16"), 65000.0},
		{"string", must(m.String("general.name")), "builder"},
		{"bool", must(m.Bool("test.bool")), true},
		{"strings", must(m.Strings("test.strings")), []string{"a", "", "héllo"}},
		{"u16 array as int32s", must(m.Int32s("test.u16s")), []int32{1, 65535}},
		{"nested", m.vals["test.nested"].String(), "[[1, 2], [-3]]"},
		{"nested elem type", m.vals["test.nested"].Index(1).Elem, TypeInt32},
		{"abbreviated", m.vals["test.strings"].Format(2), `["a", "", ... (3 items)]`},
	} {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// Accessors refuse values that do not fit or have the wrong type.
	if _, ok := m.Uint("test.i8"); ok {
		t.Error("Uint accepted a negative i8")
	}
	if _, ok := m.String("test.u8"); ok {
		t.Error("String accepted a u8")
	}
	if _, ok := m.Float32s("test.strings"); ok {
		t.Error("Float32s accepted a string array")
	}
	for k, tn := range g.tensors {
		got := f.Tensors[k]
		if got.Name != tn.name || uint32(got.Type) != tn.typ || !bytes.Equal(got.Data, tn.data) || cap(got.Data) != len(got.Data) {
			t.Errorf("tensor %d: %s %v %d bytes, want %s", k, got.Name, got.Type, len(got.Data), tn.name)
		}
		if off, ok := f.Offset(tn.name); !ok || off != f.DataOffset+int64(tn.offset) {
			t.Errorf("Offset(%s) = %d, want %d", tn.name, off, f.DataOffset+int64(tn.offset))
		}
		if &got.Data[0] != &b[f.DataOffset+int64(tn.offset)] {
			t.Errorf("tensor %s data is a copy, want a view", got.Name)
		}
	}
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Arch: "llama", Name: "builder", NEmbd: 32, NLayer: 1, NHead: 4, NHeadKV: 2, NFF: 64, NVocab: 3, NCtx: 2048,
		HeadDim: 8, RopeDim: 8, RopeFreqBase: 500000, RopeType: RopeNorm, RMSEps: 1e-5, TiedOutput: true, FileType: "MOSTLY_Q8_0"}
	if c != want {
		t.Errorf("Config\n got %+v\nwant %+v", c, want)
	}
}

func must[T any](v T, ok bool) T {
	if !ok {
		var zero T
		return zero
	}
	return v
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	case []int32:
		return slices.Equal(x, b.([]int32))
	}
	return a == b
}

func u64p(x uint64) *uint64 { return &x }

// hostileGGUF lists malformed files, the error kind and a fragment of the
// one-line message each must produce.
func hostileGGUF() []struct {
	name string
	b    []byte
	kind error
	msg  string
} {
	type tc = struct {
		name string
		b    []byte
		kind error
		msg  string
	}
	mod := func(f func(g *gguf)) []byte { g := validGGUF(); f(g); return g.bytes() }
	valid := validGGUF().bytes()
	vf, err := FromBytes("valid.gguf", valid)
	if err != nil {
		panic(err)
	}
	ds := uint64(vf.DataOffset)
	qOff := ds + validGGUF().tensors[1].offset
	var keyPastEnd enc
	keyPastEnd = append(keyPastEnd, "GGUF"...)
	keyPastEnd.u32(3)
	keyPastEnd.u64(0)
	keyPastEnd.u64(1)
	keyPastEnd.u64(1 << 40)
	keyPastEnd = append(keyPastEnd, "general.architecture"...)
	// Section boundaries of the valid file.
	kvEnd := 24
	for _, kv := range validGGUF().kvs {
		kvEnd += 8 + len(kv.key) + 4 + len(kv.val)
	}
	infoEnd := kvEnd
	for _, tn := range validGGUF().tensors {
		infoEnd += 8 + len(tn.name) + 4 + 8*len(tn.dims) + 4 + 8
	}
	var out []tc
	out = append(out,
		tc{"cut at end of metadata", valid[:kvEnd], ErrTruncated, fmt.Sprintf("file ends at byte %d while reading tensor name length", kvEnd)},
		tc{"cut at end of tensor infos", valid[:infoEnd], ErrOutOfBounds,
			fmt.Sprintf(`tensor "token_embd.weight" data [offset %d, size 384] lies past the end of the file (%d bytes)`, ds, infoEnd)},
		tc{"cut at data section", valid[:ds], ErrOutOfBounds, fmt.Sprintf(`tensor "token_embd.weight" data [offset %d, size 384] lies past the end of the file (%d bytes)`, ds, ds)},
		tc{"wrong magic", mod(func(g *gguf) { g.magic = "GGML" }), ErrNotModel, `not a GGUF file (magic "GGML", want "GGUF")`},
		tc{"version 1", mod(func(g *gguf) { g.version = 1 }), ErrVersion, "GGUF version 1 is not supported"},
		tc{"version 99", mod(func(g *gguf) { g.version = 99 }), ErrVersion, "unsupported GGUF version 99"},
		tc{"big-endian", mod(func(g *gguf) { g.version = 0x03000000 }), ErrBigEndian, "big-endian GGUF"},
		tc{"empty", nil, ErrTruncated, "while reading the magic"},
		tc{"cut after version", valid[:8], ErrTruncated, "file ends at byte 8 while reading tensor count"},
		tc{"cut after counts", valid[:24], ErrTooLarge, "tensor count is 3, but only 8 bytes remain after byte 16 (file is 24 bytes)"},
		tc{"cut in metadata", valid[:60], ErrTooLarge, "tensor count is 3, but only 44 bytes remain after byte 16 (file is 60 bytes)"},
		tc{"tensor count 2^63", mod(func(g *gguf) { g.tensorCount = u64p(1 << 63) }), ErrTooLarge, "tensor count is 9223372036854775808"},
		tc{"metadata count larger than file", mod(func(g *gguf) { g.kvCount = u64p(uint64(len(valid))) }), ErrTooLarge, "metadata key/value count is"},
		tc{"metadata count 2^64-1", mod(func(g *gguf) { g.kvCount = u64p(math.MaxUint64) }), ErrTooLarge, "metadata key/value count is 18446744073709551615"},
		tc{"string length past end", mod(func(g *gguf) {
			g.kv("bad.string", TypeString, func(e *enc) { e.u64(1 << 40) })
		}), ErrTooLarge, `value of metadata key "bad.string" at byte`},
		tc{"key length past end", keyPastEnd, ErrTooLarge, "metadata key at byte 24 has length 1099511627776, past the end of the file (52 bytes)"},
		tc{"array count past end", mod(func(g *gguf) {
			g.kv("bad.array", TypeArray, func(e *enc) { e.u32(uint32(TypeUint64)); e.u64(1 << 60) })
		}), ErrTooLarge, `array length of metadata key "bad.array" is 1152921504606846976`},
		tc{"nested depth 10000", mod(func(g *gguf) {
			g.kv("bad.nest", TypeArray, func(e *enc) {
				for range 10000 {
					e.u32(uint32(TypeArray))
					e.u64(1)
				}
				e.u32(uint32(TypeUint8))
				e.u64(0)
			})
		}), ErrNesting, `metadata key "bad.nest": arrays nested more than 8 deep`},
		tc{"unknown value type", mod(func(g *gguf) { g.kv("bad.type", 13, func(*enc) {}) }), ErrBadValue, `metadata key "bad.type" has unknown value type 13`},
		tc{"unknown array element type", mod(func(g *gguf) {
			g.kv("bad.elem", TypeArray, func(e *enc) { e.u32(77); e.u64(0) })
		}), ErrBadValue, `metadata key "bad.elem": array of unknown value type 77`},
		tc{"bool not 0 or 1", mod(func(g *gguf) { g.kv("bad.bool", TypeBool, func(e *enc) { e.u8(2) }) }), ErrBadValue, "bool byte is 2"},
		tc{"duplicate key", mod(func(g *gguf) { g.kvs = append(g.kvs, g.kvs[2]) }), ErrDuplicate, `duplicate metadata key "test.u8"`},
		tc{"alignment not a power of two", mod(func(g *gguf) {
			g.kv("general.alignment", TypeUint32, func(e *enc) { e.u32(48) })
		}), ErrAlignment, "general.alignment is 48, want a power of two"},
		tc{"alignment zero", mod(func(g *gguf) {
			g.kv("general.alignment", TypeUint32, func(e *enc) { e.u32(0) })
		}), ErrAlignment, "general.alignment is 0"},
		tc{"alignment a string", mod(func(g *gguf) {
			g.kv("general.alignment", TypeString, func(e *enc) { e.str("32") })
		}), ErrAlignment, `general.alignment is "32"`},
		tc{"tensor offset past the end", mod(func(g *gguf) { g.tensors[2].offset = 1 << 20; g.tensors[2].data = nil }), ErrOutOfBounds,
			fmt.Sprintf(`tensor "output_norm.weight" data [offset %d, size 64] lies past the end of the file (%d bytes)`, ds+1<<20, qOff+68)},
		tc{"tensor offset overflows", mod(func(g *gguf) { g.tensors[2].offset = math.MaxUint64 - 31; g.tensors[2].data = nil }), ErrOutOfBounds,
			`tensor "output_norm.weight" data [offset`},
		tc{"tensor data cut", valid[:len(valid)-1], ErrOutOfBounds, fmt.Sprintf(`tensor "output_norm.weight" data [offset %d, size 64] lies past the end of the file (%d bytes)`, len(valid)-64, len(valid)-1)},
		tc{"dims overflow", mod(func(g *gguf) { g.tensors[0].dims = []uint64{1 << 32, 1 << 32}; g.tensors[0].data = nil }), ErrBadShape,
			`tensor "token_embd.weight" dims [4294967296 4294967296]: the element count overflows 64 bits`},
		tc{"dim above MaxInt64", mod(func(g *gguf) { g.tensors[0].dims = []uint64{1 << 63}; g.tensors[0].data = nil }), ErrBadShape, "overflows"},
		tc{"size overflows", mod(func(g *gguf) { g.tensors[0].dims = []uint64{1 << 40, 1 << 22}; g.tensors[0].data = nil }), ErrBadShape, "overflow"},
		tc{"five dims", mod(func(g *gguf) { g.tensors[0].dims = []uint64{1, 1, 1, 1, 96} }), ErrBadShape, `tensor "token_embd.weight" has 5 dimensions (at most 4)`},
		tc{"partial block", mod(func(g *gguf) { g.tensors[1].dims = []uint64{33, 2} }), ErrBadShape, `tensor "blk.0.attn_q.weight" (Q8_0, dims [33 2])`},
		tc{"unknown type id", mod(func(g *gguf) { g.tensors[1].typ = 77 }), ErrUnknownType, `tensor "blk.0.attn_q.weight" has unknown type id 77`},
		tc{"duplicate tensor name", mod(func(g *gguf) { g.tensors[2].name = "token_embd.weight" }), ErrDuplicate, `duplicate tensor name "token_embd.weight" (tensor 2)`},
		tc{"misaligned tensor", mod(func(g *gguf) { g.tensors[2].offset += 4 }), ErrMisaligned, fmt.Sprintf(`tensor "output_norm.weight" data offset %d is not a multiple of the alignment 32`, validGGUF().tensors[2].offset+4)},
		tc{"overlapping tensors", mod(func(g *gguf) { g.tensors[2].offset = g.tensors[1].offset + 32 }), ErrOverlap,
			fmt.Sprintf(`tensor "output_norm.weight" data [offset %d, size 64] overlaps tensor "blk.0.attn_q.weight" [offset %d, size 68]`, qOff+32, qOff)},
	)
	return out
}

func TestHostileGGUF(t *testing.T) {
	for _, c := range hostileGGUF() {
		t.Run(c.name, func(t *testing.T) {
			f, err := FromBytes("bad.gguf", c.b)
			if err == nil {
				t.Fatalf("no error; %d tensors", len(f.Tensors))
			}
			msg := err.Error()
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q is not %v", msg, c.kind)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != "bad.gguf" {
				t.Errorf("error %q is not a *FormatError naming the file", msg)
			}
			if !strings.HasPrefix(msg, "bad.gguf: ") || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q\nwant one line starting with bad.gguf: and containing %q", msg, c.msg)
			}
		})
	}
}

// TestHostileGGUFOpen checks that Open (mmap path) reports the same.
func TestHostileGGUFOpen(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileGGUF() {
		if len(c.b) == 0 {
			continue // Open reports an empty file separately
		}
		p := writeFile(t, dir, "bad.gguf", c.b)
		f, err := Open(p)
		if err == nil {
			f.Close()
			t.Errorf("%s: no error", c.name)
			continue
		}
		if c.kind == ErrNotModel {
			c.msg = "not a GGUF or safetensors file"
		}
		if !errors.Is(err, c.kind) || !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want %v containing %q", c.name, err, c.kind, c.msg)
		}
	}
	if _, err := Open(writeFile(t, dir, "empty.gguf", nil)); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Open(dir + "/missing.gguf"); err == nil || !strings.Contains(err.Error(), "missing.gguf: cannot open: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

// TestTruncatedEveryByte cuts a valid file at every byte: each prefix is
// rejected with a bounds error, never a panic.
func TestTruncatedEveryByte(t *testing.T) {
	b := validGGUF().bytes()
	for n := range len(b) {
		f, err := FromBytes("cut.gguf", b[:n])
		if err == nil {
			t.Fatalf("prefix of %d/%d bytes accepted (%d tensors)", n, len(b), len(f.Tensors))
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrOutOfBounds) {
			t.Fatalf("prefix of %d bytes: unexpected error kind: %v", n, err)
		}
	}
	if _, err := FromBytes("full.gguf", b); err != nil {
		t.Fatal(err)
	}
}

// TestHostileAllocations bounds the memory parsing a hostile file may
// allocate by a multiple of its size: no count or length in a header can
// make the loader allocate more than the file could describe.
func TestHostileAllocations(t *testing.T) {
	cases := hostileGGUF()
	// Valid but dense headers: the most values per byte a file can hold.
	const n = 20000
	dense := func(name string, build func(g *gguf)) {
		g := &gguf{}
		build(g)
		cases = append(cases, struct {
			name string
			b    []byte
			kind error
			msg  string
		}{name: name, b: g.bytes()})
	}
	dense("20000 one-byte keys", func(g *gguf) {
		for i := range n {
			g.kv(fmt.Sprintf("%x", i), TypeUint8, func(e *enc) { e.u8(1) })
		}
	})
	dense("20000 empty tensors", func(g *gguf) {
		for i := range n {
			g.tensors = append(g.tensors, gtensor{name: fmt.Sprintf("%x", i), dims: []uint64{0}})
		}
	})
	dense("20000 empty nested arrays", func(g *gguf) {
		g.kv("a", TypeArray, func(e *enc) {
			e.u32(uint32(TypeArray))
			e.u64(n)
			for range n {
				e.u32(uint32(TypeUint8))
				e.u64(0)
			}
		})
	})
	dense("20000 empty strings", func(g *gguf) {
		g.kv("a", TypeArray, func(e *enc) {
			e.u32(uint32(TypeString))
			e.u64(n)
			for range n {
				e.str("")
			}
		})
	})
	for _, c := range cases {
		alloc := allocated(func() { _, _ = FromBytes("bad.gguf", c.b) })
		if limit := 16*uint64(len(c.b)) + 64<<10; alloc > limit {
			t.Errorf("%s: %d bytes allocated for a %d-byte file (limit %d)", c.name, alloc, len(c.b), limit)
		}
	}
}

func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestTensorTypesRoundTrip(t *testing.T) {
	for _, typ := range tensor.Types() {
		g := &gguf{}
		ti, _ := typ.Info()
		g.tensor("w", typ, uint64(ti.BlockSize*2), 3)
		f, err := FromBytes("t.gguf", g.bytes())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		w, _ := f.Tensor("w")
		if w.Type != typ || len(w.Data) != 6*ti.BlockBytes {
			t.Errorf("%s: %v %d bytes, want %d", typ, w.Type, len(w.Data), 6*ti.BlockBytes)
		}
	}
}

// TestGGUFVersion2 reads the same file written as version 2 (same layout
// as v3 with 64-bit counts; every shared file is v3): identical metadata
// and tensors.
func TestGGUFVersion2(t *testing.T) {
	g3 := validGGUF()
	g2 := validGGUF()
	g2.version = 2
	f3, err := FromBytes("v3.gguf", g3.bytes())
	if err != nil {
		t.Fatal(err)
	}
	f2, err := FromBytes("v2.gguf", g2.bytes())
	if err != nil {
		t.Fatalf("v2: %v", err)
	}
	if f2.Version != 2 || f2.DataOffset != f3.DataOffset || !slices.Equal(f2.Meta.Keys(), f3.Meta.Keys()) || len(f2.Tensors) != len(f3.Tensors) {
		t.Fatalf("v2: version %d, data offset %d (v3 %d), %d keys, %d tensors", f2.Version, f2.DataOffset, f3.DataOffset, f2.Meta.Len(), len(f2.Tensors))
	}
	for _, k := range f3.Meta.Keys() {
		a, _ := f3.Meta.Get(k)
		b, _ := f2.Meta.Get(k)
		if a.String() != b.String() {
			t.Errorf("%s: v2 %s, v3 %s", k, b, a)
		}
	}
	for i, a := range f3.Tensors {
		b := f2.Tensors[i]
		if a.Name != b.Name || a.Type != b.Type || !slices.Equal(a.Dims, b.Dims) || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("tensor %d: v2 %s %s %v, v3 %s %s %v", i, b.Name, b.Type, b.Dims, a.Name, a.Type, a.Dims)
		}
	}
}
