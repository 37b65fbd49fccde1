package membw

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// read1AVX2 xors the 32-byte words of n bytes at p (n a multiple of 256),
// eight loads per iteration from one stream.
//
//go:noescape
func read1AVX2(p *byte, n int) uint64

// read4AVX2 xors the 32-byte words of n bytes at p (n a multiple of 256)
// as four streams, one per quarter, two loads from each per iteration.
//
//go:noescape
func read4AVX2(p *byte, n int) uint64

func methods() []method {
	ms := []method{{"scalar", sumScalar}}
	if cpu.X86.HasAVX2 {
		ms = append(ms,
			method{"avx2 1 stream", func(b []byte) uint64 { return read1AVX2(unsafe.SliceData(b), len(b)/chunk*chunk) }},
			method{"avx2 4 streams", func(b []byte) uint64 { return read4AVX2(unsafe.SliceData(b), len(b)/chunk*chunk) }})
	}
	return ms
}
