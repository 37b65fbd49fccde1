package tensor_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/tensor"
)

const attnK = "blk.0.attn_k.weight"

type dequantIndex struct {
	Tensors map[string]struct {
		Tensor string `json:"tensor"`
		Type   string `json:"type"`
		Ne     []int  `json:"ne"`
		File   string `json:"file"`
		N      int    `json:"n"`
	} `json:"tensors"`
}

func readF32File(tb testing.TB, path string) []float32 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func loadIndex(tb testing.TB) (string, dequantIndex) {
	tb.Helper()
	dir := refdata.Path(tb, "tiny", "reference", "dequant")
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var idx dequantIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		tb.Fatal(err)
	}
	return dir, idx
}

// TestDequantizeMatchesGGUFPy checks every tiny file's blk.0.attn_k.weight
// against gguf-py's dequantization within 1e-6 of the largest |value|.
func TestDequantizeMatchesGGUFPy(t *testing.T) {
	dir, idx := loadIndex(t)
	tiny := refdata.Path(t, "tiny")
	files, _ := filepath.Glob(filepath.Join(tiny, "*.gguf"))
	if len(files) == 0 {
		t.Skip("no tiny GGUF files")
	}
	seen := map[tensor.Type]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(strings.TrimSuffix(base, ".gguf"), func(t *testing.T) {
			ref, ok := idx.Tensors[base]
			if !ok {
				t.Fatalf("%s missing from index.json", base)
			}
			tt := readGGUFTensor(t, f, attnK)
			if tt.Type.String() != ref.Type {
				t.Fatalf("type %s, index says %s", tt.Type, ref.Type)
			}
			seen[tt.Type] = true
			got, err := tensor.Dequantize(tt)
			if err != nil {
				t.Fatal(err)
			}
			want := readF32File(t, filepath.Join(dir, ref.File))
			if len(got) != len(want) || len(got) != ref.N {
				t.Fatalf("len %d, reference %d (index n %d)", len(got), len(want), ref.N)
			}
			var amax, maxDiff float64
			for i := range want {
				amax = math.Max(amax, math.Abs(float64(want[i])))
				maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
			}
			if maxDiff > 1e-6*amax {
				t.Errorf("max |diff| %g > 1e-6 × %g", maxDiff, amax)
			}
			t.Logf("%s: max |diff| %.3g (max |value| %.4g)", tt.Type, maxDiff, amax)

			// Row-by-row decoding must agree with the whole-tensor one.
			m := tt.Matrix()
			row := make([]float32, m.Cols)
			for r := 0; r < m.Rows; r += 37 {
				if err := tensor.DequantizeRow(m.Type, m.Row(r), row); err != nil {
					t.Fatal(err)
				}
				for c := range row {
					if row[c] != got[r*m.Cols+c] {
						t.Fatalf("row %d col %d: DequantizeRow %g, Dequantize %g", r, c, row[c], got[r*m.Cols+c])
					}
				}
			}
		})
	}
	for _, ty := range []tensor.Type{tensor.F32, tensor.F16, tensor.BF16, tensor.Q4_0, tensor.Q4_1, tensor.Q5_0,
		tensor.Q5_1, tensor.Q8_0, tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K} {
		if !seen[ty] {
			t.Errorf("no tiny file exercised %s", ty)
		}
	}
}

// TestQuantizationErrorBands measures the relative RMS error of each
// quantized tiny file's attn_k against the F32 file's and holds each type
// to the band expected of its bit width.
func TestQuantizationErrorBands(t *testing.T) {
	tiny := refdata.Path(t, "tiny")
	ref, err := tensor.Dequantize(readGGUFTensor(t, filepath.Join(tiny, "tiny-llama-f32.gguf"), attnK))
	if err != nil {
		t.Fatal(err)
	}
	var rms float64
	for _, v := range ref {
		rms += float64(v) * float64(v)
	}
	rms = math.Sqrt(rms / float64(len(ref)))
	tests := []struct {
		file string
		band float64
	}{
		{"tiny-llama-f16.gguf", 0.001},
		{"tiny-llama-bf16.gguf", 0.005},
		{"tiny-llama-q8_0.gguf", 0.01},
		{"tiny-llama-q6_k.gguf", 0.03},
		{"tiny-llama-q5_0.gguf", 0.06},
		{"tiny-llama-q5_1.gguf", 0.06},
		{"tiny-llama-q5_k.gguf", 0.06},
		{"tiny-llama-q4_0.gguf", 0.10},
		{"tiny-llama-q4_1.gguf", 0.10},
		{"tiny-llama-q4_k.gguf", 0.10},
		{"tiny-llama-q3_k.gguf", 0.20},
		{"tiny-llama-q2_k.gguf", 0.35},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tensor.Dequantize(readGGUFTensor(t, filepath.Join(tiny, tc.file), attnK))
			if err != nil {
				t.Fatal(err)
			}
			var se float64
			for i := range ref {
				d := float64(got[i]) - float64(ref[i])
				se += d * d
			}
			rel := math.Sqrt(se/float64(len(ref))) / rms
			t.Logf("%-22s relative RMS error %.4f%% (band %.1f%%)", tc.file, 100*rel, 100*tc.band)
			if rel >= tc.band || rel == 0 {
				t.Errorf("relative RMS error %.4g outside (0, %g)", rel, tc.band)
			}
		})
	}
}

// TestDequantizeErrors checks that bad tensors give errors naming the
// tensor, never a panic.
func TestDequantizeErrors(t *testing.T) {
	tests := []struct {
		name string
		t    tensor.Tensor
		want string
	}{
		{"unknown type", tensor.Tensor{Name: "w", Type: 77, Dims: []int{32}, Data: make([]byte, 64)}, `"w": unknown type id 77`},
		{"short data", tensor.Tensor{Name: "w", Type: tensor.Q4_0, Dims: []int{64, 2}, Data: make([]byte, 71)}, `"w" (Q4_0`},
		{"partial block", tensor.Tensor{Name: "w", Type: tensor.Q4_K, Dims: []int{100}, Data: make([]byte, 1000)}, `"w"`},
		{"overflowing dims", tensor.Tensor{Name: "w", Type: tensor.F32, Dims: []int{1 << 32, 1 << 32}, Data: make([]byte, 64)}, `"w" (F32): dims`},
		{"negative dim", tensor.Tensor{Name: "w", Type: tensor.F32, Dims: []int{-4, -4}, Data: make([]byte, 64)}, `"w"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tensor.Dequantize(&tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %s", err, tc.want)
			}
		})
	}
	rowTests := []struct {
		name string
		typ  tensor.Type
		src  int
		n    int
	}{
		{"unknown", 99, 64, 32},
		{"short", tensor.Q8_0, 33, 32},
		{"not whole blocks", tensor.Q6_K, 210, 200},
	}
	for _, tc := range rowTests {
		t.Run("row "+tc.name, func(t *testing.T) {
			if err := tensor.DequantizeRow(tc.typ, make([]byte, tc.src), make([]float32, tc.n)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
