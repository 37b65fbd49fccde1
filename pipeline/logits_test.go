package pipeline

import (
	"os"
	"testing"
)

// TestPromptLogitsAllFiles evaluates the prompt of every shared model file
// on both matmul paths and holds each to the reference that computes the
// same math, within 2e-3 max |diff| at every prompt position:
//   - float path (dequantized weights × float32 activations) → *.math.json
//     (only stories260K.gguf has one among the stories files);
//   - integer path (activations quantized to Q8_0/Q8_1/Q8_K, integer dots,
//     as llama.cpp) → *.llamacpp.json, except the files in intDiverges,
//     whose integer path is held to a looser, measured bound.
//
// So every file is held to at least one reference: stories260K's derived
// Q8_0/Q4_0 files (no math.json) to llama.cpp, all the others to math.json.
func TestPromptLogitsAllFiles(t *testing.T) {
	const tol = 2e-3
	// intDiverges bounds the integer path of the files whose llama.cpp
	// logits it does not reproduce within tol; those files are held to
	// math.json (float path, 5e-6) and their integer path only to the bound,
	// so it cannot drift further unnoticed. Measured (2026-11, Go and AVX2
	// kernels alike): BF16 5.8e-3. Its positions 0-2 match llama.cpp to
	// 5e-6 and only positions 3-4 differ, so the gap is in how attention
	// mixes positions in llama.cpp's BF16 run, not in the matmul (whose
	// BF16 activation rounding this path reproduces). F16 (1.8e-3, exact at
	// position 0 only), Q4_1 and Q2_K (5e-6) are held to tol like the rest.
	intDiverges := map[string]float64{"tiny-llama-bf16.gguf": 1e-2}
	type tc struct{ dir, file, ref string }
	cases := []tc{
		{"stories260K", "stories260K.gguf", "once-upon-a-time"},
		{"stories260K", "stories260K-q8_0-ggufpy.gguf", "once-upon-a-time.q8_0"},
		{"stories260K", "stories260K-q4_0-ggufpy.gguf", "once-upon-a-time.q4_0"},
	}
	for _, q := range []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q4_k_m"} {
		cases = append(cases, tc{"tiny", "tiny-llama-" + q + ".gguf", "tiny-llama-" + q})
	}
	for _, c := range cases {
		m := openRef(t, c.dir, c.file)
		lp, mp := refPaths(t, c.dir, c.file, c.ref)
		var lr llamacppRef
		readJSON(t, lp, &lr)
		for _, path := range []struct {
			name  string
			float bool
			ref   string
		}{{"float path vs math.json", true, mp}, {"integer path vs llamacpp.json", false, lp}} {
			t.Run(c.file+"/"+path.name, func(t *testing.T) {
				var want [][]float64
				if path.float {
					if _, err := os.Stat(path.ref); err != nil {
						t.Skipf("no math.json for %s (it was computed from the F32 file)", c.file)
					}
					var mr mathRef
					readJSON(t, path.ref, &mr)
					want = mr.Logits
				} else {
					want = lr.PromptLogits
				}
				s := evalOpts(t, m, lr.PromptTokens, 1, Options{FloatPath: path.float})
				d := maxAbsDiff(s.PromptLogits(), want)
				t.Logf("max |diff| %.3g", d)
				if bound, ok := intDiverges[c.file]; ok && !path.float {
					if d > bound {
						t.Errorf("integer path differs from %s by %.3g > its known bound %g", path.ref, d, bound)
					}
					return
				}
				if d > tol {
					t.Errorf("prompt logits differ from %s by %.3g > %g", path.ref, d, tol)
				}
			})
		}
	}
}
