package trace

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchTrace encodes sampleRun's events repeated n times (ids
// renumbered), the shape of a real traced run.
func benchTrace(b *testing.B, n int) ([]byte, int) {
	b.Helper()
	var buf bytes.Buffer
	w, err := NewJSONWriter(&buf, testHeader())
	if err != nil {
		b.Fatal(err)
	}
	count := 0
	for range n {
		for _, ev := range sampleRun() {
			ev.ID, ev.PreviousID = 0, 0
			if err := w.Write(ev); err != nil {
				b.Fatal(err)
			}
			count++
		}
	}
	w.Close(Summary{})
	return buf.Bytes(), count
}

func BenchmarkJSONWriterEvent(b *testing.B) {
	evs := sampleRun()
	w, err := NewJSONWriter(io.Discard, testHeader())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		ev.ID, ev.PreviousID = 0, 0
		if err := w.Write(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderNext(b *testing.B) {
	doc, n := benchTrace(b, 200)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, evs, _, err := ReadAll(bytes.NewReader(doc))
		if err != nil || len(evs) != n {
			b.Fatalf("%d events, %v", len(evs), err)
		}
	}
}

func BenchmarkBuildIndex(b *testing.B) {
	doc, n := benchTrace(b, 200)
	path := filepath.Join(b.TempDir(), "t.json")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ResetTimer()
	for range b.N {
		ix, err := BuildIndex(path, nil)
		if err != nil || ix.Len() != n {
			b.Fatalf("%v", err)
		}
		ix.Close()
	}
}
