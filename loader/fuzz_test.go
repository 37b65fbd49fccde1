package loader

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
)

// noConfigDir is an empty directory, so finishSafetensors finds no
// config.json (creating one per fuzz execution would dominate its cost).
var noConfigDir string

// checkParsed asserts the invariants of any parse result: an error is a
// one-line *FormatError naming the file; a success has in-bounds tensors
// and metadata that formats and configures without panicking.
func checkParsed(t *testing.T, name string, f *File, err error) {
	t.Helper()
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), name+": ") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("bad error %T %q", err, err)
		}
		return
	}
	for _, k := range f.Meta.Keys() {
		v, _ := f.Meta.Get(k)
		_ = v.Format(8)
	}
	for _, tn := range f.Tensors {
		if size, err := tensorBytes(tn); err != nil || uint64(len(tn.Data)) != size {
			t.Fatalf("tensor %q: %d data bytes, shape says %d (%v)", tn.Name, len(tn.Data), size, err)
		}
	}
	// Non-empty tensors never share bytes.
	type span struct {
		start, end int64
		name       string
	}
	var spans []span
	for i, tn := range f.Tensors {
		if len(tn.Data) > 0 {
			spans = append(spans, span{f.offsets[i], f.offsets[i] + int64(len(tn.Data)), tn.Name})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i, furthest := 1, 0; i < len(spans); i++ {
		if spans[i].start < spans[furthest].end {
			t.Fatalf("tensor %q [%d, %d) overlaps %q [%d, %d)", spans[i].name, spans[i].start, spans[i].end,
				spans[furthest].name, spans[furthest].start, spans[furthest].end)
		}
		if spans[i].end > spans[furthest].end {
			furthest = i
		}
	}
	if _, err := f.Config(); err != nil {
		checkParsed(t, f.Path, nil, err)
	}
}

func FuzzOpenGGUF(f *testing.F) {
	f.Add(validGGUF().bytes())
	if root, ok := refdata.Root(); ok {
		// The small vocab-only files (real headers with big string arrays)
		// and the small real models (llama.cpp's and gguf-py's writers).
		var paths []string
		for _, pat := range []string{"vocab/*.gguf", "stories260K/*.gguf", "tiny/*.gguf"} {
			m, _ := filepath.Glob(filepath.Join(root, pat))
			paths = append(paths, m...)
		}
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := FromBytes("fuzz.gguf", b)
		checkParsed(t, "fuzz.gguf", file, err)
	})
}

func FuzzOpenSafetensors(f *testing.F) {
	noConfigDir = f.TempDir()
	entries, n := tinyLlamaST(false)
	f.Add(safetensorsBytes(entries, n), []byte(tinyHFConfig))
	f.Fuzz(func(t *testing.T, b, config []byte) {
		ts, off, err := parseSafetensors("fuzz.safetensors", b)
		if err != nil {
			checkParsed(t, "fuzz.safetensors", nil, err)
			return
		}
		// A directory without config.json: the fuzzed config is applied below.
		file := &File{Path: "fuzz.safetensors", Format: "safetensors", DataOffset: off, Dir: noConfigDir}
		if err := file.finishSafetensors(ts); err != nil {
			checkParsed(t, "fuzz.safetensors", nil, err)
			return
		}
		if err := hfMetadata(file.Meta, "config.json", config, "fuzz"); err != nil {
			checkParsed(t, "config.json", nil, err)
			return
		}
		checkParsed(t, "fuzz.safetensors", file, nil)
	})
}
