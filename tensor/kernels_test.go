package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// kernelSetsUnderTest returns every compiled-in kernel set that runs here.
func kernelSetsUnderTest() []*kernelSet {
	settle()
	var out []*kernelSet
	for _, n := range KernelNames() {
		out = append(out, kernelSets[n])
	}
	return out
}

func randVec(rng *rand.Rand, n int, sigma float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sigma)
	}
	return x
}

// TestFloatKernels compares the float kernels of every kernel set with a
// float64 reference, over lengths that exercise the vector tails.
func TestFloatKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, ks := range kernelSetsUnderTest() {
		for _, n := range []int{0, 1, 3, 7, 8, 15, 16, 31, 33, 64, 100, 257, 1000} {
			a, b := randVec(rng, n, 1), randVec(rng, n, 1)
			wf16 := make([]byte, 2*n)
			wbf16 := make([]byte, 2*n)
			wa16, wab := make([]float32, n), make([]float32, n)
			for i, v := range a {
				putFP16(wf16[2*i:], v)
				putBF16(wbf16[2*i:], v)
				wa16[i], wab[i] = fp16(wf16[2*i:]), bf16(wbf16[2*i:])
			}
			var ref, ref16, refb, mag float64
			for i := range a {
				ref += float64(a[i]) * float64(b[i])
				ref16 += float64(wa16[i]) * float64(b[i])
				refb += float64(wab[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			tol := 1e-6*mag + 1e-30
			checks := []struct {
				name      string
				got, want float64
			}{
				{"dotF32", float64(ks.dotF32(a, b)), ref},
				{"dotF16", float64(ks.dotF16(wf16, b)), ref16},
				{"dotBF16", float64(ks.dotBF16(wbf16, b)), refb},
			}
			for _, c := range checks {
				if math.Abs(c.got-c.want) > tol {
					t.Errorf("%s %s n=%d: %g, want %g (tol %g)", ks.name, c.name, n, c.got, c.want, tol)
				}
			}
			y := append([]float32(nil), b...)
			ks.axpyF32(0.75, a, y)
			for i := range y {
				want := float64(b[i]) + 0.75*float64(a[i])
				if math.Abs(float64(y[i])-want) > 1e-6*(math.Abs(want)+1) {
					t.Fatalf("%s axpy n=%d [%d]: %g, want %g", ks.name, n, i, y[i], want)
				}
			}
			ks.scaleF32(-2, y)
			for i := range y {
				want := -2 * (float64(b[i]) + 0.75*float64(a[i]))
				if math.Abs(float64(y[i])-want) > 2e-6*(math.Abs(want)+1) {
					t.Fatalf("%s scale n=%d [%d]: %g, want %g", ks.name, n, i, y[i], want)
				}
			}
		}
	}
}

// TestQuantizedDots checks dotQ[t] of every kernel set for every weight
// type in two ways: (1) against Σ w·x̃ in float64 over the dequantized
// weights w and the dequantized quantized activation x̃, which the integer
// algorithm reproduces up to float32 rounding of its block scales (so any
// wrong bit pattern shows); (2) against the exact float dot w·x, within the
// error the activation quantization can cause: Σ_blocks Σ|w| × (step/2).
func TestQuantizedDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	weightTypes := []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}
	const n = 4 * QK_K
	for _, ks := range kernelSetsUnderTest() {
		for _, wt := range weightTypes {
			t.Run(ks.name+"/"+wt.String(), func(t *testing.T) {
				vt := vecDotType(wt)
				ti, _ := wt.Info()
				vi, _ := vt.Info()
				if ks.dotQ[wt] == nil {
					t.Fatalf("no dotQ for %s", wt)
				}
				for trial := range 20 {
					w := RandomBlocks(wt, n/ti.BlockSize, rng)
					x := randVec(rng, n, 1)
					if trial == 1 {
						clear(x[:QK_K]) // an all-zero activation super-block
					}
					xq := make([]byte, n/vi.BlockSize*vi.BlockBytes)
					if err := QuantizeRow(vt, x, xq); err != nil {
						t.Fatal(err)
					}
					wf, xt := make([]float32, n), make([]float32, n)
					if err := DequantizeRow(wt, w, wf); err != nil {
						t.Fatal(err)
					}
					if err := DequantizeRow(vt, xq, xt); err != nil {
						t.Fatal(err)
					}
					got := float64(ks.dotQ[wt](w, xq, n/ti.BlockSize))

					var refQ, magQ, exact, actErr float64
					for i := range wf {
						refQ += float64(wf[i]) * float64(xt[i])
						magQ += math.Abs(float64(wf[i]) * float64(xt[i]))
						exact += float64(wf[i]) * float64(x[i])
					}
					for b := 0; b < n; b += vi.BlockSize {
						var amax, wsum float64
						for i := b; i < b+vi.BlockSize; i++ {
							amax = math.Max(amax, math.Abs(float64(x[i])))
							wsum += math.Abs(float64(wf[i]))
						}
						actErr += wsum * amax / 127 * (0.5 + 128.0/2048)
					}
					if vt == Q8_1 {
						// Q4_1/Q5_1 fold the block minimum m in as m·s, s being
						// the fp16 copy of d·Σq stored in the activation block
						// (d at byte 0, s at byte 2; m at byte 2 of the weight
						// block), not d·Σq itself: add that difference.
						for b := 0; b < n/32; b++ {
							yb, wb := xq[36*b:], w[b*ti.BlockBytes:]
							var sum float64
							for _, q := range yb[4:36] {
								sum += float64(int8(q))
							}
							refQ += float64(fp16(wb[2:])) * (float64(fp16(yb[2:])) - float64(fp16(yb))*sum)
						}
					}
					tolQ := 2e-6 * magQ
					if d := math.Abs(got - refQ); d > tolQ {
						t.Fatalf("trial %d: dot %g, Σ w·x̃ %g: |diff| %g > %g", trial, got, refQ, d, tolQ)
					}
					if d := math.Abs(got - exact); d > actErr+tolQ {
						t.Fatalf("trial %d: dot %g, exact %g: |diff| %g > activation bound %g", trial, got, exact, d, actErr)
					}
				}
			})
		}
	}
}

// TestActivationQuantizers: each kernel set's Q8 quantizers decode to
// within half a step of the input, and the Go ones equal QuantizeRow.
func TestActivationQuantizers(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := randVec(rng, 8*QK_K, 2)
	for _, ks := range kernelSetsUnderTest() {
		for _, tc := range []struct {
			vt Type
			fn func([]float32, []byte)
		}{{Q8_0, ks.quantizeQ8_0}, {Q8_1, ks.quantizeQ8_1}, {Q8_K, ks.quantizeQ8_K}} {
			vi, _ := tc.vt.Info()
			got := make([]byte, len(x)/vi.BlockSize*vi.BlockBytes)
			tc.fn(x, got)
			y := make([]float32, len(x))
			if err := DequantizeRow(tc.vt, got, y); err != nil {
				t.Fatal(err)
			}
			for b := 0; b < len(x); b += vi.BlockSize {
				var amax float64
				for _, v := range x[b : b+vi.BlockSize] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := b; i < b+vi.BlockSize; i++ {
					if e := math.Abs(float64(y[i] - x[i])); e > amax/127*(0.5+128.0/2048) {
						t.Fatalf("%s %s value %d: %g → %g", ks.name, tc.vt, i, x[i], y[i])
					}
				}
			}
			if ks == &goKernels {
				want := make([]byte, len(got))
				if err := QuantizeRow(tc.vt, x, want); err != nil {
					t.Fatal(err)
				}
				if string(want) != string(got) {
					t.Fatalf("go %s differs from QuantizeRow", tc.vt)
				}
			}
		}
	}
}

func TestVecDotType(t *testing.T) {
	tests := map[Type]Type{
		Q4_0: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0, Q4_1: Q8_1, Q5_1: Q8_1,
		Q2_K: Q8_K, Q3_K: Q8_K, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K,
		F32: F32, F16: F32, BF16: F32,
	}
	for wt, want := range tests {
		if got := vecDotType(wt); got != want {
			t.Errorf("vecDotType(%s) = %s, want %s", wt, got, want)
		}
	}
}

func TestUseKernels(t *testing.T) {
	defer func(k *kernelSet) { active = k }(active)
	if err := UseKernels("go"); err != nil || KernelName() != "go" {
		t.Fatalf("UseKernels(go): %v, active %s", err, KernelName())
	}
	if err := UseKernels("no-such-simd"); err == nil {
		t.Fatal("UseKernels accepted an unknown name")
	}
	for _, n := range KernelNames() {
		if err := UseKernels(n); err != nil || KernelName() != n {
			t.Fatalf("UseKernels(%s): %v, active %s", n, err, KernelName())
		}
	}
	ForceGo()
	if KernelName() != "go" {
		t.Fatalf("ForceGo: active %s", KernelName())
	}
}

// TestEnvForcesGo runs the test binary again with INFERTRACE_KERNELS=go and
// checks the child starts on the pure-Go kernels whatever the CPU offers.
func TestEnvForcesGo(t *testing.T) {
	if os.Getenv("INFERTRACE_KERNELS_CHILD") == "1" {
		fmt.Printf("kernels=%s\n", KernelName())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvForcesGo$")
	cmd.Env = append(os.Environ(), "INFERTRACE_KERNELS=go", "INFERTRACE_KERNELS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "kernels=go\n") {
		t.Fatalf("child with INFERTRACE_KERNELS=go reported:\n%s", out)
	}
}
