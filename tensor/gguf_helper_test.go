package tensor_test

import (
	"testing"

	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/tensor"
)

// readGGUFTensor opens a model file with the loader and returns one tensor;
// the mapping stays open until the test ends.
func readGGUFTensor(tb testing.TB, path, name string) *tensor.Tensor {
	tb.Helper()
	f, err := loader.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	t, ok := f.Tensor(name)
	if !ok {
		tb.Fatalf("%s: no tensor %q", path, name)
	}
	return t
}
