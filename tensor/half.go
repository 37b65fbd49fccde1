package tensor

import (
	"encoding/binary"
	"math"

	"github.com/x448/float16"
)

// f16Table maps every IEEE half bit pattern to its float32 value; a lookup
// is much cheaper than the bit manipulation in the dot-product inner loops.
// It is an array, not a pointer, so a lookup is one indexed load.
var f16Table = func() (t [1 << 16]float32) {
	for i := range t {
		t[i] = float16.Frombits(uint16(i)).Float32()
	}
	return t
}()

// fp16 decodes the little-endian half at b[0:2].
func fp16(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

// putFP16 encodes v as a little-endian half at b[0:2], rounding to nearest
// even (as ggml's GGML_FP32_TO_FP16).
func putFP16(b []byte, v float32) {
	binary.LittleEndian.PutUint16(b, uint16(float16.Fromfloat32(v)))
}

// bf16 decodes the little-endian bfloat16 at b[0:2]: the top half of a float32.
func bf16(b []byte) float32 {
	return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
}

// putBF16 encodes v as bfloat16 at b[0:2] like ggml's GGML_FP32_TO_BF16:
// round to nearest even, NaN kept quiet.
func putBF16(b []byte, v float32) {
	u := math.Float32bits(v)
	var h uint16
	if u&0x7fffffff > 0x7f800000 { // NaN: force quiet
		h = uint16(u>>16) | 64
	} else {
		h = uint16((u + (0x7fff + (u>>16)&1)) >> 16)
	}
	binary.LittleEndian.PutUint16(b, h)
}

// f32 decodes the little-endian float32 at b[0:4].
func f32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
