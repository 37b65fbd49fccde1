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
	p := &Payload{Iteration: 3, Layer: 7, Parent: 0, Shape: []int{1, 768}, DurationUS: 1234.5, Tensors: map[string]*stats.Summary{}}
	xs := make([]float32, 768)
	for i := range xs {
		xs[i] = float32(i%97)*0.0123 - 0.5
	}
	for _, name := range StageNames {
		if IsBlockStage(name) {
			s := stats.Compute(xs)
			p.Tensors[name] = &s
		}
	}
	p.Stats = p.Tensors["layer_out"]
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

// layerEvents are the events of one traced decode step's 12 layers as the
// engine records them (a block entered, its four states entered and
// exited with their tensors, the block exited with all 13), each tensor
// with its own statistics (156 distinct summaries); seed varies them from
// step to step.
func layerEvents(seed int) []Event {
	var evs []Event
	xs := make([]float32, 768)
	tensor := func(l, k int) stats.Summary {
		for i := range xs {
			xs[i] = float32((i*(k+3)+l*11+seed)%97)*0.0123 - 0.5
		}
		return stats.Compute(xs)
	}
	ev := func(t EventType, st State, p *Payload) {
		evs = append(evs, Event{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Type: t, State: st, Payload: p})
	}
	for l := range 12 {
		block := &Payload{Iteration: 3, Layer: l, Shape: []int{1, 768}, DurationUS: 1234.5, Tensors: map[string]*stats.Summary{}}
		in := tensor(l-1, 12)
		ev(TaskStateEntered, TransformerBlock, &Payload{Iteration: 3, Layer: l, Shape: []int{1, 768}, Stats: &in})
		k := 0
		for _, st := range []struct {
			state State
			n     int
		}{{LayerNorm, 1}, {Attention, 6}, {LayerNorm, 1}, {FFN, 5}} {
			ev(TaskStateEntered, st.state, &Payload{Iteration: 3, Layer: l, Parent: 1, Shape: []int{1, 768}, Stats: &in})
			out := &Payload{Iteration: 3, Layer: l, Parent: 1, Shape: []int{1, 768}, DurationUS: 87.25, Tensors: map[string]*stats.Summary{}}
			for range st.n {
				s := tensor(l, k)
				out.Tensors[StageNames[k+1]] = &s
				block.Tensors[StageNames[k+1]] = &s
				k++
			}
			s := out.Tensors[StageNames[k]]
			out.Stats, in = s, *s
			ev(TaskStateExited, st.state, out)
		}
		block.Stats = &in
		ev(TaskStateExited, TransformerBlock, block)
	}
	return evs
}

// BenchmarkJSONWriterStep writes the 12 layers' events of a decode step
// (what --trace-output costs per token, bar LM_HEAD, SAMPLE and DECODE).
// It cycles through 8 steps of different statistics (1248 summaries), so
// that, as in a run, a summary is found in the writer's cache only within
// its own step.
func BenchmarkJSONWriterStep(b *testing.B) {
	var steps [][]Event
	for seed := range 8 {
		steps = append(steps, layerEvents(seed))
	}
	w, err := NewJSONWriter(io.Discard, testHeader())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := range b.N {
		for _, ev := range steps[i%len(steps)] {
			if err := w.Write(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(steps[0])), "ns/event")
}
