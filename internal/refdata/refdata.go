// Package refdata locates the shared reference models (../shared/models
// relative to the module root) for tests. Tests that need them skip, with a
// message naming the missing path, when the folder is absent.
package refdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the absolute path of ../shared/models seen from the module
// root, and whether it exists. INFERTRACE_SHARED overrides the location.
func Root() (string, bool) {
	dir := os.Getenv("INFERTRACE_SHARED")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		// file is <module>/internal/refdata/refdata.go
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "models")
	}
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

// Dir returns ../shared/models, or skips the test when it is absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, ok := Root()
	if !ok {
		tb.Skipf("reference models not found at %s (clone ../shared beside the repository to run this test)", dir)
	}
	return dir
}

// Path returns a path under ../shared/models, skipping the test when that
// file is absent.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("reference file not found: %s", p)
	}
	return p
}
