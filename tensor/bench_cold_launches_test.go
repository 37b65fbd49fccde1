package tensor

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// decodeLayers returns the weights of a 110M-shaped decode pass of type
// typ: per layer the fused Q/K/V, the output projection, the fused
// gate/up and the down projection, then the LM head; nl layers.
func decodeLayers(r *rand.Rand, typ Type, nl int) [][]Matrix {
	ti, _ := typ.Info()
	mk := func(rows, cols int) Matrix {
		rb := cols / ti.BlockSize * ti.BlockBytes
		return Matrix{Type: typ, Rows: rows, Cols: cols, RowBytes: rb, Data: RandomBlocks(typ, rows*cols/ti.BlockSize, r)}
	}
	var gs [][]Matrix
	for range nl {
		gs = append(gs, []Matrix{mk(768, 768), mk(768, 768), mk(768, 768)}, []Matrix{mk(768, 768)},
			[]Matrix{mk(2048, 768), mk(2048, 768)}, []Matrix{mk(768, 2048)})
	}
	return append(gs, []Matrix{mk(32000, 768)})
}

// BenchmarkMatVecLaunches asks what decode's many launches cost: a
// 110M-shaped decode pass (six layers and the LM head, launched as decode
// launches them: fused Q/K/V, output, fused gate/up, down; 25 launches)
// against one launch over a single matrix of the same bytes, interleaved,
// two threads; each one's median and best pass in GB/s of weights.
//
//	go test -run '^$' -bench 'MatVecLaunches' -benchtime 12x ./tensor/
func BenchmarkMatVecLaunches(b *testing.B) {
	for _, typ := range []Type{F32, Q8_0, Q4_K} {
		b.Run(typ.String(), func(b *testing.B) {
			r := rand.New(rand.NewPCG(14, 14))
			gs := decodeLayers(r, typ, 6)
			bytes := 0
			for _, g := range gs {
				for _, m := range g {
					bytes += len(m.Data)
				}
			}
			ti, _ := typ.Info()
			rb := 768 / ti.BlockSize * ti.BlockBytes
			big := Matrix{Type: typ, Rows: bytes / rb, Cols: 768, RowBytes: rb, Data: RandomBlocks(typ, bytes/rb*768/ti.BlockSize, r)}
			x := randF32(r, 2048)
			dsts := [3][]float32{make([]float32, big.Rows), make([]float32, 32000), make([]float32, 32000)}
			prods := make([]Product, 3)
			out := make([]Launch, 3)
			p := NewPool(2)
			defer p.Close()
			var many, one []time.Duration
			for b.Loop() {
				t0 := time.Now()
				for _, g := range gs {
					for i, m := range g {
						prods[i] = Product{Dst: dsts[i][:m.Rows], W: m}
					}
					p.MatMuls(x[:g[0].Cols], 1, prods[:len(g)], out)
				}
				many = append(many, time.Since(t0))
				t0 = time.Now()
				p.MatMul(dsts[0], big, x[:768], 1)
				one = append(one, time.Since(t0))
			}
			for _, v := range []struct {
				name string
				d    []time.Duration
			}{{"launches", many}, {"one", one}} {
				slices.Sort(v.d)
				b.ReportMetric(float64(bytes)/v.d[len(v.d)/2].Seconds()/1e9, v.name+"-med-GB/s")
				b.ReportMetric(float64(bytes)/v.d[0].Seconds()/1e9, v.name+"-best-GB/s")
			}
		})
	}
}
