package loader

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"

	"github.com/infertrace/infertrace/tensor"
)

const (
	ggufMagic        = "GGUF"
	defaultAlignment = 32
	maxAlignment     = 1 << 30
	maxNesting       = 8 // nested array depth accepted in metadata
	maxDims          = 4
)

// ggufParser decodes a GGUF header from b. Every read is bounds-checked
// against len(b) before anything is allocated, so a hostile count or
// length fails with an error instead of a huge make() or a panic.
type ggufParser struct {
	name string
	b    []byte
	off  uint64
}

// what names the field being read, for error messages. It is formatted
// only when an error occurs, so that reading a header allocates nothing
// per field.
type what struct {
	field string // "type", "offset", ...
	kind  string // "metadata key", "tensor", or "" for file-level fields
	name  string
}

func (w what) String() string {
	if w.kind == "" {
		return w.field
	}
	return w.field + " of " + w.kind + " " + quote(w.name)
}

func (p *ggufParser) remaining() uint64 { return uint64(len(p.b)) - p.off }

func (p *ggufParser) truncated(w what) error {
	return formatErr(p.name, ErrTruncated, "file ends at byte %d while reading %s (truncated file?)", len(p.b), w)
}

// take returns the next n bytes.
func (p *ggufParser) take(n uint64, w what) ([]byte, error) {
	if n > p.remaining() {
		return nil, p.truncated(w)
	}
	s := p.b[p.off : p.off+n]
	p.off += n
	return s, nil
}

func (p *ggufParser) u32(w what) (uint32, error) {
	s, err := p.take(4, w)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s), nil
}

func (p *ggufParser) u64(w what) (uint64, error) {
	s, err := p.take(8, w)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(s), nil
}

// count reads a u64 element count and checks that count elements of at
// least minSize bytes each fit in the rest of the file.
func (p *ggufParser) count(w what, minSize uint64) (int, error) {
	n, err := p.u64(w)
	if err != nil {
		return 0, err
	}
	hi, need := bits.Mul64(n, minSize)
	if hi != 0 || need > p.remaining() {
		return 0, formatErr(p.name, ErrTooLarge, "%s is %d, but only %d bytes remain after byte %d (file is %d bytes)",
			w, n, p.remaining(), p.off, len(p.b))
	}
	return int(n), nil
}

func (p *ggufParser) str(w what) (string, error) {
	start := p.off
	lw := w
	lw.field += " length"
	n, err := p.u64(lw)
	if err != nil {
		return "", err
	}
	if n > p.remaining() {
		return "", formatErr(p.name, ErrTooLarge, "%s at byte %d has length %d, past the end of the file (%d bytes)",
			w, start, n, len(p.b))
	}
	s, _ := p.take(n, w)
	return string(s), nil
}

// parseGGUF parses the header of a GGUF file held in data (a mapping or an
// in-memory copy) and fills f. Tensor Data are views of data.
func parseGGUF(f *File, data []byte) error {
	p := &ggufParser{name: f.Path, b: data}
	magic, err := p.take(4, what{field: "the magic"})
	if err != nil {
		return err
	}
	if string(magic) != ggufMagic {
		return formatErr(p.name, ErrNotModel, "not a GGUF file (magic %q, want %q)", magic, ggufMagic)
	}
	version, err := p.u32(what{field: "the version"})
	if err != nil {
		return err
	}
	switch {
	case version == 2 || version == 3:
	case version&0xffff == 0 && bits.ReverseBytes32(version) <= 3:
		return formatErr(p.name, ErrBigEndian, "big-endian GGUF (version field %#08x reads as %d byte-swapped); only little-endian files are supported",
			version, bits.ReverseBytes32(version))
	case version == 1:
		return formatErr(p.name, ErrVersion, "GGUF version 1 is not supported (only versions 2 and 3); re-convert the model with a current llama.cpp")
	default:
		return formatErr(p.name, ErrVersion, "unsupported GGUF version %d (only versions 2 and 3)", version)
	}
	f.Version = version

	// A tensor info is at least 8 (name length) + 4 (n_dims) + 4 (type) +
	// 8 (offset) bytes; a key/value at least 8 (key length) + 4 (type) + 1.
	nTensors, err := p.count(what{field: "tensor count"}, 24)
	if err != nil {
		return err
	}
	nKV, err := p.count(what{field: "metadata key/value count"}, 13)
	if err != nil {
		return err
	}

	f.Meta = newMetadata(nKV)
	for range nKV {
		keyOff := p.off
		key, err := p.str(what{field: "metadata key"})
		if err != nil {
			return err
		}
		if _, dup := f.Meta.vals[key]; dup {
			return formatErr(p.name, ErrDuplicate, "duplicate metadata key %q at byte %d", key, keyOff)
		}
		vt, err := p.u32(what{"type", "metadata key", key})
		if err != nil {
			return err
		}
		v, err := p.value(ValueType(vt), key, 0)
		if err != nil {
			return err
		}
		f.Meta.set(key, v)
	}

	f.Alignment = defaultAlignment
	if v, ok := f.Meta.Get("general.alignment"); ok {
		a, isInt := v.Uint()
		if !isInt || a == 0 || a&(a-1) != 0 || a > maxAlignment {
			return formatErr(p.name, ErrAlignment, "general.alignment is %s, want a power of two integer up to %d", v.Format(8), maxAlignment)
		}
		f.Alignment = int(a)
	}

	type info struct {
		t      *tensor.Tensor
		offset uint64 // relative to the data section
		size   uint64
	}
	infos := make([]info, 0, nTensors)
	byName := make(map[string]int, nTensors)
	for i := range nTensors {
		name, err := p.str(what{field: "tensor name"})
		if err != nil {
			return err
		}
		if _, dup := byName[name]; dup {
			return formatErr(p.name, ErrDuplicate, "duplicate tensor name %q (tensor %d)", name, i)
		}
		nDims, err := p.u32(what{"n_dims", "tensor", name})
		if err != nil {
			return err
		}
		if nDims > maxDims {
			return formatErr(p.name, ErrBadShape, "tensor %q has %d dimensions (at most %d)", name, nDims, maxDims)
		}
		dims := make([]int, nDims)
		elems := uint64(1)
		overflow := false
		for d := range dims {
			x, err := p.u64(what{"dims", "tensor", name})
			if err != nil {
				return err
			}
			if x > math.MaxInt64 {
				overflow = true
			}
			hi, lo := bits.Mul64(elems, x)
			if hi != 0 || lo > math.MaxInt64 {
				overflow = true
			}
			elems = lo
			dims[d] = int(x)
		}
		typ, err := p.u32(what{"type", "tensor", name})
		if err != nil {
			return err
		}
		off, err := p.u64(what{"offset", "tensor", name})
		if err != nil {
			return err
		}
		if overflow {
			return formatErr(p.name, ErrBadShape, "tensor %q dims %v: the element count overflows 64 bits", name, rawDims(dims))
		}
		tt := tensor.Type(typ)
		if !tt.Known() {
			return formatErr(p.name, ErrUnknownType, "tensor %q has unknown type id %d", name, typ)
		}
		t := &tensor.Tensor{Name: name, Type: tt, Dims: dims}
		size, err := tensorBytes(t)
		if err != nil {
			return formatErr(p.name, ErrBadShape, "tensor %q (%s, dims %v): %v", name, tt, dims, err)
		}
		byName[name] = i
		infos = append(infos, info{t, off, size})
	}

	f.DataOffset = int64(alignUp(p.off, uint64(f.Alignment)))
	dataStart := uint64(f.DataOffset)
	fileSize := uint64(len(data))
	f.offsets = make([]int64, len(infos))
	for i, in := range infos {
		if in.offset%uint64(f.Alignment) != 0 {
			return formatErr(p.name, ErrMisaligned, "tensor %q data offset %d is not a multiple of the alignment %d", in.t.Name, in.offset, f.Alignment)
		}
		start, c1 := bits.Add64(dataStart, in.offset, 0)
		end, c2 := bits.Add64(start, in.size, 0)
		if c1 != 0 || c2 != 0 || end > fileSize {
			return formatErr(p.name, ErrOutOfBounds, "tensor %q data [offset %d, size %d] lies past the end of the file (%d bytes)",
				in.t.Name, start, in.size, fileSize)
		}
		in.t.Data = data[start:end:end]
		f.offsets[i] = int64(start)
	}
	sorted := slices.Clone(infos)
	slices.SortFunc(sorted, func(a, b info) int { return cmp.Compare(a.offset, b.offset) })
	// Compare each tensor with the non-empty one reaching furthest so far:
	// only neighbours would let an empty tensor in between hide an overlap.
	var a *info
	for i := range sorted {
		b := &sorted[i]
		if b.size == 0 {
			continue
		}
		if a != nil && a.offset+a.size > b.offset {
			return formatErr(p.name, ErrOverlap, "tensor %q data [offset %d, size %d] overlaps tensor %q [offset %d, size %d]",
				b.t.Name, dataStart+b.offset, b.size, a.t.Name, dataStart+a.offset, a.size)
		}
		if a == nil || b.offset+b.size > a.offset+a.size {
			a = b
		}
	}
	f.Tensors = make([]*tensor.Tensor, len(infos))
	for i, in := range infos {
		f.Tensors[i] = in.t
	}
	f.index = byName
	return nil
}

// value decodes one metadata value of type vt for key at nesting depth.
func (p *ggufParser) value(vt ValueType, key string, depth int) (Value, error) {
	w := what{"value", "metadata key", key}
	v := Value{Type: vt}
	switch vt {
	case TypeUint8, TypeInt8, TypeBool:
		s, err := p.take(1, w)
		if err != nil {
			return v, err
		}
		v.bits = uint64(s[0])
		if vt == TypeInt8 {
			v.bits = uint64(int64(int8(s[0])))
		}
		if vt == TypeBool && s[0] > 1 {
			return v, formatErr(p.name, ErrBadValue, "metadata key %q: bool byte is %d, want 0 or 1", key, s[0])
		}
	case TypeUint16, TypeInt16:
		s, err := p.take(2, w)
		if err != nil {
			return v, err
		}
		x := binary.LittleEndian.Uint16(s)
		v.bits = uint64(x)
		if vt == TypeInt16 {
			v.bits = uint64(int64(int16(x)))
		}
	case TypeUint32, TypeInt32, TypeFloat32:
		x, err := p.u32(w)
		if err != nil {
			return v, err
		}
		switch vt {
		case TypeUint32:
			v.bits = uint64(x)
		case TypeInt32:
			v.bits = uint64(int64(int32(x)))
		default:
			v.bits = math.Float64bits(float64(math.Float32frombits(x)))
		}
	case TypeUint64, TypeInt64, TypeFloat64:
		x, err := p.u64(w)
		if err != nil {
			return v, err
		}
		v.bits = x
	case TypeString:
		s, err := p.str(w)
		if err != nil {
			return v, err
		}
		v.str = s
	case TypeArray:
		return p.array(key, depth)
	default:
		return v, formatErr(p.name, ErrBadValue, "metadata key %q has unknown value type %d", key, uint32(vt))
	}
	return v, nil
}

func (p *ggufParser) array(key string, depth int) (Value, error) {
	if depth >= maxNesting {
		return Value{}, formatErr(p.name, ErrNesting, "metadata key %q: arrays nested more than %d deep", key, maxNesting)
	}
	et, err := p.u32(what{"array element type", "metadata key", key})
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return Value{}, formatErr(p.name, ErrBadValue, "metadata key %q: array of unknown value type %d", key, et)
	}
	n, err := p.count(what{"array length", "metadata key", key}, elem.minSize())
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: TypeArray, Elem: elem}
	// Fixed-size elements: the count check above guarantees the bytes.
	fixed := func(size uint64) []byte { s, _ := p.take(uint64(n)*size, what{}); return s }
	le := binary.LittleEndian
	switch elem {
	case TypeUint8:
		v.arr = slices.Clone(fixed(1))
	case TypeInt8:
		s := fixed(1)
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(s[i])
		}
		v.arr = a
	case TypeBool:
		s := fixed(1)
		a := make([]bool, n)
		for i := range a {
			if s[i] > 1 {
				return Value{}, formatErr(p.name, ErrBadValue, "metadata key %q: bool byte is %d, want 0 or 1", key, s[i])
			}
			a[i] = s[i] != 0
		}
		v.arr = a
	case TypeUint16:
		s := fixed(2)
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(s[2*i:])
		}
		v.arr = a
	case TypeInt16:
		s := fixed(2)
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(s[2*i:]))
		}
		v.arr = a
	case TypeUint32:
		s := fixed(4)
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(s[4*i:])
		}
		v.arr = a
	case TypeInt32:
		s := fixed(4)
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(s[4*i:]))
		}
		v.arr = a
	case TypeFloat32:
		s := fixed(4)
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(s[4*i:]))
		}
		v.arr = a
	case TypeUint64:
		s := fixed(8)
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(s[8*i:])
		}
		v.arr = a
	case TypeInt64:
		s := fixed(8)
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(s[8*i:]))
		}
		v.arr = a
	case TypeFloat64:
		s := fixed(8)
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(s[8*i:]))
		}
		v.arr = a
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = p.str(what{"string array element", "metadata key", key}); err != nil {
				return Value{}, err
			}
		}
		v.arr = a
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = p.array(key, depth+1); err != nil {
				return Value{}, err
			}
		}
		v.arr = a
	}
	return v, nil
}

// tensorBytes returns the encoded size of t, checking that its rows are
// whole blocks and that the size does not overflow.
func tensorBytes(t *tensor.Tensor) (uint64, error) {
	if len(t.Dims) == 0 {
		rb, err := tensor.RowBytes(t.Type, 1)
		return uint64(rb), err
	}
	rb, err := tensor.RowBytes(t.Type, t.Dims[0])
	if err != nil {
		return 0, err
	}
	size := uint64(rb)
	for _, d := range t.Dims[1:] {
		hi, lo := bits.Mul64(size, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, errOverflow
		}
		size = lo
	}
	return size, nil
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }

// rawDims shows dims as unsigned values (hostile dims may not fit int).
func rawDims(dims []int) []uint64 {
	out := make([]uint64, len(dims))
	for i, d := range dims {
		out[i] = uint64(d)
	}
	return out
}
