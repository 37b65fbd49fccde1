package pipeline

import (
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// BenchmarkTraceOverhead measures what recording costs in decode on the
// 110m fixture (Q8_0), for issue 4's bars: full tracing (every state but
// KERNEL_LAUNCH, statistics of every tensor) within 10% of the engine
// with recording nil, tracing off within 1%.
//
// Every round decodes one token with each variant, in an order shuffled
// per round (so no variant always runs after the one that leaves garbage
// to collect), on one shared worker pool, so the variants see the same
// machine load and no variant's idle workers spin against another's. Each
// round gives a ratio per variant against recording=nil in that round;
// the reported <variant>_overhead_% is the median over rounds (a noisy
// round moves it little), <variant>_tok/s the throughput over all rounds.
// tracing=off runs the very code of recording=nil: its figure is the
// noise floor of the measurement. Run with -benchtime=80x or more.
func BenchmarkTraceOverhead(b *testing.B) {
	m := load110M(b)
	variants := []struct {
		name string
		cfg  *trace.Config
		json bool // stream the events as JSON to io.Discard
	}{
		{"recording=nil", nil, false},
		{"tracing=off", &trace.Config{}, false},
		{"tracing=full", &trace.Config{Steps: trace.AllSteps}, false},
		{"tracing=full+json", &trace.Config{Steps: trace.AllSteps}, true},
	}
	pool := tensor.NewPool(0)
	defer pool.Close()
	n := len(variants)
	sessions, ids := make([]*Session, n), make([]int, n)
	for i, v := range variants {
		s, err := m.NewSession("", Options{Tokens: []int{1, 300, 400, 500}, MaxTokens: b.N + 1, Trace: v.cfg})
		if err != nil {
			b.Fatal(err)
		}
		s.pool.Close()
		s.pool = pool
		var sink func(trace.Event)
		if v.json {
			jw, err := trace.NewJSONWriter(io.Discard, trace.Header{})
			if err != nil {
				b.Fatal(err)
			}
			sink = func(ev trace.Event) { jw.Write(ev) }
		}
		events := 0
		s.yield = func(ev trace.Event) bool {
			events++
			if sink != nil {
				sink(ev)
			}
			return true
		}
		var ok bool
		if ids[i], _, ok = s.iterate(0, s.prompt); !ok {
			b.Fatal("prefill failed")
		}
		if (v.cfg != nil && v.cfg.Steps != 0) != (events > 0) {
			b.Fatalf("%s: %d events in the prefill", v.name, events)
		}
		sessions[i] = s
	}
	spent := make([]time.Duration, n)
	ratios := make([][]float64, n)
	round := make([]time.Duration, n)
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	b.ResetTimer()
	for it := 1; it <= b.N; it++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, v := range order {
			s := sessions[v]
			s.one[0] = ids[v]
			t0 := time.Now()
			id, _, ok := s.iterate(it, s.one[:])
			round[v] = time.Since(t0)
			if !ok {
				b.Fatal("decode failed")
			}
			ids[v] = id
		}
		for v := range n {
			spent[v] += round[v]
			ratios[v] = append(ratios[v], round[v].Seconds()/round[0].Seconds())
		}
	}
	b.StopTimer()
	for v, bv := range variants {
		b.ReportMetric(float64(b.N)/spent[v].Seconds(), bv.name+"_tok/s")
		if v > 0 {
			r := slices.Clone(ratios[v])
			slices.Sort(r)
			b.ReportMetric(100*(r[len(r)/2]-1), bv.name+"_overhead_%")
		}
	}
	// The variants must have generated the same tokens: recording does
	// not change the computation.
	for v := 1; v < n; v++ {
		if !slices.Equal(sessions[v].history, sessions[0].history) {
			b.Errorf("%s generated %v, recording=nil %v", variants[v].name, sessions[v].history, sessions[0].history)
		}
	}
}
