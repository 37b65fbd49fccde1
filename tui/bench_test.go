package tui

import (
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/pipeline"
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

// storiesSource is a live source over stories260K with every state
// traced, as `run --tui` builds it (cli.RunSetup.LiveSource).
func storiesSource(tb testing.TB, n int) Source {
	tb.Helper()
	model, err := pipeline.Load(refdata.Path(tb, "stories260K", "stories260K.gguf"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { model.Close() })
	cfg := trace.DefaultConfig()
	start := func() (func() (trace.Event, bool), func(), error) {
		s, err := model.NewSession("Once upon a time", pipeline.Options{MaxTokens: n, Trace: &cfg})
		if err != nil {
			return nil, nil, err
		}
		return s.Next, s.Close, nil
	}
	p := model.Params
	return NewLiveSource(start, SourceInfo{Model: model.Name, Type: model.FileType, NLayer: p.NLayer, NPredict: n})
}

// BenchmarkStepStories260K measures the `s` latency bar (a step on
// stories260K appears in under 50 ms): from the key to the repainted
// 80×24 screen, on a live run with every state traced — the engine
// computing up to the next transition, the model update and View. It
// reports the mean (ms/step), the median, the 99th percentile and the
// slowest step. Runs restart when they end, outside the timer. On a shared
// machine the slowest steps measure the scheduler (see the load average).
func BenchmarkStepStories260K(b *testing.B) {
	src := storiesSource(b, 16)
	defer src.Close()
	m, err := New(src, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	settleB(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	settleB(m, m.Init()())
	_ = m.View()
	steps := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		if m.done && m.cursor+1 >= m.h.Len() {
			b.StopTimer()
			settleB(m, m.restart()())
			b.StartTimer()
		}
		t0 := time.Now()
		settleB(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
		_ = m.View()
		steps = append(steps, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(steps)
	ms := func(q float64) float64 { return float64(steps[int(q*float64(len(steps)-1))].Microseconds()) / 1e3 }
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/step")
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// settleB handles msg and every message its commands lead to,
// synchronously, as the bubbletea loop would.
func settleB(m *Model, msg tea.Msg) {
	queue := []tea.Msg{msg}
	for len(queue) > 0 {
		msg, queue = queue[0], queue[1:]
		if msg == nil {
			continue
		}
		_, cmd := m.Update(msg)
		queue = append(queue, runCmd(cmd)...)
	}
}
