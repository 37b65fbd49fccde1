package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/infertrace/infertrace/fixtures"
)

// mergeTraceSteps folds --trace-steps into --trace: `--trace-steps attn`
// is `--trace=attn`, and with `--trace=ffn` too it selects both.
func (f *RunFlags) mergeTraceSteps() {
	switch {
	case f.TraceSteps == "":
	case f.Trace == "" || f.Trace == "all":
		f.Trace = f.TraceSteps
	default:
		f.Trace += "," + f.TraceSteps
	}
	f.TraceSteps = ""
}

// resolvedThreads is the number of matmul workers a session uses for -t n
// (0: GOMAXPROCS), as recorded in a trace header.
func resolvedThreads(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}

// modelSHA256 is the hex SHA-256 of the model for the header of a JSON
// trace (computed only when one is written): of the GGUF file, of the
// built-in demo model's bytes, or, for a safetensors directory, of its
// *.safetensors files concatenated in name order. It is "" when the files
// cannot be read; loading the model reports that error.
func (f *RunFlags) modelSHA256() string {
	if f.TraceOutput == "" {
		return ""
	}
	h := sha256.New()
	if f.Model == "" {
		h.Write(fixtures.Demo())
		return hex.EncodeToString(h.Sum(nil))
	}
	files := []string{f.Model}
	if st, err := os.Stat(f.Model); err == nil && st.IsDir() {
		var err error
		if files, err = filepath.Glob(filepath.Join(f.Model, "*.safetensors")); err != nil || len(files) == 0 {
			return ""
		}
		slices.Sort(files)
	}
	for _, name := range files {
		if err := hashFile(h, name); err != nil {
			return ""
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashFile(w io.Writer, name string) error {
	fh, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := io.Copy(w, fh); err != nil {
		return fmt.Errorf("hash %s: %w", name, err)
	}
	return nil
}
