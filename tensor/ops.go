package tensor

import "math"

// Dot returns a·b with the active kernels; len(b) must be at least len(a).
func Dot(a, b []float32) float32 { settle(); return active.dotF32(a, b) }

// Axpy computes y[i] += alpha*x[i]; len(y) must be at least len(x).
func Axpy(alpha float32, x, y []float32) { settle(); active.axpyF32(alpha, x, y) }

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) { settle(); active.scaleF32(alpha, x) }

// RMSNorm computes dst[i] = x[i] / sqrt(mean(x²) + eps) * weight[i], as
// ggml's rms_norm followed by the weight multiply: the squares are summed
// in float64, the scale is computed in float32. A nil weight skips the
// multiply. dst may alias x.
func RMSNorm(dst, x, weight []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	dst = dst[:len(x)]
	if weight == nil {
		for i, v := range x {
			dst[i] = v * scale
		}
		return
	}
	weight = weight[:len(x)]
	for i, v := range x {
		dst[i] = float32(v*scale) * weight[i]
	}
}

// Softmax replaces x by softmax(x), subtracting the maximum first and
// summing the exponentials in float64 (as ggml's soft_max). -Inf entries
// (masked positions) become 0; a row that is all -Inf becomes NaN, as in
// ggml, for the non-finite checks to catch.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	Scale(float32(1/sum), x)
}

// silu is x·σ(x) = x / (1 + e^-x), as ggml_silu_f32.
func silu(v float32) float32 { return v / (1 + float32(math.Exp(float64(-v)))) }

// SiLU replaces x[i] by x[i]·σ(x[i]).
func SiLU(x []float32) {
	for i, v := range x {
		x[i] = silu(v)
	}
}

// SiLUMul computes gate[i] = SiLU(gate[i]) * up[i], the SwiGLU of a LLaMA
// feed-forward block; len(up) must be at least len(gate).
func SiLUMul(gate, up []float32) {
	up = up[:len(gate)]
	for i, v := range gate {
		gate[i] = float32(silu(v) * up[i])
	}
}
