package tensor_test

import (
	"strings"
	"testing"

	"github.com/infertrace/infertrace/tensor"
)

// FuzzDequantize: arbitrary type ids, dims and bytes give values or an
// error naming the tensor, never a panic.
func FuzzDequantize(f *testing.F) {
	for _, ty := range tensor.Types() {
		ti, _ := ty.Info()
		f.Add(uint32(ty), ti.BlockSize, 2, make([]byte, 2*ti.BlockBytes))
	}
	f.Add(uint32(77), 32, 1, []byte{1, 2, 3})
	f.Add(uint32(tensor.Q4_K), -256, -1, make([]byte, 144))
	f.Add(uint32(tensor.F32), 1<<31, 1<<31, []byte{})
	f.Fuzz(func(t *testing.T, typ uint32, cols, rows int, data []byte) {
		tt := &tensor.Tensor{Name: "fz", Type: tensor.Type(typ), Dims: []int{cols, rows}, Data: data}
		out, err := tensor.Dequantize(tt)
		if err != nil {
			if !strings.Contains(err.Error(), `"fz"`) {
				t.Fatalf("error does not name the tensor: %v", err)
			}
			return
		}
		if len(out) != cols*rows {
			t.Fatalf("%d values for %dx%d", len(out), cols, rows)
		}
		if cols > 0 && cols <= 1<<16 {
			row := make([]float32, cols)
			_ = tensor.DequantizeRow(tt.Type, data, row)
		}
	})
}
