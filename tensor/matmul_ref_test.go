package tensor_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/tensor"
)

// TestMatMulTinyWeights runs MatMul on the real blk.0.attn_k.weight of
// every tiny file, with the gguf-py dequantization as the weights of a
// float64 reference: the float path must agree to float32 rounding, the
// integer path within the error of 8-bit activation quantization
// (measured: relative to the reference's magnitude, printed).
func TestMatMulTinyWeights(t *testing.T) {
	dir, idx := loadIndex(t)
	tiny := refdata.Path(t, "tiny")
	files, _ := filepath.Glob(filepath.Join(tiny, "*.gguf"))
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(strings.TrimSuffix(base, ".gguf"), func(t *testing.T) {
			m := readGGUFTensor(t, f, attnK).Matrix()
			wref := readF32File(t, filepath.Join(dir, idx.Tensors[base].File))
			const batch = 2
			x := make([]float32, batch*m.Cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for _, floatPath := range []bool{true, false} {
				pool.FloatPath = floatPath
				dst := make([]float32, batch*m.Rows)
				l := pool.MatMul(dst, m, x, batch)
				var worst float64
				for b := range batch {
					for r := range m.Rows {
						var ref, mag float64
						for c := range m.Cols {
							v := float64(wref[r*m.Cols+c]) * float64(x[b*m.Cols+c])
							ref += v
							mag += math.Abs(v)
						}
						worst = math.Max(worst, math.Abs(float64(dst[b*m.Rows+r])-ref)/mag)
					}
				}
				// Float path: float32 accumulation over 256 terms. Integer
				// path: activations rounded to 1/254 of each block's max;
				// F16/BF16 (integer path): activations rounded to 11 or 8
				// significant bits, at most 2^-11 or 2^-8 relative each.
				bound := 1e-6
				switch {
				case floatPath || m.Type == tensor.F32:
				case m.Type == tensor.F16:
					bound = 1.0 / 2048
				case m.Type == tensor.BF16:
					bound = 1.0 / 256
				default:
					bound = 1.0 / 127
				}
				t.Logf("%s %s: worst |diff|/Σ|w·x| %.2e", m.Type, l.Kernel, worst)
				if worst > bound {
					t.Errorf("%s: worst relative error %g > %g", l.Kernel, worst, bound)
				}
			}
		})
	}
}
