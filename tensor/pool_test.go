package tensor

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

func randMatrix(rng *rand.Rand, t Type, rows, cols int) Matrix {
	ti, _ := t.Info()
	rb, err := RowBytes(t, cols)
	if err != nil {
		panic(err)
	}
	return Matrix{Type: t, Rows: rows, Cols: cols, RowBytes: rb, Data: RandomBlocks(t, rows*cols/ti.BlockSize, rng)}
}

// TestMatMul checks every weight type on both paths, for several batch
// sizes and thread counts: results are bit-identical for every thread
// count, and match a float64 reference — Σ w·x for the float path,
// Σ w·x̃ over the dequantized quantized activations for the integer path.
func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const rows, cols = 67, 512 // odd rows: uneven chunks
	pools := []*Pool{NewPool(1), NewPool(2), NewPool(3), NewPool(8)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, wt := range Types() {
		for _, floatPath := range []bool{false, true} {
			name := wt.String()
			if floatPath {
				name += "/float"
			}
			t.Run(name, func(t *testing.T) {
				w := randMatrix(rng, wt, rows, cols)
				wf := make([]float32, rows*cols)
				if err := DequantizeRow(wt, w.Data, wf); err != nil {
					t.Fatal(err)
				}
				for _, batch := range []int{1, 3} {
					x := randVec(rng, batch*cols, 1)
					// Reference activations: the exact ones, or what the
					// integer path sees after quantization.
					xr := x
					vt := vecDotType(wt)
					quant := !floatPath && vt != F32 && goKernels.dotQ[wt] != nil
					if !floatPath && (wt == F16 || wt == BF16) {
						// llama.cpp's path rounds the activations to the
						// weight type first.
						vt, quant = wt, true
					}
					tol := 1e-5
					if quant {
						vi, _ := vt.Info()
						xq := make([]byte, batch*cols/vi.BlockSize*vi.BlockBytes)
						xr = make([]float32, len(x))
						if err := QuantizeRow(vt, x, xq); err != nil {
							t.Fatal(err)
						}
						if err := DequantizeRow(vt, xq, xr); err != nil {
							t.Fatal(err)
						}
						if vt == Q8_1 {
							tol = 1e-3
						}
					}
					var first []float32
					for _, p := range pools {
						p.FloatPath = floatPath
						dst := make([]float32, batch*rows)
						l := p.MatMul(dst, w, x, batch)
						if first == nil {
							first = dst
							for b := range batch {
								for r := range rows {
									var ref, mag float64
									for c := range cols {
										v := float64(wf[r*cols+c]) * float64(xr[b*cols+c])
										ref += v
										mag += math.Abs(v)
									}
									if d := math.Abs(float64(dst[b*rows+r]) - ref); d > tol*mag {
										t.Fatalf("batch %d row %d: %g, reference %g (|diff| %g > %g)", b, r, dst[b*rows+r], ref, d, tol*mag)
									}
								}
							}
						} else {
							for i := range dst {
								if math.Float32bits(dst[i]) != math.Float32bits(first[i]) {
									t.Fatalf("%d threads: dst[%d] = %g, 1 thread gave %g", p.Threads(), i, dst[i], first[i])
								}
							}
						}
						// A batch gives, bit for bit, what one call per
						// activation row gives.
						one := make([]float32, rows)
						for b := range batch {
							p.MatMul(one, w, x[b*cols:(b+1)*cols], 1)
							for r := range one {
								if math.Float32bits(one[r]) != math.Float32bits(dst[b*rows+r]) {
									t.Fatalf("batch row %d, row %d: %g alone, %g in the batch", b, r, one[r], dst[b*rows+r])
								}
							}
						}
						wantWorkers := min(p.Threads(), rows)
						if l.Workers > wantWorkers || l.Workers*l.RowsPerWorker < rows || l.Strategy != "rows" {
							t.Fatalf("%d threads: launch %+v", p.Threads(), l)
						}
						if l.FLOPs != int64(2*rows*cols*batch) || l.BytesRead != int64(rows*w.RowBytes+4*batch*cols) {
							t.Fatalf("launch counts %+v", l)
						}
						if l.Kernel == "" {
							t.Fatal("empty kernel name")
						}
					}
				}
			})
		}
	}
}

func TestMatMulKernelNames(t *testing.T) {
	defer func(k *kernelSet) { active = k }(active)
	ForceGo()
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		t     Type
		batch int
		float bool
		want  string
	}{
		{Q8_0, 1, false, "matvec_q8_0_go"},
		{Q4_K, 2, false, "matmul_q4_k_go"},
		{Q4_0, 1, true, "matvec_q4_0_deq_go"},
		{F32, 1, false, "matvec_f32_go"},
		{BF16, 4, true, "matmul_bf16_go"},
	}
	for _, tc := range tests {
		w := randMatrix(rng, tc.t, 4, 256)
		p.FloatPath = tc.float
		l := p.MatMul(make([]float32, 4*tc.batch), w, randVec(rng, 256*tc.batch, 1), tc.batch)
		if l.Kernel != tc.want {
			t.Errorf("%s batch %d float %v: kernel %q, want %q", tc.t, tc.batch, tc.float, l.Kernel, tc.want)
		}
	}
}

// TestMatMulNoAlloc: a warmed-up matvec/matmul allocates nothing.
func TestMatMulNoAlloc(t *testing.T) {
	if testing.Short() {
		t.Skip("alloc counting")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	p := NewPool(2)
	defer p.Close()
	for _, wt := range []Type{F32, F16, Q8_0, Q4_1, Q4_K, Q6_K} {
		for _, floatPath := range []bool{false, true} {
			for _, batch := range []int{1, 4} {
				w := randMatrix(rng, wt, 64, 512)
				x := randVec(rng, batch*512, 1)
				dst := make([]float32, batch*64)
				p.FloatPath = floatPath
				p.MatMul(dst, w, x, batch) // warm up scratch and names
				if n := testing.AllocsPerRun(20, func() { p.MatMul(dst, w, x, batch) }); n != 0 {
					t.Errorf("%s float=%v batch %d: %v allocations per MatMul", wt, floatPath, batch, n)
				}
			}
		}
	}
}

func TestMatMulBadShapesPanic(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	w := Matrix{Type: Q8_0, Rows: 2, Cols: 64, RowBytes: 68, Data: make([]byte, 136)}
	tests := []struct {
		name  string
		dst   int
		w     Matrix
		x     int
		batch int
	}{
		{"short x", 2, w, 63, 1},
		{"short dst", 1, w, 64, 1},
		{"short data", 2, Matrix{Type: Q8_0, Rows: 2, Cols: 64, RowBytes: 68, Data: make([]byte, 100)}, 64, 1},
		{"bad row bytes", 2, Matrix{Type: Q8_0, Rows: 2, Cols: 64, RowBytes: 64, Data: make([]byte, 136)}, 64, 1},
		{"partial block", 2, Matrix{Type: Q8_0, Rows: 2, Cols: 60, RowBytes: 64, Data: make([]byte, 136)}, 64, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			p.MatMul(make([]float32, tc.dst), tc.w, make([]float32, tc.x), tc.batch)
		})
	}
	// The pool still works after a panicking call.
	if l := p.MatMul(make([]float32, 2), w, make([]float32, 64), 1); l.Workers != 2 {
		t.Fatalf("after panics: %+v", l)
	}
}

// TestParallel: every index is visited exactly once, for n below, at and
// above the thread count.
func TestParallel(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 3, 5, 17, 1000} {
			hits := make([]int32, n)
			var mu sync.Mutex
			calls := 0
			p.Parallel(n, func(start, end int) {
				mu.Lock()
				calls++
				mu.Unlock()
				for i := start; i < end; i++ {
					hits[i]++
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("threads %d n %d: index %d visited %d times", threads, n, i, h)
				}
			}
			if calls > threads || (n > 0 && calls == 0) {
				t.Fatalf("threads %d n %d: %d chunks", threads, n, calls)
			}
		}
		p.Close()
		p.Close() // idempotent
		ran := 0
		p.Parallel(10, func(s, e int) { ran += e - s })
		if ran != 10 {
			t.Fatalf("closed pool ran %d of 10", ran)
		}
	}
	if p := NewPool(0); p.Threads() != runtime.GOMAXPROCS(0) {
		t.Fatalf("NewPool(0).Threads() = %d", p.Threads())
	} else {
		p.Close()
	}
}

// TestPoolConcurrentCallers: MatMul and Parallel from several goroutines
// on one pool are serialized and give the single-caller results (run with
// -race).
func TestPoolConcurrentCallers(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	p := NewPool(3)
	defer p.Close()
	w := randMatrix(rng, Q4_K, 40, 512)
	x := randVec(rng, 512, 1)
	want := make([]float32, 40)
	p.MatMul(want, w, x, 1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]float32, 40)
			for range 10 {
				if g%2 == 0 {
					p.MatMul(dst, w, x, 1)
					for i := range dst {
						if dst[i] != want[i] {
							t.Errorf("goroutine %d: dst[%d] %g, want %g", g, i, dst[i], want[i])
							return
						}
					}
				} else {
					sum := make([]float32, 3)
					p.Parallel(3, func(s, e int) {
						for i := s; i < e; i++ {
							sum[i] = float32(i)
						}
					})
				}
			}
		}()
	}
	wg.Wait()
}

// TestVectorOps checks RMSNorm, Softmax, SiLU, SiLUMul, Dot, Axpy and
// Scale against float64 formulas.
func TestVectorOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{2, 7, 64, 333} {
		x := randVec(rng, n, 3)
		wgt := randVec(rng, n, 1)
		const eps = 1e-5
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Sqrt(ss/float64(n)+eps)
		dst := make([]float32, n)
		RMSNorm(dst, x, wgt, eps)
		for i := range x {
			want := float64(x[i]) * inv * float64(wgt[i])
			if math.Abs(float64(dst[i])-want) > 1e-6*(math.Abs(want)+1e-3) {
				t.Fatalf("RMSNorm n=%d [%d]: %g, want %g", n, i, dst[i], want)
			}
		}
		RMSNorm(dst, x, nil, eps)
		for i := range x {
			if want := float64(x[i]) * inv; math.Abs(float64(dst[i])-want) > 1e-6*(math.Abs(want)+1e-3) {
				t.Fatalf("RMSNorm nil weight [%d]: %g, want %g", i, dst[i], want)
			}
		}

		sm := append([]float32(nil), x...)
		sm[0] = float32(math.Inf(-1)) // a masked position
		Softmax(sm)
		var z float64
		for _, v := range x[1:] {
			z += math.Exp(float64(v))
		}
		if sm[0] != 0 {
			t.Fatalf("Softmax of -Inf = %g", sm[0])
		}
		for i := 1; i < n; i++ {
			want := math.Exp(float64(x[i])) / z
			if math.Abs(float64(sm[i])-want) > 1e-6*want+1e-9 {
				t.Fatalf("Softmax n=%d [%d]: %g, want %g", n, i, sm[i], want)
			}
		}

		s := append([]float32(nil), x...)
		SiLU(s)
		g := append([]float32(nil), x...)
		SiLUMul(g, wgt)
		for i, v := range x {
			want := float64(v) / (1 + math.Exp(-float64(v)))
			if math.Abs(float64(s[i])-want) > 1e-6*(math.Abs(want)+1e-6) {
				t.Fatalf("SiLU(%g) = %g, want %g", v, s[i], want)
			}
			if w2 := want * float64(wgt[i]); math.Abs(float64(g[i])-w2) > 2e-6*(math.Abs(w2)+1e-6) {
				t.Fatalf("SiLUMul [%d] = %g, want %g", i, g[i], w2)
			}
		}

		var dot, mag float64
		for i := range x {
			dot += float64(x[i]) * float64(wgt[i])
			mag += math.Abs(float64(x[i]) * float64(wgt[i]))
		}
		if d := math.Abs(float64(Dot(x, wgt)) - dot); d > 1e-6*mag {
			t.Fatalf("Dot n=%d: %g, want %g", n, Dot(x, wgt), dot)
		}
		y := append([]float32(nil), wgt...)
		Axpy(2, x, y)
		Scale(0.5, y)
		for i := range y {
			want := (float64(wgt[i]) + 2*float64(x[i])) * 0.5
			if math.Abs(float64(y[i])-want) > 1e-6*(math.Abs(want)+1e-6) {
				t.Fatalf("Axpy/Scale [%d]: %g, want %g", i, y[i], want)
			}
		}
	}
}

// TestMatMuls: a fused launch gives, for every product, the bits of a
// separate MatMul, whatever the thread count, the mix of weight types (so
// of activation encodings: Q8_0, Q8_1, Q8_K, F16 rounding, float) and the
// path; its launches describe each product's share of the split, and a
// warmed-up launch allocates nothing.
func TestMatMuls(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const cols = 512
	mixes := [][]Type{
		{Q8_0, Q8_0, Q8_0},       // Q, K, V of one type: one quantization
		{Q4_K, Q4_K},             // gate, up
		{Q4_K, Q6_K, Q8_0, Q4_1}, // K-quants, Q8_0 and Q8_1 activations in one launch
		{F32, F16, BF16, Q5_0},
	}
	rowsOf := []int{67, 32, 9, 130} // odd counts: uneven chunks and tails
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		ref := NewPool(1)
		for _, floatPath := range []bool{false, true} {
			p.FloatPath, ref.FloatPath = floatPath, floatPath
			for _, mix := range mixes {
				for _, batch := range []int{1, 3} {
					x := randVec(rng, batch*cols, 1)
					prods := make([]Product, len(mix))
					want := make([][]float32, len(mix))
					for i, wt := range mix {
						w := randMatrix(rng, wt, rowsOf[i], cols)
						prods[i] = Product{Dst: make([]float32, batch*w.Rows), W: w}
						want[i] = make([]float32, batch*w.Rows)
						ref.MatMul(want[i], w, x, batch)
					}
					out := make([]Launch, len(mix))
					p.MatMuls(x, batch, prods, out)
					total := 0
					for i, pr := range prods {
						total += pr.W.Rows
						for j := range want[i] {
							if math.Float32bits(pr.Dst[j]) != math.Float32bits(want[i][j]) {
								t.Fatalf("t%d float=%v %v batch %d: product %d value %d = %v, separate MatMul %v",
									threads, floatPath, mix, batch, i, j, pr.Dst[j], want[i][j])
							}
						}
						l := out[i]
						if l.Workers < 1 || l.Workers > threads || l.Workers*l.RowsPerWorker < pr.W.Rows ||
							l.Strategy != "fused rows" || l.CPUNanos <= 0 ||
							l.FLOPs != 2*int64(pr.W.Rows)*cols*int64(batch) || l.Kernel == "" {
							t.Errorf("t%d %v batch %d: product %d launch %+v", threads, mix, batch, i, l)
						}
					}
					if threads > 1 && total >= 8*threads {
						if busy := func() int {
							n := 0
							for _, l := range out {
								n = max(n, l.Workers)
							}
							return n
						}(); busy < 2 {
							t.Errorf("t%d %v: %d rows went to one worker", threads, mix, total)
						}
					}
					if n := testing.AllocsPerRun(5, func() { p.MatMuls(x, batch, prods, out) }); n != 0 {
						t.Errorf("t%d %v batch %d: %v allocations per MatMuls", threads, mix, batch, n)
					}
				}
			}
		}
		p.Close()
		ref.Close()
	}
}

// TestMatMulsBadShapesPanic: a product whose shape does not fit the input
// is a programming error, reported with its index; so is a short out.
func TestMatMulsBadShapesPanic(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(33, 34))
	ok := randMatrix(rng, Q8_0, 8, 64)
	wide := randMatrix(rng, Q8_0, 8, 128)
	x := make([]float32, 64)
	for _, tc := range []struct {
		name  string
		prods []Product
		out   int
	}{
		{"x too short for product 1", []Product{{make([]float32, 8), ok}, {make([]float32, 8), wide}}, 2},
		{"dst too short", []Product{{make([]float32, 7), ok}}, 1},
		{"out too short", []Product{{make([]float32, 8), ok}, {make([]float32, 8), ok}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			p.MatMuls(x, 1, tc.prods, make([]Launch, tc.out))
		})
	}
	p.MatMuls(x, 1, nil, nil) // nothing to do
	out := make([]Launch, 2)
	p.MatMuls(x, 1, []Product{{make([]float32, 8), ok}, {make([]float32, 8), ok}}, out)
	if out[0].Workers+out[1].Workers < 2 {
		t.Fatalf("after panics: %+v", out)
	}
}
