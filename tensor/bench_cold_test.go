package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkMatVecCold is decode's real access pattern: one matvec per
// matrix over a set of matrices four times the size of the last-level
// cache, so every weight byte comes from DRAM as it does for a 110M model
// (BenchmarkMatMul's single matrix stays in L2/L3 between calls). MB/s
// is weight bytes per second: compare it with internal/membw's read
// bandwidth (infertrace bench --roofline) for the same thread count.
//
//	go test -run '^$' -bench 'MatVecCold' -benchtime 40x ./tensor/
func BenchmarkMatVecCold(b *testing.B) {
	const total = 128 << 20 // bytes of weights cycled through
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range []Type{F32, F16} {
		for _, sh := range matmulShapes {
			ti, _ := typ.Info()
			rb := sh.cols / ti.BlockSize * ti.BlockBytes
			one := RandomBlocks(typ, sh.rows*sh.cols/ti.BlockSize, r)
			n := max(2, total/len(one))
			ws := make([]Matrix, n)
			for i := range ws {
				data := make([]byte, len(one))
				copy(data, one) // distinct memory, same values
				ws[i] = Matrix{Type: typ, Rows: sh.rows, Cols: sh.cols, RowBytes: rb, Data: data}
			}
			x := randF32(r, sh.cols)
			dst := make([]float32, sh.rows)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/%dx%d/t%d", typ, sh.rows, sh.cols, threads), func(b *testing.B) {
					p := NewPool(threads)
					defer p.Close()
					b.SetBytes(int64(len(one)))
					i := 0
					for b.Loop() {
						p.MatMul(dst, ws[i], x, 1)
						i = (i + 1) % n
					}
				})
			}
		}
	}
}

// BenchmarkMatVecFar is an interleaved A/B of farRows (four long streams
// per worker) against consecutive four-row groups, through Pool.MatMul
// over 128 MiB of matrices (from DRAM); each reports its best GB/s.
//
//	go test -run '^$' -bench 'MatVecFar' -benchtime 20x ./tensor/
func BenchmarkMatVecFar(b *testing.B) {
	const total = 128 << 20
	r := rand.New(rand.NewPCG(11, 11))
	for _, typ := range []Type{F32, F16, Q8_0, Q4_0, Q4_K} {
		for _, sh := range matmulShapes {
			ti, _ := typ.Info()
			rb := sh.cols / ti.BlockSize * ti.BlockBytes
			one := RandomBlocks(typ, sh.rows*sh.cols/ti.BlockSize, r)
			n := max(2, total/len(one))
			ws := make([]Matrix, n)
			for i := range ws {
				data := make([]byte, len(one))
				copy(data, one)
				ws[i] = Matrix{Type: typ, Rows: sh.rows, Cols: sh.cols, RowBytes: rb, Data: data}
			}
			x := randF32(r, sh.cols)
			dst := make([]float32, sh.rows)
			b.Run(fmt.Sprintf("%v/%dx%d/t2", typ, sh.rows, sh.cols), func(b *testing.B) {
				defer func() { farStreams = true }()
				p := NewPool(2)
				defer p.Close()
				var best [2]time.Duration
				i := 0
				for b.Loop() {
					for k, far := range []bool{false, true} {
						farStreams = far
						t0 := time.Now()
						for range n { // one pass over all the matrices
							p.MatMul(dst, ws[i], x, 1)
							i = (i + 1) % n
						}
						if d := time.Since(t0); best[k] == 0 || d < best[k] {
							best[k] = d
						}
					}
				}
				gb := float64(n*len(one)) / 1e9
				b.ReportMetric(gb/best[0].Seconds(), "near-GB/s")
				b.ReportMetric(gb/best[1].Seconds(), "far-GB/s")
			})
		}
	}
}
