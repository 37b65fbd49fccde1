package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/trace"
)

// loadStories loads stories260K with its tokenizer.
func loadStories(t testing.TB, file string) *Model {
	t.Helper()
	m, err := Load(refdata.Path(t, "stories260K", file))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// collect runs a session and returns its events and the session.
func collect(t testing.TB, m *Model, prompt string, opts Options) ([]trace.Event, *Session) {
	t.Helper()
	s, err := m.NewSession(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var evs []trace.Event
	for ev := range s.Events() {
		evs = append(evs, ev)
	}
	return evs, s
}

func validate(t testing.TB, evs []trace.Event) {
	t.Helper()
	var v trace.Validator
	for _, ev := range evs {
		v.Check(ev)
	}
	for _, vi := range v.Finish() {
		t.Errorf("trace violation: %s", vi)
	}
}

func TestEventCounts(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	const n, layers, matmulsPerLayer = 8, 5, 7
	for _, tc := range []struct {
		name    string
		steps   trace.Steps
		kernels int
	}{
		{"default (no kernels)", trace.AllSteps, 0},
		{"with kernels", trace.AllSteps.With(trace.KernelLaunch), n * (layers*matmulsPerLayer + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := trace.Config{Steps: tc.steps, TopK: 5}
			evs, s := collect(t, m, "Once upon a time", Options{MaxTokens: n, Trace: &cfg})
			validate(t, evs)
			entered := map[trace.State]int{}
			exited := map[trace.State]int{}
			for _, ev := range evs {
				switch ev.Type {
				case trace.TaskStateEntered:
					entered[ev.State]++
				case trace.TaskStateExited:
					exited[ev.State]++
					p := ev.Payload
					switch ev.State {
					case trace.TransformerBlock, trace.FFN:
						if lo, ok := p.Tensors["layer_out"]; !ok || p.Stats == nil || *p.Stats != *lo {
							t.Fatalf("%s exit (layer %d) lacks its output layer_out as Stats: %+v", ev.State, p.Layer, p)
						}
					case trace.LMHead:
						if p.Stats == nil || p.Stats.N != p.Tensors["logits"].N || len(p.TopKLogits) != 5 {
							t.Fatalf("LM_HEAD exit: stats %+v, %d top logits", p.Stats, len(p.TopKLogits))
						}
					}
				}
			}
			want := map[trace.State]int{
				trace.Tokenize: 1, trace.Embed: n, trace.TransformerBlock: n * layers,
				trace.LayerNorm: 2 * n * layers, trace.Attention: n * layers, trace.FFN: n * layers,
				trace.LMHead: n, trace.Sample: n, trace.Decode: n, trace.BrickProfile: n,
				trace.KernelLaunch: tc.kernels,
			}
			for st, w := range want {
				if entered[st] != w || exited[st] != w {
					t.Errorf("%s: entered %d, exited %d, want %d", st, entered[st], exited[st], w)
				}
			}
			if last := evs[len(evs)-1]; last.Type != trace.ExecutionSucceeded {
				t.Errorf("last event %s, want ExecutionSucceeded", last.Type)
			}
			// The traced greedy text equals the untraced one.
			_, plain := collect(t, m, "Once upon a time", Options{MaxTokens: n})
			if s.Text() != plain.Text() || !strings.HasPrefix(s.Text(), ", there was") {
				t.Errorf("traced text %q, untraced %q", s.Text(), plain.Text())
			}
		})
	}
}

func TestInjections(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	for _, tc := range []struct {
		spec, code, op string
		layer          int
		onError        trace.OnError
		wantErrors     int
	}{
		{"nan@blk.3.ffn_out", trace.CodeNaN, "blk.3.ffn_out", 3, trace.Stop, 1},
		{"inf@blk.1.attn_out:index=0", trace.CodeInf, "blk.1.attn_out", 1, trace.Stop, 1},
		{"nan@blk.3.ffn_out", trace.CodeNaN, "blk.3.ffn_out", 3, trace.Continue, 4},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			in, err := trace.ParseInjection(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			cfg := trace.Config{Steps: trace.AllSteps, OnError: tc.onError}
			evs, s := collect(t, m, "Once upon a time", Options{MaxTokens: 4, Trace: &cfg, Injections: []trace.Injection{in}})
			validate(t, evs)
			last := evs[len(evs)-1]
			var tally trace.Tally
			for _, ev := range evs {
				tally.Add(ev)
			}
			if tc.onError == trace.Stop {
				if last.Type != trace.ExecutionFailed || last.Error != tc.code || !strings.Contains(last.Cause, tc.op) {
					t.Fatalf("last event %s %q %q, want ExecutionFailed %s naming %s", last.Type, last.Error, last.Cause, tc.code, tc.op)
				}
				// No later-stage event: after the producer's Entered come
				// only the Exited of the states left open, the producer's
				// first, carrying the failure and the failing tensor's
				// statistics (its NaN/Inf counted).
				i := len(evs) - 2
				for i > 0 && evs[i].Type == trace.TaskStateExited {
					i--
				}
				prod := evs[i]
				if prod.Type != trace.TaskStateEntered || prod.Payload.Layer != tc.layer {
					t.Fatalf("last Entered before the failure: %s %s layer %d", prod.Type, prod.State, prod.Payload.Layer)
				}
				exit := evs[i+1]
				stage := strings.TrimPrefix(tc.op, fmt.Sprintf("blk.%d.", tc.layer))
				if exit.State != prod.State || len(exit.Payload.Issues) != 1 || exit.Payload.Issues[0].Op != tc.op ||
					exit.Payload.Tensors[stage].Finite() {
					t.Errorf("the producer %s exits with issues %+v and %s %+v; want the failure and the non-finite tensor",
						prod.State, exit.Payload.Issues, stage, exit.Payload.Tensors[stage])
				}
				if n := len(evs) - 2 - i; n != 2 {
					t.Errorf("%d states closed after the failure, want 2 (the producer's and its block)", n)
				}
				if s.Failure() == nil || s.Failure().Op != tc.op {
					t.Errorf("failure %+v, want op %s", s.Failure(), tc.op)
				}
			} else {
				if last.Type != trace.ExecutionSucceeded {
					t.Fatalf("last event %s, want ExecutionSucceeded", last.Type)
				}
			}
			if sum := tally.Summary(0); sum.ErrorCount != tc.wantErrors {
				t.Errorf("summary counts %d errors, want %d", sum.ErrorCount, tc.wantErrors)
			}
		})
	}
}

// TestInjectionOnceCountsOnce: a fault injected in iteration 0 only
// reaches later iterations through the KV cache; that propagation is not
// a new producer, so a continued run counts one error.
func TestInjectionOnceCountsOnce(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	in, err := trace.ParseInjection("nan@blk.1.ffn_out:iteration=0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := trace.Config{Steps: trace.AllSteps, OnError: trace.Continue}
	evs, s := collect(t, m, "Once upon a time", Options{MaxTokens: 4, Trace: &cfg, Injections: []trace.Injection{in}})
	validate(t, evs)
	var tally trace.Tally
	var ops []string
	for _, ev := range evs {
		tally.Add(ev)
		if ev.Payload != nil {
			for _, is := range ev.Payload.Issues {
				ops = append(ops, is.Op)
			}
		}
	}
	if s.Errors() != 1 || tally.Summary(0).ErrorCount != 1 || len(ops) != 1 || ops[0] != "blk.1.ffn_out" {
		t.Errorf("errors %d (summary %d), issues at %v; want one, at blk.1.ffn_out", s.Errors(), tally.Summary(0).ErrorCount, ops)
	}
}

// TestEnginePanicIsExecutionFailed: a panic inside the engine ends the
// sequence with ExecutionFailed (InternalError) and Run reports it; a
// panic in the consumer's loop body is not swallowed.
func TestEnginePanicIsExecutionFailed(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	cfg := trace.Config{Steps: trace.AllSteps}
	s, err := m.NewSession("Once upon a time", Options{MaxTokens: 2, Trace: &cfg,
		OnToken: func(int, string) { panic("boom") }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var evs []trace.Event
	for ev := range s.Events() {
		evs = append(evs, ev)
	}
	validate(t, evs)
	last := evs[len(evs)-1]
	if last.Type != trace.ExecutionFailed || last.Error != "InternalError" || !strings.Contains(last.Cause, "boom") {
		t.Errorf("last event %s %q %q, want ExecutionFailed InternalError naming the panic", last.Type, last.Error, last.Cause)
	}
	if s.Failure() == nil {
		t.Error("Failure() is nil after an engine panic")
	}

	s2, err := m.NewSession("Once upon a time", Options{MaxTokens: 2, Trace: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	defer func() {
		if r := recover(); r != "consumer" {
			t.Errorf("recovered %v, want the consumer's own panic", r)
		}
	}()
	for range s2.Events() {
		panic("consumer")
	}
}

// TestWeightNaNProducer: a NaN planted in a weight (the demo-nan preset,
// blk.1.ffn_down.weight) is reported at the op that multiplies by it.
func TestWeightNaNProducer(t *testing.T) {
	spec, err := fixtures.Preset("demo-nan")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo-nan.gguf")
	if err := fixtures.WriteGGUFFile(path, spec); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := trace.Config{Steps: trace.AllSteps}
	evs, s := collect(t, m, "Once upon a time", Options{MaxTokens: 4, Trace: &cfg})
	validate(t, evs)
	last := evs[len(evs)-1]
	if last.Type != trace.ExecutionFailed || s.Failure() == nil || s.Failure().Op != "blk.1.ffn_out" {
		t.Errorf("last event %s %q, failure %+v; want ExecutionFailed at blk.1.ffn_out", last.Type, last.Cause, s.Failure())
	}
}

// bigVocab claims more tokens than the model embeds.
type bigVocab struct{ Vocab }

func (v bigVocab) Size() int { return v.Vocab.Size() + 10 }

// TestVocabShapeMismatch: a tokenizer larger than the embedding matrix
// stops the run after TOKENIZE with a ShapeMismatch naming token_embd.
func TestVocabShapeMismatch(t *testing.T) {
	base := loadStories(t, "stories260K.gguf")
	m := *base
	m.Vocab = bigVocab{base.Vocab}
	cfg := trace.Config{Steps: trace.AllSteps}
	evs, s := collect(t, &m, "Once upon a time", Options{MaxTokens: 2, Trace: &cfg})
	validate(t, evs)
	last := evs[len(evs)-1]
	if last.Type != trace.ExecutionFailed || last.Error != trace.CodeShapeMismatch || s.Failure().Op != "token_embd.weight" {
		t.Errorf("last event %s %s %q, want ExecutionFailed ShapeMismatch at token_embd.weight", last.Type, last.Error, last.Cause)
	}
	if len(evs) != 4 { // started, TOKENIZE entered/exited, failed
		t.Errorf("%d events, want 4 (nothing after TOKENIZE)", len(evs))
	}
}

// TestNextOneTransitionPerCall: Next returns the same events as Events,
// one per call, and the engine does not run ahead of the caller: a token
// reaches OnToken only once the caller has pulled DECODE's Exited.
func TestNextOneTransitionPerCall(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	cfg := trace.Config{Steps: trace.AllSteps}
	want, _ := collect(t, m, "Once upon a time", Options{MaxTokens: 3, Trace: &cfg})

	var tokens []int
	s, err := m.NewSession("Once upon a time", Options{MaxTokens: 3, Trace: &cfg,
		OnToken: func(id int, _ string) { tokens = append(tokens, id) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []trace.Event
	for {
		ev, ok := s.Next()
		if !ok {
			break
		}
		got = append(got, ev)
		if ev.Type == trace.TaskStateEntered && ev.State == trace.Decode {
			if it := ev.Payload.Iteration; len(tokens) != it {
				t.Fatalf("at DECODE entered (iteration %d) %d tokens were already decoded: the engine ran ahead", it, len(tokens))
			}
		}
		if ev.Type == trace.TaskStateExited && ev.State == trace.Decode {
			if it := ev.Payload.Iteration; len(tokens) != it+1 {
				t.Fatalf("at DECODE exited (iteration %d) %d tokens decoded, want %d", it, len(tokens), it+1)
			}
		}
	}
	if _, ok := s.Next(); ok {
		t.Error("Next returned an event after the final one")
	}
	validate(t, got)
	if len(got) != len(want) {
		t.Fatalf("Next gave %d events, Events %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Type != w.Type || g.State != w.State {
			t.Fatalf("event %d: Next %d %s %s, Events %d %s %s", i, g.ID, g.Type, g.State, w.ID, w.Type, w.State)
		}
	}
}

// TestNextAbandoned: closing a session in the middle of a run pulled by
// Next stops the engine (no goroutine left blocked, -race clean).
func TestNextAbandoned(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	cfg := trace.Config{Steps: trace.AllSteps}
	s, err := m.NewSession("Once upon a time", Options{MaxTokens: 4, Trace: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, ok := s.Next(); !ok {
			t.Fatal("run ended within 10 events")
		}
	}
	s.Close()
	if ev, ok := s.Next(); ok {
		t.Errorf("Next after Close returned %s %s", ev.Type, ev.State)
	}
}

// TestBlockTensorsAreComplete: a traced TRANSFORMER_BLOCK's tensors map
// holds every intermediate the block computed, the same statistics its
// traced children recorded.
func TestBlockTensorsAreComplete(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	for _, steps := range []string{"layer", "layer,attn,ffn,norm"} {
		t.Run(steps, func(t *testing.T) {
			st, err := trace.ParseSteps(steps)
			if err != nil {
				t.Fatal(err)
			}
			cfg := trace.Config{Steps: st}
			evs, _ := collect(t, m, "Once upon a time", Options{MaxTokens: 2, Trace: &cfg})
			validate(t, evs)
			children := map[string]bool{}
			blocks := 0
			for _, ev := range evs {
				if ev.Type != trace.TaskStateExited {
					continue
				}
				p := ev.Payload
				if ev.State != trace.TransformerBlock {
					for name, sum := range p.Tensors {
						children[fmt.Sprintf("%d/%d/%s/%v", p.Iteration, p.Layer, name, sum)] = true
					}
					continue
				}
				blocks++
				for _, name := range trace.StageNames {
					if !trace.IsBlockStage(name) {
						continue
					}
					sum, ok := p.Tensors[name]
					if !ok {
						t.Fatalf("block %d iteration %d lacks %s: has %d tensors", p.Layer, p.Iteration, name, len(p.Tensors))
					}
					if st.Has(trace.Attention) && !children[fmt.Sprintf("%d/%d/%s/%v", p.Iteration, p.Layer, name, sum)] {
						t.Errorf("block %d iteration %d: %s differs from its child's", p.Layer, p.Iteration, name)
					}
				}
				if len(p.Tensors) != 13 {
					t.Errorf("block %d: %d tensors, want the 13 block stages", p.Layer, len(p.Tensors))
				}
			}
			if blocks != 2*5 {
				t.Errorf("%d blocks exited, want 10", blocks)
			}
		})
	}
}

// TestBrickProfileWallIsTheEngines: the time a consumer holds each event
// (as a slow sink or a paused debugger would) is not counted in the
// iteration's wall time, so coverage = measured / wall stays a statement
// about the engine; the bricks never exceed the wall. The same run is
// profiled with and without a 2 ms hold per event; the walls must differ
// by much less than the time held.
func TestBrickProfileWallIsTheEngines(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	cfg := trace.Config{Steps: trace.AllSteps}
	profile := func(hold time.Duration) (wall, held time.Duration) {
		s, err := m.NewSession("Once upon a time", Options{MaxTokens: 2, Trace: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		profiles := 0
		for ev := range s.Events() {
			if ev.Type == trace.TaskStateExited && ev.State == trace.BrickProfile {
				profiles++
				pr := ev.Payload.Profile
				if pr == nil || pr.WallNS <= 0 || pr.MeasuredNS <= 0 {
					t.Fatalf("iteration %d: profile %+v", ev.Payload.Iteration, pr)
				}
				if pr.Coverage > 1 || pr.MeasuredNS > pr.WallNS {
					t.Errorf("iteration %d: measured %d ns of %d ns wall (coverage %.2f > 1)", ev.Payload.Iteration, pr.MeasuredNS, pr.WallNS, pr.Coverage)
				}
				wall += time.Duration(pr.WallNS)
				continue
			}
			if hold > 0 && ev.Type != trace.ExecutionStarted && ev.State != trace.Tokenize {
				time.Sleep(hold)
				held += hold
			}
		}
		if profiles != 2 {
			t.Errorf("%d BRICK_PROFILE events, want 2", profiles)
		}
		return wall, held
	}
	free, _ := profile(0)
	slow, held := profile(2 * time.Millisecond)
	if d := slow - free; d > held/2 {
		t.Errorf("holding each event 2 ms (%v in all) raised the profiled wall from %v to %v: it counts the consumer's time", held, free, slow)
	}
}

// TestVocabOverflowAtEmbed: a prompt token id past the vocabulary stops
// the run at EMBED with VocabOverflow naming embed and the id.
func TestVocabOverflowAtEmbed(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	cfg := trace.Config{Steps: trace.AllSteps}
	evs, s := collect(t, m, "", Options{Tokens: []int{1, 600}, MaxTokens: 2, Trace: &cfg})
	validate(t, evs)
	last := evs[len(evs)-1]
	if last.Type != trace.ExecutionFailed || last.Error != trace.CodeVocabOverflow || !strings.Contains(last.Cause, "token id 600") ||
		s.Failure() == nil || s.Failure().Op != "embed" {
		t.Errorf("last event %s %s %q, failure %+v; want ExecutionFailed VocabOverflow at embed naming id 600", last.Type, last.Error, last.Cause, s.Failure())
	}
	if prev := evs[len(evs)-2]; prev.Type != trace.TaskStateExited || prev.State != trace.Embed ||
		len(prev.Payload.Issues) != 1 || prev.Payload.Issues[0].Code != trace.CodeVocabOverflow {
		t.Errorf("event before the failure: %s %s, want EMBED exited with the VocabOverflow issue", prev.Type, prev.State)
	}
}

// garbageVocab decodes every token as U+FFFD, as a wrong tokenizer would.
type garbageVocab struct{ Vocab }

func (v garbageVocab) NewDecoder() Decoder { return garbageDecoder{} }

type garbageDecoder struct{}

func (garbageDecoder) Add(int) string { return "\uFFFD" }
func (garbageDecoder) Flush() string  { return "" }

// TestGarbageOutputWarning: decoded text of more than 30% U+FFFD ends a
// run with a GarbageOutput warning in ExecutionSucceeded, counted as a
// warning, not an error; ordinary text does not.
func TestGarbageOutputWarning(t *testing.T) {
	base := loadStories(t, "stories260K.gguf")
	for _, tc := range []struct {
		name     string
		vocab    Vocab
		warnings int
	}{{"garbage", garbageVocab{base.Vocab}, 1}, {"stories", base.Vocab, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			m := *base
			m.Vocab = tc.vocab
			cfg := trace.Config{Steps: trace.AllSteps}
			evs, s := collect(t, &m, "Once upon a time", Options{MaxTokens: 4, Trace: &cfg})
			validate(t, evs)
			var tally trace.Tally
			for _, ev := range evs {
				tally.Add(ev)
			}
			last := evs[len(evs)-1]
			sum := tally.Summary(0)
			if last.Type != trace.ExecutionSucceeded || sum.WarningCount != tc.warnings || sum.ErrorCount != 0 || s.Errors() != 0 {
				t.Fatalf("last %s, %d warnings %d errors; want ExecutionSucceeded with %d warnings", last.Type, sum.WarningCount, sum.ErrorCount, tc.warnings)
			}
			if tc.warnings > 0 {
				is := last.Payload.Issues[0]
				if is.Code != trace.CodeGarbageOutput || is.Severity != trace.SevWarning || !strings.Contains(is.Message, "4 of 4 characters") {
					t.Errorf("issue %+v, want a GarbageOutput warning over 4 of 4 characters", is)
				}
			}
		})
	}
}

// Every test of the package verifies that a state's input summary reused
// from the previous stage equals a fresh one (the input was not changed
// in between). Benchmarks measure the engine as shipped, without it.
func init() {
	checkInputSummaries = !slices.ContainsFunc(os.Args, func(a string) bool { return strings.HasPrefix(a, "-test.bench") })
}

// TestSampledRank: SAMPLE's sampled_rank is the token's place among the
// raw logits: its place in LM_HEAD's top-k list when it is there, beyond
// the list otherwise (a hot, unfiltered sampler draws such tokens).
func TestSampledRank(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	cfg := trace.Config{Steps: trace.AllSteps, TopK: 3}
	evs, _ := collect(t, m, "Once upon a time", Options{MaxTokens: 24, Trace: &cfg,
		Sampler: trace.SamplerConfig{Temperature: 2, TopP: 1, RepeatPenalty: 1, Seed: 7}})
	var top []trace.TokenScore
	inList, beyond := 0, 0
	for _, ev := range evs {
		if ev.Type != trace.TaskStateExited {
			continue
		}
		switch ev.State {
		case trace.LMHead:
			top = ev.Payload.TopKLogits
		case trace.Sample:
			id, r := *ev.Payload.SampledID, ev.Payload.SampledRank
			want := 0
			for i, ts := range top {
				if ts.ID == id {
					want = i + 1
				}
			}
			switch {
			case want > 0 && r != want:
				t.Errorf("iteration %d: token %d is %d. in the top logits, sampled_rank %d", ev.Payload.Iteration, id, want, r)
			case want == 0 && r <= len(top):
				t.Errorf("iteration %d: token %d is not in the top %d logits, sampled_rank %d", ev.Payload.Iteration, id, len(top), r)
			}
			if want > 0 {
				inList++
			} else {
				beyond++
			}
		}
	}
	if inList == 0 || beyond == 0 {
		t.Errorf("%d tokens within the top 3, %d beyond: the test needs both", inList, beyond)
	}
}
