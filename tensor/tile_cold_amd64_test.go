package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkTileQx8Cold runs batch-64 products of the 110M model's FFN up
// shape (2048×768) over enough different Q4_0/Q8_0/Q4_K weight matrices
// to exceed the L3 (so each product reads its weights from memory, as a
// prompt's layers do), on one thread, with and without prefetching the
// next eight rows during each group (prefetchQx8); cpu-ns/op is the
// thread's CPU time per product.
//
//	go test -run '^$' -bench 'TileQx8Cold' -count 4 -benchtime 48x ./tensor/
func BenchmarkTileQx8Cold(b *testing.B) {
	const rows, cols, batch = 2048, 768, 64
	r := rand.New(rand.NewPCG(65, 66))
	x := randF32(r, batch*cols)
	dst := make([]float32, batch*rows)
	for _, typ := range []Type{Q4_0, Q8_0, Q4_K} {
		ti, _ := typ.Info()
		rb := cols / ti.BlockSize * ti.BlockBytes
		layers := (48 << 20) / (rows * rb) // 48 MiB of weights
		ws := make([]Matrix, layers)
		for i := range ws {
			ws[i] = Matrix{Type: typ, Rows: rows, Cols: cols, RowBytes: rb, Data: RandomBlocks(typ, rows*cols/ti.BlockSize, r)}
		}
		for _, pf := range []bool{false, true} {
			b.Run(fmt.Sprintf("%v/prefetch=%v", typ, pf), func(b *testing.B) {
				defer func(v bool) { prefetchQx8 = v }(prefetchQx8)
				prefetchQx8 = pf
				p := NewPool(1)
				defer p.Close()
				defer cpuMetric(b)()
				i := 0
				for b.Loop() {
					p.MatMul(dst, ws[i%layers], x, batch)
					i++
				}
				reportFlops(b, 2*rows*cols*batch)
			})
		}
	}
}
