package trace

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/infertrace/infertrace/stats"
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

// blockExit is a TRANSFORMER_BLOCK Exited event as the engine records it:
// the statistics of its 13 intermediates, the bulk of a full trace.
func blockExit() Event {
	p := &Payload{Iteration: 3, Layer: 7, Parent: 0, Shape: []int{1, 768}, DurationUS: 1234.5, Tensors: map[string]stats.Summary{}}
	xs := make([]float32, 768)
	for i := range xs {
		xs[i] = float32(i%97)*0.0123 - 0.5
	}
	for _, name := range StageNames {
		if IsBlockStage(name) {
			p.Tensors[name] = stats.Compute(xs)
		}
	}
	s := p.Tensors["layer_out"]
	p.Stats = &s
	return Event{ID: 10, PreviousID: 9, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Type: TaskStateExited, State: TransformerBlock, Payload: p}
}

// BenchmarkMarshalBlockExit encodes one block exit (what --trace-output
// spends per layer and token).
func BenchmarkMarshalBlockExit(b *testing.B) {
	ev := blockExit()
	b.ReportAllocs()
	for range b.N {
		if _, err := ev.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
