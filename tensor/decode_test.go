package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulsMixedWidths: products of one launch that read different
// prefixes of x (different column counts) get their own activation
// encoding and decode tables, so each equals its separate MatMul bit for
// bit, with one and two threads and batch 1 (the decode kernels' case).
func TestMatMulsMixedWidths(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	mixes := [][]struct {
		t    Type
		cols int
	}{
		{{Q4_0, 512}, {Q4_0, 256}, {Q4_0, 512}},
		{{Q4_K, 512}, {Q4_K, 256}},
		{{Q8_0, 256}, {Q4_0, 512}},
	}
	for _, threads := range []int{1, 2} {
		p, ref := NewPool(threads), NewPool(1)
		for _, mix := range mixes {
			x := randVec(rng, 512, 1)
			prods := make([]Product, len(mix))
			want := make([][]float32, len(mix))
			for i, m := range mix {
				w := randMatrix(rng, m.t, 64+4*i, m.cols)
				prods[i] = Product{Dst: make([]float32, w.Rows), W: w}
				want[i] = make([]float32, w.Rows)
				ref.MatMul(want[i], w, x[:m.cols], 1)
			}
			out := make([]Launch, len(mix))
			p.MatMuls(x, 1, prods, out)
			for i := range prods {
				for j, v := range prods[i].Dst {
					if math.Float32bits(v) != math.Float32bits(want[i][j]) {
						t.Fatalf("t%d %v: product %d row %d = %v, separate MatMul %v", threads, mix, i, j, v, want[i][j])
					}
				}
			}
		}
		p.Close()
		ref.Close()
	}
}
