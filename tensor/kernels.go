package tensor

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// kernelSet is one implementation of the compute kernels. goKernels is the
// pure-Go reference, always compiled; an amd64 init may install faster
// entries in `active` (never changing results beyond float rounding).
type kernelSet struct {
	name         string                              // "go", "avx2"
	dotF32       func(a, b []float32) float32        // len(a)==len(b)
	axpyF32      func(alpha float32, x, y []float32) // y[i] += alpha*x[i]
	scaleF32     func(alpha float32, x []float32)    // x[i] *= alpha
	dotF16       func(w []byte, x []float32) float32 // w: len(x) F16 values
	dotBF16      func(w []byte, x []float32) float32
	quantizeQ8_0 func(x []float32, dst []byte) // len(x)%32==0, as ggml quantize_row_q8_0
	quantizeQ8_1 func(x []float32, dst []byte) // as ggml quantize_row_q8_1
	quantizeQ8_K func(x []float32, dst []byte) // len(x)%256==0, as ggml quantize_row_q8_K
	// dotQ[t](w, xq, nb): dot of nb blocks of a weight row of type t with the
	// activation row xq encoded in vecDotType(t) — bit-for-bit the integer
	// algorithm of ggml's ggml_vec_dot_<t>_<vt> (generic C version). The
	// Go Q4_1 and Q2_K entries keep the float accumulation order of ggml's
	// x86 AVX2 versions instead (eight FMA lanes + hsum_float_8), which is
	// what reproduces the llama.cpp reference logits; see kernels_go.go.
	dotQ [BF16 + 1]func(w, xq []byte, nb int) float32
	// dotQx4[t](w, stride, xq, nb, out): dotQ[t] of the four rows at w[0:],
	// w[stride:], w[2*stride:], w[3*stride:] with one activation row, each
	// out[i] bit-identical to dotQ[t] on that row. Optional in a SIMD set
	// (which shares the activation work across the rows); fillFromGo fills
	// a nil entry with four dotQ calls.
	dotQx4 [BF16 + 1]func(w []byte, stride int, xq []byte, nb int, out *[4]float32)
	// dotF32x4(w, stride, x, out) and dotF16x4: dotF32/dotF16 of the four
	// rows at w[0:], w[stride:], ... (stride in values for F32, in bytes
	// for F16) with x, each out[i] bit-identical to the one-row kernel of
	// the same set. Optional; fillFromGo fills nil entries with four calls.
	dotF32x4 func(w []float32, stride int, x []float32, out *[4]float32)
	dotF16x4 func(w []byte, stride int, x []float32, out *[4]float32)
	// dotF32x4n(w, stride, x, n, nt, out, ostride) and dotF16x4n: the
	// four-row dots against nt activation rows x[c*n:(c+1)*n], out[c*ostride
	// +i] = row i · activation c, each bit-identical to dotF32x4/dotF16x4 of
	// the same set (so to its one-row kernel). The batched (prefill) form:
	// a SIMD set reuses every weight vector it loads for several
	// activations. Optional; fillFromGo fills nil entries with a loop of
	// dotF32x4/dotF16x4 calls.
	dotF32x4n func(w []float32, stride int, x []float32, n, nt int, out []float32, ostride int)
	dotF16x4n func(w []byte, stride int, x []float32, n, nt int, out []float32, ostride int)
	// dotQxn[t](w, xq, xqStride, nb, nt, out, ostride): out[c*ostride] =
	// dotQ[t](w, xq[c*xqStride:], nb) for the nt activation rows c, each
	// bit-identical to dotQ[t] of the same set: one weight row against
	// several activations, the weight work (unpacking) shared. Optional and
	// left nil when a set has none (MatMul then runs its four-row loop,
	// which shares the activation work instead).
	dotQxn [BF16 + 1]func(w, xq []byte, xqStride, nb, nt int, out []float32, ostride int)
	// dotQx4n[t](w, stride, xq, xqStride, nb, nt, out, ostride): the four
	// rows at w[k*stride:] (k < 4) against nt activation rows,
	// out[c*ostride+k] = dotQ[t](row k, xq[c*xqStride:], nb), each
	// bit-identical to dotQ[t] of the same set: both the weight work and
	// the activation work shared. Optional and left nil, as dotQxn. The
	// avx2 Q8_0 entry assumes no activation quant is -128, which the Q8_0
	// quantizers never produce (see q4x4_amd64.s).
	dotQx4n [BF16 + 1]func(w []byte, stride int, xq []byte, xqStride, nb, nt int, out []float32, ostride int)
	// roundF16(dst, x): dst[i] = x[i] rounded to IEEE half (nearest even)
	// and widened back, the activation rounding for F16 weights. Optional.
	roundF16 func(dst, x []float32)
}

// goKernels is the pure-Go reference implementation, always available.
var goKernels = kernelSet{
	name:         "go",
	dotF32:       dotF32Go,
	axpyF32:      axpyF32Go,
	scaleF32:     scaleF32Go,
	dotF16:       dotF16Go,
	dotBF16:      dotBF16Go,
	quantizeQ8_0: quantizeQ8_0Go,
	quantizeQ8_1: quantizeQ8_1Go,
	quantizeQ8_K: quantizeQ8_KGo,
	dotQ: [BF16 + 1]func(w, xq []byte, nb int) float32{
		Q4_0: dotQ4_0Q8_0Go,
		Q4_1: dotQ4_1Q8_1Go,
		Q5_0: dotQ5_0Q8_0Go,
		Q5_1: dotQ5_1Q8_1Go,
		Q8_0: dotQ8_0Q8_0Go,
		Q2_K: dotQ2_KQ8_KGo,
		Q3_K: dotQ3_KQ8_KGo,
		Q4_K: dotQ4_KQ8_KGo,
		Q5_K: dotQ5_KQ8_KGo,
		Q6_K: dotQ6_KQ8_KGo,
	},
}

// active is the kernel set every exported operation uses. It is replaced at
// init by kernels_amd64.go (through registerKernels) when AVX2+FMA are
// present and INFERTRACE_KERNELS != "go". It must not be switched while a
// computation is running.
var active = &goKernels

// kernelSets holds every compiled-in implementation by name.
var kernelSets = map[string]*kernelSet{"go": &goKernels}

// envKernels names the environment variable that selects the kernels at
// start-up; "go" forces the pure-Go fallback.
const envKernels = "INFERTRACE_KERNELS"

// settleOnce finishes kernel selection after every init has run: a platform
// init may have assigned `active` directly instead of calling
// registerKernels, and INFERTRACE_KERNELS=go must win over it either way.
var settleOnce sync.Once

// settle is called by every entry point that reads or switches the kernels.
func settle() {
	settleOnce.Do(func() {
		if _, ok := kernelSets[active.name]; !ok {
			fillFromGo(active)
			kernelSets[active.name] = active
		}
		if strings.EqualFold(os.Getenv(envKernels), "go") {
			active = &goKernels
		}
	})
}

// registerKernels makes a SIMD kernel set selectable by name and, unless
// INFERTRACE_KERNELS=go, active. Entries left nil fall back to goKernels'.
// Platform init functions call it.
func registerKernels(k *kernelSet) {
	fillFromGo(k)
	kernelSets[k.name] = k
	if !strings.EqualFold(os.Getenv(envKernels), "go") {
		active = k
	}
}

// fillFromGo sets every nil entry of k to the pure-Go one, so a partial SIMD
// set is always complete.
func fillFromGo(k *kernelSet) {
	g := &goKernels
	if k.dotF32 == nil {
		k.dotF32 = g.dotF32
	}
	if k.axpyF32 == nil {
		k.axpyF32 = g.axpyF32
	}
	if k.scaleF32 == nil {
		k.scaleF32 = g.scaleF32
	}
	if k.dotF16 == nil {
		k.dotF16 = g.dotF16
	}
	if k.dotBF16 == nil {
		k.dotBF16 = g.dotBF16
	}
	if k.quantizeQ8_0 == nil {
		k.quantizeQ8_0 = g.quantizeQ8_0
	}
	if k.quantizeQ8_1 == nil {
		k.quantizeQ8_1 = g.quantizeQ8_1
	}
	if k.quantizeQ8_K == nil {
		k.quantizeQ8_K = g.quantizeQ8_K
	}
	if k.roundF16 == nil {
		k.roundF16 = roundF16Go
	}
	if k.dotF32x4 == nil {
		k.dotF32x4 = fourF32(k.dotF32)
	}
	if k.dotF16x4 == nil {
		k.dotF16x4 = fourF16(k.dotF16)
	}
	if k.dotF32x4n == nil {
		k.dotF32x4n = manyF32(k.dotF32x4)
	}
	if k.dotF16x4n == nil {
		k.dotF16x4n = manyF16(k.dotF16x4)
	}
	for i := range k.dotQ {
		if k.dotQ[i] == nil {
			k.dotQ[i] = g.dotQ[i]
		}
		if k.dotQx4[i] == nil && k.dotQ[i] != nil {
			k.dotQx4[i] = fourDots(k.dotQ[i])
		}
	}
}

// roundF16Go is the generic roundF16.
func roundF16Go(dst, x []float32) {
	dst = dst[:len(x)]
	var b [2]byte
	for i, v := range x {
		putFP16(b[:], v)
		dst[i] = fp16(b[:])
	}
}

// fourF32 and fourF16 are the generic dotF32x4 and dotF16x4.
func fourF32(dot func(a, b []float32) float32) func(w []float32, stride int, x []float32, out *[4]float32) {
	return func(w []float32, stride int, x []float32, out *[4]float32) {
		for i := range out {
			out[i] = dot(w[i*stride:i*stride+len(x)], x)
		}
	}
}

func fourF16(dot func(w []byte, x []float32) float32) func(w []byte, stride int, x []float32, out *[4]float32) {
	return func(w []byte, stride int, x []float32, out *[4]float32) {
		for i := range out {
			out[i] = dot(w[i*stride:], x)
		}
	}
}

// manyF32 and manyF16 are the generic dotF32x4n and dotF16x4n: one
// four-row call per activation row.
func manyF32(dot4 func(w []float32, stride int, x []float32, out *[4]float32)) func(w []float32, stride int, x []float32, n, nt int, out []float32, ostride int) {
	return func(w []float32, stride int, x []float32, n, nt int, out []float32, ostride int) {
		for c := range nt {
			dot4(w, stride, x[c*n:(c+1)*n], (*[4]float32)(out[c*ostride:c*ostride+4]))
		}
	}
}

func manyF16(dot4 func(w []byte, stride int, x []float32, out *[4]float32)) func(w []byte, stride int, x []float32, n, nt int, out []float32, ostride int) {
	return func(w []byte, stride int, x []float32, n, nt int, out []float32, ostride int) {
		for c := range nt {
			dot4(w, stride, x[c*n:(c+1)*n], (*[4]float32)(out[c*ostride:c*ostride+4]))
		}
	}
}

// fourDots is the generic dotQx4: four calls of the one-row dot.
func fourDots(dot func(w, xq []byte, nb int) float32) func(w []byte, stride int, xq []byte, nb int, out *[4]float32) {
	return func(w []byte, stride int, xq []byte, nb int, out *[4]float32) {
		for i := range out {
			out[i] = dot(w[i*stride:], xq, nb)
		}
	}
}

// The derived entries of goKernels (dotQx4) are filled before any platform
// init registers a SIMD set (file order: kernels.go runs first).
func init() { fillFromGo(&goKernels) }

// vecDotType returns the type the activation row is quantized to before an
// integer dot with a weight row of type t (ggml's type_traits vec_dot_type):
// Q8_0 for Q4_0, Q5_0 and Q8_0; Q8_1 for Q4_1 and Q5_1; Q8_K for the K
// types. Float types dot against float32 activations and return F32.
func vecDotType(t Type) Type {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K:
		return Q8_K
	default:
		return F32
	}
}

// KernelName reports the active kernel implementation ("go" or "avx2").
func KernelName() string { settle(); return active.name }

// KernelNames lists the compiled-in kernel implementations, sorted.
func KernelNames() []string {
	settle()
	out := make([]string, 0, len(kernelSets))
	for n := range kernelSets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UseKernels selects the kernel implementation by name ("go", or a SIMD
// set such as "avx2" when this CPU supports it). It must not be called
// while a computation is running.
func UseKernels(name string) error {
	settle()
	k, ok := kernelSets[strings.ToLower(name)]
	if !ok {
		return fmt.Errorf("kernels %q not available (have %s)", name, strings.Join(KernelNames(), ", "))
	}
	active = k
	return nil
}

// ForceGo switches to the pure-Go kernels (tests, INFERTRACE_KERNELS=go).
func ForceGo() { settle(); active = &goKernels }
