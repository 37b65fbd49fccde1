package tui

import "testing"

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
