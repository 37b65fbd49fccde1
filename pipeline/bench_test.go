package pipeline

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// BenchmarkDecode110M measures decode throughput (tok/s) of the 110m
// fixture in Q8_0 with recording nil (Options.Trace nil), tracing off (a
// Config selecting no state), full tracing (trace.AllSteps: every state but
// KERNEL_LAUNCH, events discarded) and full tracing streamed as JSON to
// io.Discard. Run with -benchtime=32x; compare the tok/s of one run.
func BenchmarkDecode110M(b *testing.B) {
	m := load110M(b)
	for _, bc := range benchVariants {
		b.Run(bc.name, func(b *testing.B) {
			s, id := prefilled(b, m, bc, b.N+1)
			defer s.Close()
			var ok bool
			b.ReportAllocs()
			b.ResetTimer()
			for it := 1; it <= b.N; it++ {
				s.one[0] = id
				if id, _, ok = s.iterate(it, s.one[:]); !ok {
					b.Fatal("decode failed")
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// benchVariant is one recording setting compared by the benchmarks.
type benchVariant struct {
	name string
	cfg  *trace.Config
	json bool // stream the events as JSON to io.Discard
}

var benchVariants = []benchVariant{
	{"recording=nil", nil, false},
	{"tracing=off", &trace.Config{}, false},
	{"tracing=full", &trace.Config{Steps: trace.AllSteps}, false},
	{"tracing=full+json", &trace.Config{Steps: trace.AllSteps}, true},
}

// load110M writes the 110m preset in Q8_0 to a temporary directory and
// loads it.
func load110M(b *testing.B) *Model {
	b.Helper()
	spec, err := fixtures.Preset("110m")
	if err != nil {
		b.Fatal(err)
	}
	spec.Type = tensor.Q8_0
	path := filepath.Join(b.TempDir(), "110m-q8_0.gguf")
	if err := fixtures.WriteGGUFFile(path, spec); err != nil {
		b.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// prefilled returns a session of variant v that has run its prompt, and
// the token it sampled.
func prefilled(b *testing.B, m *Model, v benchVariant, n int) (*Session, int) {
	b.Helper()
	s, err := m.NewSession("", Options{Tokens: []int{1, 300, 400, 500}, MaxTokens: n, Trace: v.cfg})
	if err != nil {
		b.Fatal(err)
	}
	var jw *trace.JSONWriter
	if v.json {
		if jw, err = trace.NewJSONWriter(io.Discard, trace.Header{}); err != nil {
			b.Fatal(err)
		}
	}
	s.yield = func(ev trace.Event) bool {
		if jw != nil {
			jw.Write(ev)
		}
		return true
	}
	id, _, ok := s.iterate(0, s.prompt)
	if !ok {
		b.Fatal("prefill failed")
	}
	return s, id
}

// BenchmarkTracingOverhead110M decodes with every variant in turn, one
// token each round (rotating the order), so that a shared, noisy machine
// slows them alike; it reports each variant's cost relative to recording
// nil as overhead-% metrics.
func BenchmarkTracingOverhead110M(b *testing.B) {
	m := load110M(b)
	n := len(benchVariants)
	sessions, ids := make([]*Session, n), make([]int, n)
	for i, v := range benchVariants {
		sessions[i], ids[i] = prefilled(b, m, v, b.N+1)
		defer sessions[i].Close()
	}
	spent := make([]time.Duration, n)
	b.ResetTimer()
	for it := 1; it <= b.N; it++ {
		for k := range n {
			v := (it + k) % n
			s := sessions[v]
			s.one[0] = ids[v]
			t0 := time.Now()
			id, _, ok := s.iterate(it, s.one[:])
			spent[v] += time.Since(t0)
			if !ok {
				b.Fatal("decode failed")
			}
			ids[v] = id
		}
	}
	b.StopTimer()
	for v, bv := range benchVariants {
		b.ReportMetric(float64(b.N)/spent[v].Seconds(), bv.name+"_tok/s")
		if v > 0 {
			b.ReportMetric(100*(spent[v].Seconds()/spent[0].Seconds()-1), bv.name+"_overhead_%")
		}
	}
}

// BenchmarkPrefill110M measures a 64-token prompt batch (llama-bench's
// pp64) on the 110m fixture in Q8_0 with recording nil; it reports tok/s.
func BenchmarkPrefill110M(b *testing.B) {
	m := load110M(b)
	toks := make([]int, 64)
	for i := range toks {
		toks[i] = (i*7919 + 13) % m.Params.NVocab
	}
	b.ReportAllocs()
	b.ResetTimer()
	var spent time.Duration
	for range b.N {
		s, err := m.NewSession("", Options{Tokens: toks, MaxTokens: 1})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, _, ok := s.iterate(0, s.prompt); !ok {
			b.Fatal("prefill failed")
		}
		spent += time.Since(t0)
		s.Close()
	}
	b.ReportMetric(float64(b.N*len(toks))/spent.Seconds(), "tok/s")
}

// BenchmarkAttention measures one layer's decode attention (12 heads of
// 64, as the 110m preset) over a KV cache of ctx positions, on the pool.
func BenchmarkAttention(b *testing.B) {
	spec := smallSpec("llama")
	spec.NEmbd, spec.NHead, spec.NHeadKV, spec.NLayer, spec.NFF, spec.NCtx = 768, 12, 12, 1, 256, 1024
	path := filepath.Join(b.TempDir(), "attn.gguf")
	if err := fixtures.WriteGGUFFile(path, spec); err != nil {
		b.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, ctx := range []int{32, 256, 1024} {
		b.Run(fmt.Sprintf("ctx=%d", ctx), func(b *testing.B) {
			s, err := m.NewSession("", Options{Tokens: []int{1}, MaxTokens: ctx, Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range s.kcache[0] {
				s.kcache[0][i], s.vcache[0][i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			q := s.q[:768]
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			s.pos = ctx - 1
			b.ResetTimer()
			for range b.N {
				s.attention(s.att[:768], q, 0, 1)
			}
		})
	}
}
