package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulBatchedTiles holds the batched paths of MatMul (F32/F16 four
// rows × several activations, Q4_K one row × several quantized
// activations; used when batch > 1) to per-row
// MatMul calls bit for bit, for every compiled kernel set, with row counts
// that leave a partial group of four, batches that leave 0, 1 or 2
// activations after the groups of three, odd widths, misaligned F32 data
// (decoded through scratch) and two threads. Other types take the per-row
// loop; Q4_K, Q4_0 and Q8_0 stand for the integer batched kernels.
func TestMatMulBatchedTiles(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, name := range KernelNames() {
		for _, typ := range []Type{F32, F16, Q4_K, Q4_0, Q8_0} {
			shapes := []struct{ rows, cols int }{{13, 40}, {9, 77}, {8, 768}}
			switch typ {
			case Q4_K:
				shapes = []struct{ rows, cols int }{{13, 256}, {6, 768}}
			case Q4_0, Q8_0:
				shapes = []struct{ rows, cols int }{{13, 64}, {6, 96}, {8, 768}}
			}
			for _, sh := range shapes {
				for _, batch := range []int{2, 3, 7, 9} {
					for _, mis := range []int{0, 1} {
						t.Run(fmt.Sprintf("%s/%v/%dx%d/b%d/mis%d", name, typ, sh.rows, sh.cols, batch, mis), func(t *testing.T) {
							prev := KernelName()
							if err := UseKernels(name); err != nil {
								t.Fatal(err)
							}
							defer UseKernels(prev)
							ti, _ := typ.Info()
							rb := sh.cols / ti.BlockSize * ti.BlockBytes
							data := make([]byte, mis+sh.rows*rb)[mis:]
							copy(data, RandomBlocks(typ, sh.rows*sh.cols/ti.BlockSize, r))
							w := Matrix{Type: typ, Rows: sh.rows, Cols: sh.cols, RowBytes: rb, Data: data}
							x := randVec(r, batch*sh.cols, 1)
							p := NewPool(2)
							defer p.Close()
							got := make([]float32, batch*sh.rows)
							p.MatMul(got, w, x, batch)
							one := make([]float32, sh.rows)
							for b := range batch {
								p.MatMul(one, w, x[b*sh.cols:(b+1)*sh.cols], 1)
								for i, want := range one {
									if g := got[b*sh.rows+i]; math.Float32bits(g) != math.Float32bits(want) {
										t.Fatalf("activation %d row %d: batched %v, alone %v", b, i, g, want)
									}
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestMatMulBatchedNoAllocs: the batched paths allocate nothing per call
// once the pool's scratch has grown (a prompt's steady state).
func TestMatMulBatchedNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, typ := range []Type{F32, F16, Q4_K, Q4_0, Q8_0} {
		ti, _ := typ.Info()
		const rows, cols, batch = 16, 512, 7
		w := Matrix{Type: typ, Rows: rows, Cols: cols, RowBytes: cols / ti.BlockSize * ti.BlockBytes}
		w.Data = RandomBlocks(typ, rows*cols/ti.BlockSize, r)
		x := randVec(r, batch*cols, 1)
		dst := make([]float32, batch*rows)
		p := NewPool(2)
		p.MatMul(dst, w, x, batch) // grow scratch, build the kernel name
		if n := testing.AllocsPerRun(20, func() { p.MatMul(dst, w, x, batch) }); n != 0 {
			t.Errorf("%v: %v allocations per batched MatMul", typ, n)
		}
		p.Close()
	}
}
