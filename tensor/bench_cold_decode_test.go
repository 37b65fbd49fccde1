package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// BenchmarkDecodeCold measures batch-1 MatMul's per-row work exactly as
// decode runs it (Pool.opRange: farRows and the tail) on 128 MiB of
// 768-column rows per type (from DRAM), with 1 and 2 threads each on its
// own half, in per-thread CPU time (a thread descheduled by another
// process does not count against the kernel), best of the iterations, as
// GB/s of weights summed over the threads. Types are interleaved within
// each iteration; "-old" is a type without its decode kernel (the
// four-row kernel of its set, decodeKernels off).
//
//	go test -run '^$' -bench 'DecodeCold' -benchtime 5x ./tensor/
func BenchmarkDecodeCold(b *testing.B) {
	const cols, total = 768, 128 << 20
	defer func(v bool) { decodeKernels = v }(decodeKernels)
	type variant struct {
		t   Type
		old bool
	}
	types := []variant{{F32, false}, {F16, false}, {Q8_0, false}, {Q4_0, false}, {Q4_0, true}, {Q4_K, false}, {Q4_K, true}}
	r := rand.New(rand.NewPCG(13, 13))
	x := randF32(r, cols)
	type setup struct {
		p    *Pool
		rows int
	}
	var ss []setup
	for _, v := range types {
		typ := v.t
		decodeKernels = !v.old
		ti, _ := typ.Info()
		rb := cols / ti.BlockSize * ti.BlockBytes
		rows := total / rb &^ 63
		w := Matrix{Type: typ, Rows: rows, Cols: cols, RowBytes: rb, Data: RandomBlocks(typ, rows*cols/ti.BlockSize, r)}
		p := NewPool(2)
		defer p.Close()
		p.prepare(make([]float32, rows), w, x, 1)
		ss = append(ss, setup{p, rows})
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			best := make([]float64, len(types))
			for b.Loop() {
				for k, s := range ss {
					op := &s.p.ops[0]
					per := s.rows / threads
					cpu := make([]float64, threads)
					var wg sync.WaitGroup
					for t := range threads {
						wg.Add(1)
						go func() {
							defer wg.Done()
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
							c0, _ := threadCPU()
							s.p.opRange(op, t, t*per, (t+1)*per)
							c1, _ := threadCPU()
							cpu[t] = (c1 - c0).Seconds()
						}()
					}
					wg.Wait()
					gbs := 0.0
					for _, c := range cpu {
						gbs += float64(per*op.w.RowBytes) / c / 1e9
					}
					best[k] = max(best[k], gbs)
				}
			}
			for k, v := range types {
				name := v.t.String()
				if v.old {
					name += "-old"
				}
				b.ReportMetric(best[k], name+"-GB/s")
			}
		})
	}
}
