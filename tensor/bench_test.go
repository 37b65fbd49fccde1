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
// the MatMul benchmarks measure streaming a whole matrix.
//
//	go test -run '^$' -bench 'Kernel' -benchtime 200ms ./tensor/

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
