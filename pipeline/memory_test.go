package pipeline

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
)

// TestSessionTooLargeForMemory: a file claiming a 2^31-1-position context
// and a huge -n is refused with an error before anything is allocated
// (it crashed out of memory), while an ordinary -n still runs.
func TestSessionTooLargeForMemory(t *testing.T) {
	if _, ok := totalMemory(); !ok {
		t.Skip("physical memory unknown on " + runtime.GOOS)
	}
	spec := smallSpec("llama")
	spec.NCtx = 1<<31 - 1
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := fixtures.WriteGGUFFile(path, spec); err != nil {
		t.Fatal(err)
	}
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := FromFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = m.NewSession("", Options{Tokens: []int{1, 2}, MaxTokens: 1 << 39})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "KV cache of") || !strings.Contains(err.Error(), "lower -n") {
		t.Fatalf("NewSession with -n 2^39: err = %v, want the KV cache refused", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("refusing allocated %d MB", grew>>20)
	}
	if _, err := m.NewSession("", Options{Tokens: []int{1, 2}, MaxTokens: 8}); err != nil {
		t.Errorf("NewSession with -n 8: %v", err)
	}
}
