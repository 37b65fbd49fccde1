package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// BenchmarkDotF32Cold streams 128 MiB of 768-value F32 rows (four times
// the L3, so from DRAM, as decode does) through the one-pass two-row
// kernel on consecutive rows (x2) and on far rows (x2far, x2far4), 1 and 2
// threads each on its own share, and reports each one's best GB/s.
//
//	go test -run '^$' -bench 'DotF32Cold' -benchtime 10x ./tensor/
func BenchmarkDotF32Cold(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2/FMA")
	}
	const cols, total = 768, 128 << 20
	rows := total / (4 * cols) &^ 7
	r := rand.New(rand.NewPCG(9, 9))
	w := randF32(r, rows*cols+16*cols)
	x := randF32(r, cols)
	type variant struct {
		name string
		run  func(w []float32, rows int)
	}
	vs := []variant{
		{"x2", func(w []float32, rows int) {
			var o [2]float32
			for i := 0; i+2 <= rows; i += 2 {
				dotF32x2AVX2(&w[i*cols], cols, &x[0], cols, &o)
			}
		}},
		{"x2far", func(w []float32, rows int) { // rows i and i+rows/2: two long streams
			var o [2]float32
			h := rows / 2
			for i := 0; i < h; i++ {
				dotF32x2AVX2(&w[i*cols], h*cols, &x[0], cols, &o)
			}
		}},
		{"x2far4", func(w []float32, rows int) { // four long streams
			var o [2]float32
			q := rows / 4
			for i := 0; i < q; i++ {
				dotF32x2AVX2(&w[i*cols], 2*q*cols, &x[0], cols, &o)
				dotF32x2AVX2(&w[(i+q)*cols], 2*q*cols, &x[0], cols, &o)
			}
		}},
		// F16 for reference (the same bytes read as half rows): one pass
		// over two rows (sixteen registers) was ~10% slower than this, so
		// F16 is not bound by the two-pass pattern.
		{"f16x4", func(w []float32, rows int) {
			h := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 4*rows*cols)
			var o [4]float32
			for i := 0; i+4 <= 2*rows; i += 4 {
				dotF16x4AVX2(&h[i*2*cols], 2*cols, &x[0], cols, &o)
			}
		}},
	}
	// Interleaved A/B: every iteration runs each variant once; the best
	// per-thread CPU time of each (threads busy on a shared machine are
	// descheduled, which wall time would count) gives its GB/s.
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			per := rows / threads &^ 7
			best := make([]float64, len(vs))
			for b.Loop() {
				for k, v := range vs {
					var wg sync.WaitGroup
					cpu := make([]float64, threads)
					for t := range threads {
						wg.Add(1)
						go func() {
							defer wg.Done()
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
							c0, _ := threadCPU()
							v.run(w[t*per*cols:], per)
							c1, _ := threadCPU()
							cpu[t] = (c1 - c0).Seconds()
						}()
					}
					wg.Wait()
					// GB/s of one thread on its share, summed over threads.
					gbs := 0.0
					for _, c := range cpu {
						gbs += float64(per*cols*4) / c / 1e9
					}
					best[k] = max(best[k], gbs)
				}
			}
			for k, v := range vs {
				b.ReportMetric(best[k], v.name+"-GB/s")
			}
		})
	}
}
