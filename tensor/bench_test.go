package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Kernel benchmarks, per kernel set ("go" and, on amd64 with AVX2, "avx2")
// and per type. b.SetBytes is the weight bytes one call reads, so the
// reported MB/s is weight bandwidth; GFLOP/s counts a multiply-add as two
// operations. The row is 4096 values (in cache): these measure the kernel,
// the MatMul benchmarks measure streaming a whole matrix through the Pool.
//
//	go test -run '^$' -bench 'Kernel' -benchtime 200ms ./tensor/
//	go test -run '^$' -bench 'MatMul/Q4_0/.*/b1' -benchtime 100x ./tensor/
//
// The machine is shared: compare sets or variants side by side in one run
// (-count N, take the best), never absolute figures across runs.

const benchCols = 4096

// benchSets returns the kernel sets compiled in, "go" first.
func benchSets() []*kernelSet {
	out := []*kernelSet{&goKernels}
	for _, name := range KernelNames() {
		if name != "go" {
			out = append(out, kernelSets[name])
		}
	}
	return out
}

func reportFlops(b *testing.B, flopsPerOp float64) {
	b.ReportMetric(flopsPerOp*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

var sinkF32 float32

func BenchmarkKernelFloat(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randF32(r, benchCols)
	y := randF32(r, benchCols)
	f16 := RandomBlocks(F16, benchCols, r)
	bf := RandomBlocks(BF16, benchCols, r)
	for _, ks := range benchSets() {
		b.Run(ks.name+"/dotF32", func(b *testing.B) {
			b.SetBytes(4 * benchCols)
			for b.Loop() {
				sinkF32 += ks.dotF32(x, y)
			}
			reportFlops(b, 2*benchCols)
		})
		b.Run(ks.name+"/axpyF32", func(b *testing.B) {
			b.SetBytes(4 * benchCols)
			for b.Loop() {
				ks.axpyF32(1e-7, x, y)
			}
			reportFlops(b, 2*benchCols)
		})
		b.Run(ks.name+"/scaleF32", func(b *testing.B) {
			b.SetBytes(4 * benchCols)
			for b.Loop() {
				ks.scaleF32(1, y)
			}
			reportFlops(b, benchCols)
		})
		b.Run(ks.name+"/dotF16", func(b *testing.B) {
			b.SetBytes(2 * benchCols)
			for b.Loop() {
				sinkF32 += ks.dotF16(f16, x)
			}
			reportFlops(b, 2*benchCols)
		})
		b.Run(ks.name+"/dotBF16", func(b *testing.B) {
			b.SetBytes(2 * benchCols)
			for b.Loop() {
				sinkF32 += ks.dotBF16(bf, x)
			}
			reportFlops(b, 2*benchCols)
		})
	}
}

func BenchmarkKernelDotQ(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	x := randF32(r, benchCols)
	for _, typ := range Types() {
		if goKernels.dotQ[typ] == nil {
			continue
		}
		ti, _ := typ.Info()
		nb := benchCols / ti.BlockSize
		w := RandomBlocks(typ, nb, r)
		vt := vecDotType(typ)
		vti, _ := vt.Info()
		xq := make([]byte, benchCols/vti.BlockSize*vti.BlockBytes)
		if err := QuantizeRow(vt, x, xq); err != nil {
			b.Fatal(err)
		}
		for _, ks := range benchSets() {
			b.Run(fmt.Sprintf("%s/%v", ks.name, typ), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					sinkF32 += ks.dotQ[typ](w, xq, nb)
				}
				reportFlops(b, 2*benchCols)
			})
		}
	}
}

func BenchmarkKernelQuantize(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	x := randF32(r, benchCols)
	dst := make([]byte, benchCols/QK_K*q8KBlockBytes+benchCols)
	for _, ks := range benchSets() {
		for _, q := range []struct {
			name string
			f    func([]float32, []byte)
		}{{"Q8_0", ks.quantizeQ8_0}, {"Q8_1", ks.quantizeQ8_1}, {"Q8_K", ks.quantizeQ8_K}} {
			b.Run(ks.name+"/"+q.name, func(b *testing.B) {
				b.SetBytes(4 * benchCols) // float32 input read
				for b.Loop() {
					q.f(x, dst)
				}
			})
		}
	}
}

// BenchmarkKernelDotQx4 is the four-row dot: four 4096-value rows against
// one activation row per call.
func BenchmarkKernelDotQx4(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	x := randF32(r, benchCols)
	for _, typ := range Types() {
		if goKernels.dotQ[typ] == nil {
			continue
		}
		ti, _ := typ.Info()
		nb := benchCols / ti.BlockSize
		w := RandomBlocks(typ, 4*nb, r)
		vt := vecDotType(typ)
		vti, _ := vt.Info()
		xq := make([]byte, benchCols/vti.BlockSize*vti.BlockBytes)
		if err := QuantizeRow(vt, x, xq); err != nil {
			b.Fatal(err)
		}
		var out [4]float32
		for _, ks := range benchSets() {
			b.Run(fmt.Sprintf("%s/%v", ks.name, typ), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					ks.dotQx4[typ](w, nb*ti.BlockBytes, xq, nb, &out)
				}
				reportFlops(b, 4*2*benchCols)
			})
		}
	}
}

// matmulShapes are the 110M LLaMA's matrices (rows × cols): attention
// projections, FFN gate/up, FFN down, and the tied LM head.
var matmulShapes = []struct{ rows, cols int }{{768, 768}, {2048, 768}, {768, 2048}, {32000, 768}}

// BenchmarkMatMul runs Pool.MatMul at the 110M shapes for the main weight
// types, batch 1 (generation) and 64 (prompt), 1 and 2 threads, with the
// active kernels (INFERTRACE_KERNELS=go for the fallback). MB/s is weight
// bytes streamed per second.
//
//	go test -run '^$' -bench 'MatMul' -benchtime 20x ./tensor/
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, typ := range []Type{F32, F16, Q8_0, Q4_0, Q4_K, Q6_K} {
		for _, sh := range matmulShapes {
			ti, _ := typ.Info()
			w := Matrix{Type: typ, Rows: sh.rows, Cols: sh.cols, RowBytes: sh.cols / ti.BlockSize * ti.BlockBytes}
			w.Data = RandomBlocks(typ, sh.rows*sh.cols/ti.BlockSize, r)
			for _, batch := range []int{1, 64} {
				x := randF32(r, batch*sh.cols)
				dst := make([]float32, batch*sh.rows)
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%v/%dx%d/b%d/t%d", typ, sh.rows, sh.cols, batch, threads)
					b.Run(name, func(b *testing.B) {
						p := NewPool(threads)
						defer p.Close()
						b.SetBytes(int64(len(w.Data)))
						for b.Loop() {
							p.MatMul(dst, w, x, batch)
						}
						reportFlops(b, float64(2*sh.rows*sh.cols*batch))
					})
				}
			}
		}
	}
}

// BenchmarkKernelFloatx4 is the four-row F32/F16 dot (4096 values a row).
func BenchmarkKernelFloatx4(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	x := randF32(r, benchCols)
	w := randF32(r, 4*benchCols)
	h := RandomBlocks(F16, 4*benchCols, r)
	var out [4]float32
	for _, ks := range benchSets() {
		b.Run(ks.name+"/dotF32x4", func(b *testing.B) {
			b.SetBytes(4 * 4 * benchCols)
			for b.Loop() {
				ks.dotF32x4(w, benchCols, x, &out)
			}
			reportFlops(b, 4*2*benchCols)
		})
		b.Run(ks.name+"/dotF16x4", func(b *testing.B) {
			b.SetBytes(4 * 2 * benchCols)
			for b.Loop() {
				ks.dotF16x4(h, 2*benchCols, x, &out)
			}
			reportFlops(b, 4*2*benchCols)
		})
	}
}
