package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotFloatx4nAVX2 requires every output of the batched four-row F32/F16
// dots to equal the one-row dot of the same set bit for bit (so a prompt's
// MatMul equals per-token calls), for every tail length, activation counts
// that leave 0, 1 or 2 activations after the groups of three, packed or
// spaced rows and outputs, and misaligned slices; and the outputs between
// the strided ones to stay untouched.
func TestDotFloatx4nAVX2(t *testing.T) {
	requireAVX2(t)
	defer func(k int) { tileKBlock = k }(tileKBlock)
	for _, k := range []int{tileKBlock, 1} { // 1: the K-blocked F32 tile for every length
		tileKBlock = k
		t.Run(fmt.Sprintf("kblock=%d", k), testDotFloatx4n)
	}
}

func testDotFloatx4n(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range append(floatLens, 511, 512, 513, 1024, 1535, 2048) {
		for _, nt := range []int{1, 2, 3, 4, 5, 7, 9} {
			for _, gap := range []int{0, 5} {
				off := (n + nt + gap) % 4
				t.Run(fmt.Sprintf("n=%d/nt=%d/gap=%d/off=%d", n, nt, gap, off), func(t *testing.T) {
					stride := n + gap
					w := randF32(r, off+4*stride)[off:]
					x := randF32(r, nt*n+3-off)[3-off:]
					h := make([]byte, 1+8*stride)[1:]
					for i := 0; i < 4*stride; i++ {
						putFP16(h[2*i:], w[i])
					}
					ostride := 4 + gap
					for _, ks := range []*kernelSet{&avx2Kernels, &goKernels} {
						sentinel := float32(math.NaN())
						o32 := make([]float32, (nt-1)*ostride+4)
						o16 := make([]float32, len(o32))
						for i := range o32 {
							o32[i], o16[i] = sentinel, sentinel
						}
						ks.dotF32x4n(w[:3*stride+n], stride, x, n, nt, o32, ostride)
						ks.dotF16x4n(h[:2*(3*stride+n)], 2*stride, x, n, nt, o16, ostride)
						for j := range o32 {
							c, i := j/ostride, j%ostride
							if i >= 4 {
								if !math.IsNaN(float64(o32[j])) || !math.IsNaN(float64(o16[j])) {
									t.Fatalf("%s: output %d between the strided ones was written", ks.name, j)
								}
								continue
							}
							xc := x[c*n : (c+1)*n]
							if want := ks.dotF32(w[i*stride:i*stride+n], xc); !sameF32(o32[j], want) {
								t.Fatalf("%s dotF32x4n act %d row %d: %v (%#x), one-row %v (%#x)", ks.name, c, i, o32[j], math.Float32bits(o32[j]), want, math.Float32bits(want))
							}
							if want := ks.dotF16(h[2*i*stride:], xc); !sameF32(o16[j], want) {
								t.Fatalf("%s dotF16x4n act %d row %d: %v, one-row %v", ks.name, c, i, o16[j], want)
							}
						}
					}
				})
			}
		}
	}
}

// TestDotFloatx4nBounds: a call whose rows, activations or outputs are
// out of range panics in Go instead of reading or writing past them.
func TestDotFloatx4nBounds(t *testing.T) {
	requireAVX2(t)
	w := make([]float32, 4*40)
	h := make([]byte, 2*len(w))
	x := make([]float32, 3*40)
	out := make([]float32, 12)
	cases := []struct {
		name string
		f    func()
	}{
		{"short weights", func() { avx2Kernels.dotF32x4n(w[:4*40-1], 40, x, 40, 3, out, 4) }},
		{"short activations", func() { avx2Kernels.dotF32x4n(w, 40, x[:119], 40, 3, out, 4) }},
		{"short outputs", func() { avx2Kernels.dotF32x4n(w, 40, x, 40, 3, out[:11], 4) }},
		{"negative stride", func() { avx2Kernels.dotF32x4n(w, -1, x, 40, 3, out, 4) }},
		{"short F16 weights", func() { avx2Kernels.dotF16x4n(h[:len(h)-1], 80, x, 40, 3, out, 4) }},
		{"short F16 outputs", func() { avx2Kernels.dotF16x4n(h, 80, x, 40, 3, out[:11], 4) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			c.f()
		})
	}
}

// BenchmarkKernelFloatx4n compares, for a prompt of 64 activation rows of
// 768 values against four weight rows (the 110M model's width), the
// batched kernels with the generic loop of four-row calls of the same set
// (what MatMul ran before the batched kernels existed).
//
//	go test -run '^$' -bench 'KernelFloatx4n' -count 5 ./tensor/
//
// On a shared machine compare cpu-ns/op (the thread's CPU time), not ns/op.
func BenchmarkKernelFloatx4n(b *testing.B) {
	const n, nt = 768, 64
	r := rand.New(rand.NewPCG(23, 24))
	w := randF32(r, 4*n)
	h := RandomBlocks(F16, 4*n, r)
	x := randF32(r, nt*n)
	out := make([]float32, 4*nt)
	ks := &avx2Kernels
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	for _, v := range []struct {
		name string
		f32  func(w []float32, stride int, x []float32, n, nt int, out []float32, ostride int)
		f16  func(w []byte, stride int, x []float32, n, nt int, out []float32, ostride int)
	}{
		{"loop", manyF32(ks.dotF32x4), manyF16(ks.dotF16x4)},
		{"tile", ks.dotF32x4n, ks.dotF16x4n},
	} {
		b.Run("F32/"+v.name, func(b *testing.B) {
			b.SetBytes(4 * 4 * n)
			defer cpuMetric(b)()
			for b.Loop() {
				v.f32(w, n, x, n, nt, out, 4)
			}
			reportFlops(b, 2*4*n*nt)
		})
		b.Run("F16/"+v.name, func(b *testing.B) {
			b.SetBytes(4 * 2 * n)
			defer cpuMetric(b)()
			for b.Loop() {
				v.f16(h, 2*n, x, n, nt, out, 4)
			}
			reportFlops(b, 2*4*n*nt)
		})
	}
}

// TestDotQxnAVX2 requires every output of the batched one-row ×
// several-activation integer dots to equal the Go one-row dot bit for bit:
// activation counts that leave 0-3 after the groups of four, packed or
// spaced activation rows and outputs, misaligned weights and activations,
// random bytes (any scales, any quants) in both.
func TestDotQxnAVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(25, 26))
	for _, typ := range Types() {
		dotn := avx2Kernels.dotQxn[typ]
		if dotn == nil {
			continue
		}
		vi, _ := vecDotType(typ).Info()
		for _, nb := range []int{0, 1, 2, 3, 5} {
			for _, nt := range []int{1, 3, 4, 5, 8, 11} {
				for _, gap := range []int{0, 9} {
					off := (nb + nt + gap) % 4
					t.Run(fmt.Sprintf("%v/nb=%d/nt=%d/gap=%d/off=%d", typ, nb, nt, gap, off), func(t *testing.T) {
						w := randBlocks(r, typ, nb, off)
						xs := nb*vi.BlockBytes + gap
						xq := make([]byte, 3-off+nt*xs)[3-off:]
						for i := range xq {
							xq[i] = byte(r.Uint32())
						}
						for c := range nt { // finite activation scales
							copy(xq[c*xs:], quantizedActs(r, typ, nb, 0))
						}
						ostride := 1 + gap
						out := make([]float32, (nt-1)*ostride+1)
						for i := range out {
							out[i] = float32(math.NaN())
						}
						dotn(w, xq, xs, nb, nt, out, ostride)
						for j, g := range out {
							if j%ostride != 0 {
								if !math.IsNaN(float64(g)) {
									t.Fatalf("output %d between the strided ones was written", j)
								}
								continue
							}
							c := j / ostride
							if want := goKernels.dotQ[typ](w, xq[c*xs:], nb); !sameF32(g, want) {
								t.Fatalf("activation %d: avx2 %v (%#x), go %v (%#x)", c, g, math.Float32bits(g), want, math.Float32bits(want))
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkKernelDotQxn compares, for one 768-value weight row against 64
// quantized activation rows, the batched integer dot with 64 one-row calls
// of the same set.
//
//	go test -run '^$' -bench 'KernelDotQxn' -count 5 ./tensor/
func BenchmarkKernelDotQxn(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	const n, nt = 768, 64
	r := rand.New(rand.NewPCG(27, 28))
	x := randF32(r, nt*n)
	out := make([]float32, nt)
	for _, typ := range Types() {
		dotn := avx2Kernels.dotQxn[typ]
		if dotn == nil {
			continue
		}
		ti, _ := typ.Info()
		nb := n / ti.BlockSize
		w := RandomBlocks(typ, nb, r)
		vt := vecDotType(typ)
		vi, _ := vt.Info()
		xs := n / vi.BlockSize * vi.BlockBytes
		xq := make([]byte, nt*xs)
		for c := range nt {
			if err := QuantizeRow(vt, x[c*n:(c+1)*n], xq[c*xs:(c+1)*xs]); err != nil {
				b.Fatal(err)
			}
		}
		dot := avx2Kernels.dotQ[typ]
		b.Run(typ.String()+"/loop", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			defer cpuMetric(b)()
			for b.Loop() {
				for c := range nt {
					out[c] = dot(w, xq[c*xs:], nb)
				}
			}
			reportFlops(b, 2*n*nt)
		})
		b.Run(typ.String()+"/batched", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			defer cpuMetric(b)()
			for b.Loop() {
				dotn(w, xq, xs, nb, nt, out, 1)
			}
			reportFlops(b, 2*n*nt)
		})
	}
}

// TestDotQx4nAVX2 requires every output of the batched four-row ×
// several-activation integer dots to equal the Go one-row dot bit for bit:
// activation counts below four (one at a time), multiples of four and
// leftovers (an overlapping last group), packed or spaced rows, activation
// rows and outputs, misaligned weights and activations.
func TestDotQx4nAVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(29, 30))
	for _, typ := range Types() {
		dot4n := avx2Kernels.dotQx4n[typ]
		if dot4n == nil {
			continue
		}
		ti, _ := typ.Info()
		vi, _ := vecDotType(typ).Info()
		for _, nb := range []int{0, 1, 2, 3, 24} {
			for _, nt := range []int{1, 3, 4, 5, 7, 8, 64} {
				for _, gap := range []int{0, 7} {
					off := (nb + nt + gap) % 4
					t.Run(fmt.Sprintf("%v/nb=%d/nt=%d/gap=%d/off=%d", typ, nb, nt, gap, off), func(t *testing.T) {
						stride := nb*ti.BlockBytes + gap
						w := make([]byte, off+4*stride)[off:]
						for k := range 4 {
							copy(w[k*stride:], randBlocks(r, typ, nb, 0))
						}
						xs := nb*vi.BlockBytes + gap
						xq := make([]byte, 3-off+nt*xs)[3-off:]
						for c := range nt {
							copy(xq[c*xs:], quantizedActs(r, typ, nb, 0))
						}
						ostride := 4 + gap
						out := make([]float32, (nt-1)*ostride+4)
						for i := range out {
							out[i] = float32(math.NaN())
						}
						dot4n(w[:3*stride+nb*ti.BlockBytes], stride, xq, xs, nb, nt, out, ostride)
						for j, g := range out {
							c, k := j/ostride, j%ostride
							if k >= 4 {
								if !math.IsNaN(float64(g)) {
									t.Fatalf("output %d between the strided ones was written", j)
								}
								continue
							}
							if want := goKernels.dotQ[typ](w[k*stride:], xq[c*xs:], nb); !sameF32(g, want) {
								t.Fatalf("activation %d row %d: avx2 %v (%#x), go %v (%#x)", c, k, g, math.Float32bits(g), want, math.Float32bits(want))
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkKernelDotQx4n compares, for four 768-value weight rows against
// 64 quantized activation rows, the batched four-row dot with 64 calls of
// the four-row dot of the same set (what MatMul ran before).
//
//	go test -run '^$' -bench 'KernelDotQx4n' -count 5 ./tensor/
func BenchmarkKernelDotQx4n(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	const n, nt = 768, 64
	r := rand.New(rand.NewPCG(35, 36))
	x := randF32(r, nt*n)
	out := make([]float32, 4*nt)
	for _, typ := range Types() {
		dot4n := avx2Kernels.dotQx4n[typ]
		if dot4n == nil {
			continue
		}
		ti, _ := typ.Info()
		nb := n / ti.BlockSize
		w := RandomBlocks(typ, 4*nb, r)
		rb := nb * ti.BlockBytes
		vt := vecDotType(typ)
		vi, _ := vt.Info()
		xs := n / vi.BlockSize * vi.BlockBytes
		xq := make([]byte, nt*xs)
		for c := range nt {
			if err := QuantizeRow(vt, x[c*n:(c+1)*n], xq[c*xs:(c+1)*xs]); err != nil {
				b.Fatal(err)
			}
		}
		dot4 := avx2Kernels.dotQx4[typ]
		b.Run(typ.String()+"/loop", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			defer cpuMetric(b)()
			for b.Loop() {
				for c := range nt {
					dot4(w, rb, xq[c*xs:], nb, (*[4]float32)(out[4*c:4*c+4]))
				}
			}
			reportFlops(b, 2*4*n*nt)
		})
		b.Run(typ.String()+"/batched", func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			defer cpuMetric(b)()
			for b.Loop() {
				dot4n(w, rb, xq, xs, nb, nt, out, 4)
			}
			reportFlops(b, 2*4*n*nt)
		})
	}
}

// TestTileQ0x8AVX2 requires every output of the eight-row Q4_0/Q8_0 tiles
// (repack + gemm, through tileQ0x8) to equal the Go one-row dot bit for
// bit: row ranges that leave 0-7 rows to the caller, batches that leave
// 0-3 activations after the groups of four (an overlapping last group),
// packed or spaced rows and activations, misaligned data, random weight
// bytes (any scales and quants; Q8_0 weights include -128) and activations
// from the quantizer. Outputs of other rows stay untouched.
func TestTileQ0x8AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(51, 52))
	for _, typ := range []Type{Q4_0, Q8_0} {
		ti, _ := typ.Info()
		for _, nb := range []int{1, 2, 3, 24} {
			for _, batch := range []int{4, 5, 6, 7, 8, 13, 64} {
				for _, gap := range []int{0, 5} {
					for _, span := range [][2]int{{0, 8}, {3, 19}, {8, 31}} {
						off := (nb + batch + gap) % 4
						t.Run(fmt.Sprintf("%v/nb=%d/b=%d/gap=%d/rows=%v", typ, nb, batch, gap, span), func(t *testing.T) {
							rows := span[1] + 2
							rb := nb*ti.BlockBytes + gap
							data := make([]byte, off+rows*rb)[off:]
							for i := range rows {
								copy(data[i*rb:], randBlocks(r, typ, nb, 0))
							}
							w := Matrix{Type: typ, Rows: rows, Cols: nb * 32, RowBytes: rb, Data: data}
							xs := nb*34 + gap
							xq := make([]byte, 3-off+batch*xs)[3-off:]
							for c := range batch {
								x := randVec(r, nb*32, 3)
								goKernels.quantizeQ8_0(x, xq[c*xs:c*xs+nb*34])
							}
							dst := make([]float32, batch*rows)
							for i := range dst {
								dst[i] = float32(math.NaN())
							}
							bufs := make([][]float32, 2)
							end := tileQ0x8(&avx2Kernels, w, xq, xs, nb, batch, dst, span[0], span[1], bufs, 1)
							if want := span[0] + (span[1]-span[0])&^7; end != want {
								t.Fatalf("returned row %d, want %d", end, want)
							}
							for c := range batch {
								for i := range rows {
									g := dst[c*rows+i]
									if i < span[0] || i >= end {
										if !math.IsNaN(float64(g)) {
											t.Fatalf("act %d row %d outside the groups was written", c, i)
										}
										continue
									}
									if want := goKernels.dotQ[typ](data[i*rb:], xq[c*xs:], nb); !sameF32(g, want) {
										t.Fatalf("act %d row %d: %v (%#x), go %v (%#x)", c, i, g, math.Float32bits(g), want, math.Float32bits(want))
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

// BenchmarkTileQ0x8 compares, for 32 rows of 768 values against 64
// quantized activations, the eight-row repacked tiles with the four-row ×
// four-activation kernels (dotQx4n).
//
//	go test -run '^$' -bench 'TileQ0x8' -count 5 ./tensor/
func BenchmarkTileQ0x8(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	const n, nt, rows = 768, 64, 32
	r := rand.New(rand.NewPCG(53, 54))
	x := randF32(r, nt*n)
	xs := n / 32 * 34
	xq := make([]byte, nt*xs)
	for c := range nt {
		avx2Kernels.quantizeQ8_0(x[c*n:(c+1)*n], xq[c*xs:(c+1)*xs])
	}
	dst := make([]float32, nt*rows)
	bufs := make([][]float32, 1)
	for _, typ := range []Type{Q4_0, Q8_0} {
		ti, _ := typ.Info()
		nb := n / 32
		w := Matrix{Type: typ, Rows: rows, Cols: n, RowBytes: nb * ti.BlockBytes, Data: RandomBlocks(typ, rows*nb, r)}
		b.Run(typ.String()+"/x4x4", func(b *testing.B) {
			defer cpuMetric(b)()
			for b.Loop() {
				for i := 0; i < rows; i += 4 {
					avx2Kernels.dotQx4n[typ](w.Data[i*w.RowBytes:], w.RowBytes, xq, xs, nb, nt, dst[i:], rows)
				}
			}
			reportFlops(b, 2*n*nt*rows)
		})
		b.Run(typ.String()+"/x8", func(b *testing.B) {
			defer cpuMetric(b)()
			for b.Loop() {
				tileQ0x8(&avx2Kernels, w, xq, xs, nb, nt, dst, 0, rows, bufs, 0)
			}
			reportFlops(b, 2*n*nt*rows)
		})
	}
}

// TestTileQ4_Kx8AVX2 is TestTileQ0x8AVX2 for the eight-row Q4_K tiles:
// every output equals the Go one-row dot bit for bit, for any batch (one
// activation at a time, so no minimum), row ranges leaving 0-7 rows,
// spaced rows and activations, misaligned data and random weight bytes
// (any d, dmin, 6-bit scales and mins, nibbles).
func TestTileQ4_Kx8AVX2(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(55, 56))
	for _, nb := range []int{1, 2, 3} {
		for _, batch := range []int{1, 2, 5, 64} {
			for _, gap := range []int{0, 7} {
				for _, span := range [][2]int{{0, 8}, {3, 19}, {8, 31}} {
					off := (nb + batch + gap) % 4
					t.Run(fmt.Sprintf("nb=%d/b=%d/gap=%d/rows=%v", nb, batch, gap, span), func(t *testing.T) {
						rows := span[1] + 2
						rb := nb*144 + gap
						data := make([]byte, off+rows*rb)[off:]
						for i := range rows {
							copy(data[i*rb:], randBlocks(r, Q4_K, nb, 0))
						}
						w := Matrix{Type: Q4_K, Rows: rows, Cols: nb * QK_K, RowBytes: rb, Data: data}
						xs := nb*q8KBlockBytes + gap
						xq := make([]byte, 3-off+batch*xs)[3-off:]
						for c := range batch {
							copy(xq[c*xs:], quantizedActs(r, Q4_K, nb, 0))
						}
						dst := make([]float32, batch*rows)
						for i := range dst {
							dst[i] = float32(math.NaN())
						}
						end := tileQ0x8(&avx2Kernels, w, xq, xs, nb, batch, dst, span[0], span[1], make([][]float32, 1), 0)
						if want := span[0] + (span[1]-span[0])&^7; end != want {
							t.Fatalf("returned row %d, want %d", end, want)
						}
						for c := range batch {
							for i := range rows {
								g := dst[c*rows+i]
								if i < span[0] || i >= end {
									if !math.IsNaN(float64(g)) {
										t.Fatalf("act %d row %d outside the groups was written", c, i)
									}
									continue
								}
								if want := goKernels.dotQ[Q4_K](data[i*rb:], xq[c*xs:], nb); !sameF32(g, want) {
									t.Fatalf("act %d row %d: %v (%#x), go %v (%#x)", c, i, g, math.Float32bits(g), want, math.Float32bits(want))
								}
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkTileQ4_Kx8 compares, for 32 rows of 768 values against 64
// Q8_K activations, the eight-row Q4_K tiles (activation permutation
// included) with the one-row × four-activation kernel (dotQxn).
//
//	go test -run '^$' -bench 'TileQ4_Kx8' -count 5 ./tensor/
func BenchmarkTileQ4_Kx8(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2")
	}
	const n, nt, rows = 768, 64, 32
	r := rand.New(rand.NewPCG(57, 58))
	x := randF32(r, nt*n)
	nb := n / QK_K
	xs := nb * q8KBlockBytes
	xq := make([]byte, nt*xs)
	for c := range nt {
		avx2Kernels.quantizeQ8_K(x[c*n:(c+1)*n], xq[c*xs:(c+1)*xs])
	}
	dst := make([]float32, nt*rows)
	w := Matrix{Type: Q4_K, Rows: rows, Cols: n, RowBytes: nb * 144, Data: RandomBlocks(Q4_K, rows*nb, r)}
	bufs := make([][]float32, 1)
	b.Run("xn", func(b *testing.B) {
		defer cpuMetric(b)()
		for b.Loop() {
			for i := range rows {
				avx2Kernels.dotQxn[Q4_K](w.Row(i), xq, xs, nb, nt, dst[i:], rows)
			}
		}
		reportFlops(b, 2*n*nt*rows)
	})
	b.Run("x8", func(b *testing.B) {
		defer cpuMetric(b)()
		for b.Loop() {
			tileQ0x8(&avx2Kernels, w, xq, xs, nb, nt, dst, 0, rows, bufs, 0)
		}
		reportFlops(b, 2*n*nt*rows)
	})
}

// TestScalesMinsK4 holds the shuffled unpacking of the Q4_K scales and
// mins to scaleMinK4 for random packed bytes.
func TestScalesMinsK4(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 68))
	p := make([]byte, 12)
	for range 2000 {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		sc, mn := scalesMinsK4(p)
		for j := range 8 {
			s, m := scaleMinK4(j, p)
			if byte(sc>>(8*j)) != s || byte(mn>>(8*j)) != m {
				t.Fatalf("%x: j=%d: %d,%d, scaleMinK4 %d,%d", p, j, byte(sc>>(8*j)), byte(mn>>(8*j)), s, m)
			}
		}
	}
}

// TestTileQx8ScratchLength: growing a worker's scratch keeps the length
// the pool gave it (another product of the same launch may use it as a
// dequantized row of that length).
func TestTileQx8ScratchLength(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(71, 72))
	for _, typ := range []Type{Q4_0, Q8_0, Q4_K} {
		ti, _ := typ.Info()
		vi, _ := vecDotType(typ).Info()
		const rows, batch = 8, 4
		nb := 1
		w := Matrix{Type: typ, Rows: rows, Cols: nb * ti.BlockSize, RowBytes: nb * ti.BlockBytes, Data: RandomBlocks(typ, rows*nb, r)}
		xq := make([]byte, batch*nb*vi.BlockBytes)
		for c := range batch {
			copy(xq[c*nb*vi.BlockBytes:], quantizedActs(r, typ, nb, 0))
		}
		bufs := [][]float32{make([]float32, 3)}
		if end := tileQ0x8(&avx2Kernels, w, xq, nb*vi.BlockBytes, nb, batch, make([]float32, batch*rows), 0, rows, bufs, 0); end != rows {
			t.Fatalf("%v: returned row %d", typ, end)
		}
		if len(bufs[0]) != 3 || cap(bufs[0]) <= 3 {
			t.Errorf("%v: scratch len %d cap %d, want len 3 and grown", typ, len(bufs[0]), cap(bufs[0]))
		}
	}
}
