package tui

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/infertrace/infertrace/trace"
)

// BenchmarkContinue measures the UI's own cost per event of a `c` over a
// live run (recording, timeline, stop checks), without the engine: the
// source hands out prebuilt events.
func BenchmarkContinue(b *testing.B) {
	r := defaultRun()
	r.gen = make([]string, 50)
	for i := range r.gen {
		r.gen[i] = "▁x"
	}
	evs := r.events()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		src := &fakeSource{evs: evs, info: SourceInfo{Mode: "LIVE"}}
		m, _ := New(src, Options{BreakOnError: true, Breakpoints: []string{"if std>100"}})
		m.startMotion(goalContinue)
		for m.running {
			msg := m.fetchCmd(512)().(eventsMsg)
			m.onEvents(msg)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// benchTrace writes a 50-token synthetic run as a trace file.
func benchTrace(b *testing.B) (string, int) {
	r := defaultRun()
	r.gen = make([]string, 50)
	for i := range r.gen {
		r.gen[i] = "▁x"
	}
	path := filepath.Join(b.TempDir(), "bench.json")
	jw, err := trace.CreateJSONFile(path, trace.Header{})
	if err != nil {
		b.Fatal(err)
	}
	evs := r.events()
	for _, ev := range evs {
		if err := jw.Write(ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := jw.Close(trace.Summary{Status: trace.StatusSucceeded}); err != nil {
		b.Fatal(err)
	}
	return path, len(evs)
}

// BenchmarkReplayNext reads a whole trace through the replay source (the
// cost of `G` or a `c` without stops in a replay), to compare with the bare
// index below: decoding the JSON is nearly all of it. (Decoding chunks on
// two goroutines was tried and was slower on the shared 2-core machine.)
func BenchmarkReplayNext(b *testing.B) {
	path, n := benchTrace(b)
	src, err := NewReplaySource(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if err := src.(Preparer).Prepare(nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		src.(*replaySource).next = 0
		for {
			if _, err := src.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

// ...against reading it one event at a time through the index.
func BenchmarkReplayReadEventAt(b *testing.B) {
	path, n := benchTrace(b)
	ix, err := trace.BuildIndex(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	b.ResetTimer()
	for range b.N {
		for i := range ix.Len() {
			if _, err := ix.ReadEventAt(i); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
