package loader

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is a GGUF metadata value type id.
type ValueType uint32

// GGUF metadata value types (gguf.h).
const (
	TypeUint8 ValueType = iota
	TypeInt8
	TypeUint16
	TypeInt16
	TypeUint32
	TypeInt32
	TypeFloat32
	TypeBool
	TypeString
	TypeArray
	TypeUint64
	TypeInt64
	TypeFloat64
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

// String returns the short name of the type ("u32", "string", ...).
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// valid reports whether t is one of the 13 GGUF value types.
func (t ValueType) valid() bool { return t <= TypeFloat64 }

// minSize is the smallest encoding of one value of type t in a GGUF file:
// it bounds how many elements the remaining bytes can hold.
func (t ValueType) minSize() uint64 {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeString:
		return 8 // u64 length
	case TypeArray:
		return 12 // u32 element type + u64 count
	default:
		return 8
	}
}

func (t ValueType) isSigned() bool {
	return t == TypeInt8 || t == TypeInt16 || t == TypeInt32 || t == TypeInt64
}

func (t ValueType) isUnsigned() bool {
	return t == TypeUint8 || t == TypeUint16 || t == TypeUint32 || t == TypeUint64
}

// Value is one GGUF metadata value. Scalars are held in bits (integers,
// bools, floats as IEEE bits of float64); arrays keep their element type in
// Elem and their elements in a typed slice ([]uint8 ... []string, or
// []Value for nested arrays).
type Value struct {
	Type ValueType
	Elem ValueType // element type when Type == TypeArray
	bits uint64
	str  string
	arr  any
}

// Uint returns the value as uint64 when it is an integer that fits.
func (v Value) Uint() (uint64, bool) {
	switch {
	case v.Type.isUnsigned():
		return v.bits, true
	case v.Type.isSigned():
		if int64(v.bits) < 0 {
			return 0, false
		}
		return v.bits, true
	}
	return 0, false
}

// Int returns the value as int64 when it is an integer that fits.
func (v Value) Int() (int64, bool) {
	switch {
	case v.Type.isSigned():
		return int64(v.bits), true
	case v.Type.isUnsigned():
		if v.bits > math.MaxInt64 {
			return 0, false
		}
		return int64(v.bits), true
	}
	return 0, false
}

// Float returns f32/f64 values, and integers converted to float64.
func (v Value) Float() (float64, bool) {
	switch {
	case v.Type == TypeFloat32 || v.Type == TypeFloat64:
		return math.Float64frombits(v.bits), true
	case v.Type.isSigned():
		return float64(int64(v.bits)), true
	case v.Type.isUnsigned():
		return float64(v.bits), true
	}
	return 0, false
}

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) {
	if v.Type != TypeBool {
		return false, false
	}
	return v.bits != 0, true
}

// Str returns a string value. (String formats any value for display.)
func (v Value) Str() (string, bool) {
	if v.Type != TypeString {
		return "", false
	}
	return v.str, true
}

// Len returns the number of elements of an array (0 for scalars).
func (v Value) Len() int {
	switch a := v.arr.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// Index returns element i of an array as a scalar (or nested array) Value.
// It panics if i is out of range, like a slice index.
func (v Value) Index(i int) Value {
	e := Value{Type: v.Elem}
	switch a := v.arr.(type) {
	case []uint8:
		e.bits = uint64(a[i])
	case []int8:
		e.bits = uint64(int64(a[i]))
	case []uint16:
		e.bits = uint64(a[i])
	case []int16:
		e.bits = uint64(int64(a[i]))
	case []uint32:
		e.bits = uint64(a[i])
	case []int32:
		e.bits = uint64(int64(a[i]))
	case []float32:
		e.bits = math.Float64bits(float64(a[i]))
	case []bool:
		if a[i] {
			e.bits = 1
		}
	case []string:
		e.str = a[i]
	case []uint64:
		e.bits = a[i]
	case []int64:
		e.bits = uint64(a[i])
	case []float64:
		e.bits = math.Float64bits(a[i])
	case []Value:
		return a[i]
	default:
		panic(fmt.Sprintf("loader: Index(%d) on a %s value", i, v.Type))
	}
	return e
}

// Strings returns a string array.
func (v Value) Strings() ([]string, bool) {
	a, ok := v.arr.([]string)
	return a, ok
}

// Float32s returns an f32 array, or an f64 array converted to float32.
func (v Value) Float32s() ([]float32, bool) {
	switch a := v.arr.(type) {
	case []float32:
		return a, true
	case []float64:
		out := make([]float32, len(a))
		for i, f := range a {
			out[i] = float32(f)
		}
		return out, true
	}
	return nil, false
}

// Int32s returns an integer array of any integer element type as int32;
// it fails if an element does not fit.
func (v Value) Int32s() ([]int32, bool) {
	if a, ok := v.arr.([]int32); ok {
		return a, true
	}
	if v.Type != TypeArray || !(v.Elem.isSigned() || v.Elem.isUnsigned()) {
		return nil, false
	}
	n := v.Len()
	out := make([]int32, n)
	for i := range n {
		x, ok := v.Index(i).Int()
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// String formats the value for display; arrays show every element.
func (v Value) String() string { return v.Format(-1) }

// Format formats the value for display, abbreviating arrays longer than
// maxItems as "[a, b, c, ... (N items)]" (maxItems < 0: no limit). Strings
// are quoted.
func (v Value) Format(maxItems int) string {
	switch {
	case v.Type == TypeString:
		return strconv.Quote(v.str)
	case v.Type == TypeBool:
		return strconv.FormatBool(v.bits != 0)
	case v.Type == TypeFloat32:
		return strconv.FormatFloat(math.Float64frombits(v.bits), 'g', -1, 32)
	case v.Type == TypeFloat64:
		return strconv.FormatFloat(math.Float64frombits(v.bits), 'g', -1, 64)
	case v.Type.isSigned():
		return strconv.FormatInt(int64(v.bits), 10)
	case v.Type.isUnsigned():
		return strconv.FormatUint(v.bits, 10)
	case v.Type == TypeArray:
		n := v.Len()
		show := n
		if maxItems >= 0 && n > maxItems {
			show = min(3, maxItems)
		}
		var b strings.Builder
		b.WriteByte('[')
		for i := range show {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.Index(i).Format(maxItems))
		}
		if show < n {
			if show > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "... (%d items)", n)
		}
		b.WriteByte(']')
		return b.String()
	}
	return fmt.Sprintf("<%s>", v.Type)
}

// Metadata is the ordered key/value metadata of a model file.
type Metadata struct {
	keys []string
	vals map[string]Value
}

func newMetadata(n int) *Metadata {
	return &Metadata{keys: make([]string, 0, n), vals: make(map[string]Value, n)}
}

// set adds or replaces a key; new keys keep insertion order.
func (m *Metadata) set(key string, v Value) {
	if _, ok := m.vals[key]; !ok {
		m.keys = append(m.keys, key)
	}
	m.vals[key] = v
}

// Keys returns the keys in file order.
func (m *Metadata) Keys() []string { return append([]string(nil), m.keys...) }

// Len returns the number of keys.
func (m *Metadata) Len() int { return len(m.keys) }

// Get returns the value of key.
func (m *Metadata) Get(key string) (Value, bool) {
	v, ok := m.vals[key]
	return v, ok
}

// String returns a string value.
func (m *Metadata) String(key string) (string, bool) {
	v, ok := m.vals[key]
	if !ok {
		return "", false
	}
	return v.Str()
}

// Uint returns an integer value of any integer type that fits in uint64.
func (m *Metadata) Uint(key string) (uint64, bool) {
	v, ok := m.vals[key]
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// Int returns an integer value of any integer type that fits in int64.
func (m *Metadata) Int(key string) (int64, bool) {
	v, ok := m.vals[key]
	if !ok {
		return 0, false
	}
	return v.Int()
}

// Float returns an f32/f64 (or integer) value as float64.
func (m *Metadata) Float(key string) (float64, bool) {
	v, ok := m.vals[key]
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns a bool value.
func (m *Metadata) Bool(key string) (bool, bool) {
	v, ok := m.vals[key]
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Strings returns a string array.
func (m *Metadata) Strings(key string) ([]string, bool) {
	v, ok := m.vals[key]
	if !ok {
		return nil, false
	}
	return v.Strings()
}

// Float32s returns an f32 (or f64) array as []float32.
func (m *Metadata) Float32s(key string) ([]float32, bool) {
	v, ok := m.vals[key]
	if !ok {
		return nil, false
	}
	return v.Float32s()
}

// Int32s returns an array of any integer type as []int32 (every element
// must fit).
func (m *Metadata) Int32s(key string) ([]int32, bool) {
	v, ok := m.vals[key]
	if !ok {
		return nil, false
	}
	return v.Int32s()
}

// Scalar constructors, used for metadata synthesised from config.json.

func uintValue(x uint64) Value   { return Value{Type: TypeUint32, bits: x} }
func floatValue(f float64) Value { return Value{Type: TypeFloat64, bits: math.Float64bits(f)} }
func stringValue(s string) Value { return Value{Type: TypeString, str: s} }
func boolValue(b bool) Value {
	v := Value{Type: TypeBool}
	if b {
		v.bits = 1
	}
	return v
}
