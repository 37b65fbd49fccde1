package tui

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// fakeRun describes a synthetic run shaped like the engine's: the same
// states, nesting, tensor names and payloads, with fixed times so screens
// are reproducible.
type fakeRun struct {
	prompt  []string // prompt pieces
	gen     []string // generated pieces, one per iteration
	nLayer  int
	nanAt   [2]int // iteration, layer of an injected NaN in ffn_out; {-1,-1}: none
	onNaN   string // "stop" (ExecutionFailed, as --on-error stop) or "continue"
	profile bool
	noHist  bool // summaries without hist, as traces written before it
}

func defaultRun() fakeRun {
	return fakeRun{prompt: []string{"<s>", "▁Once", "▁upon", "▁a", "▁time"},
		gen: []string{",", "▁there", "▁was"}, nLayer: 5, nanAt: [2]int{-1, -1}, profile: true}
}

func sum(seed float64, n int) stats.Summary {
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(math.Sin(seed+float64(i)*0.37) * (1 + seed/10))
	}
	return stats.Compute(xs)
}

// events builds the run's event list.
func (r fakeRun) events() []trace.Event {
	evs := r.build()
	if r.noHist {
		for _, ev := range evs {
			if p := ev.Payload; p != nil {
				if p.Stats != nil {
					s := *p.Stats
					s.Hist = stats.Hist{}
					p.Stats = &s
				}
				for k, s := range p.Tensors {
					c := *s
					c.Hist = stats.Hist{}
					p.Tensors[k] = &c
				}
			}
		}
	}
	return evs
}

// build makes the events as the engine writes them (every summary from
// stats.Compute, so with its hist).
func (r fakeRun) build() []trace.Event {
	var evs []trace.Event
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	emit := func(ev trace.Event) {
		ev.ID = int64(len(evs) + 1)
		ev.PreviousID = ev.ID - 1
		ev.Time = t0.Add(time.Duration(ev.ID) * time.Millisecond)
		evs = append(evs, ev)
	}
	// As the engine: an Entered event carries its input (the previous
	// output's stats; TOKENIZE its text, EMBED the token ids), an Exited
	// one its output as stats beside the named tensors.
	var prevOut, lastOut *stats.Summary
	entered := func(st trace.State, it, layer int) *trace.Payload {
		in := &trace.Payload{Iteration: it, Layer: layer, Stats: prevOut}
		switch st {
		case trace.Tokenize, trace.Sample, trace.Decode:
			in.Stats = nil
		case trace.Embed:
			in.Stats, in.TokenIDs = nil, []int{1, 2, 3, 4, 5}
		}
		return in
	}
	state := func(st trace.State, it, layer int, out *trace.Payload) {
		emit(trace.Event{Type: trace.TaskStateEntered, State: st, Payload: entered(st, it, layer)})
		out.Iteration, out.Layer = it, layer
		out.DurationUS = 125
		if len(out.Tensors) > 0 {
			out.Stats, prevOut = lastOut, lastOut
		}
		emit(trace.Event{Type: trace.TaskStateExited, State: st, Payload: out})
	}
	tens := func(seed float64, names ...string) map[string]*stats.Summary {
		m := map[string]*stats.Summary{}
		for i, n := range names {
			s := sum(seed+float64(i), 64)
			m[n], lastOut = &s, &s
		}
		return m
	}
	prompt := ""
	for _, p := range r.prompt[1:] {
		prompt += p
	}
	emit(trace.Event{Type: trace.ExecutionStarted, Run: &trace.RunInfo{Prompt: prompt, NPredict: len(r.gen)}})
	ids := make([]int, len(r.prompt))
	for i := range ids {
		ids[i] = i + 1
	}
	state(trace.Tokenize, 0, trace.NoLayer, &trace.Payload{Text: prompt, TokenIDs: ids, Pieces: r.prompt})
	for it, piece := range r.gen {
		state(trace.Embed, it, trace.NoLayer, &trace.Payload{Tensors: tens(float64(it), "embed"),
			Values: map[string][]float32{"embed": {-1, -0.5, 0, 0.25, 0.5, 0.5, 1, 2}}})
		for l := 0; l < r.nLayer; l++ {
			seed := float64(it*10 + l)
			emit(trace.Event{Type: trace.TaskStateEntered, State: trace.TransformerBlock, Payload: entered(trace.TransformerBlock, it, l)})
			state(trace.LayerNorm, it, l, &trace.Payload{Tensors: tens(seed, "attn_norm")})
			state(trace.Attention, it, l, &trace.Payload{Tensors: tens(seed, "q_rope", "k_rope", "v", "attn_heads", "attn_out", "attn_residual")})
			state(trace.LayerNorm, it, l, &trace.Payload{Tensors: tens(seed+1, "ffn_norm")})
			if r.nanAt == [2]int{it, l} && r.onNaN == "continue" {
				// --on-error continue: the state exits with the NaN and
				// its issue; the block output inherits the NaN.
				bad := stats.Compute([]float32{float32(math.NaN()), 1, 2})
				out := tens(seed+2, "ffn_gate", "ffn_up", "ffn_act")
				out["ffn_out"] = &bad
				is := trace.NumericalIssue(fmt.Sprintf("blk.%d.ffn_out", l), trace.FFN, l, it, bad)
				state(trace.FFN, it, l, &trace.Payload{Tensors: out, Issues: []trace.Issue{is}})
				emit(trace.Event{Type: trace.TaskStateExited, State: trace.TransformerBlock,
					Payload: &trace.Payload{Iteration: it, Layer: l, Tensors: map[string]*stats.Summary{"ffn_out": &bad, "layer_out": &bad}}})
				continue
			}
			if r.nanAt == [2]int{it, l} {
				// --on-error stop: the engine exits the states it was in
				// (the producer with the failing tensor and the issue),
				// then fails the execution.
				bad := stats.Compute([]float32{float32(math.NaN()), 1, 2})
				is := trace.NumericalIssue(fmt.Sprintf("blk.%d.ffn_out", l), trace.FFN, l, it, bad)
				out := tens(seed+2, "ffn_gate", "ffn_up", "ffn_act")
				out["ffn_out"] = &bad
				state(trace.FFN, it, l, &trace.Payload{Tensors: out, Issues: []trace.Issue{is}})
				emit(trace.Event{Type: trace.TaskStateExited, State: trace.TransformerBlock,
					Payload: &trace.Payload{Iteration: it, Layer: l, Tensors: map[string]*stats.Summary{"ffn_out": &bad}}})
				emit(trace.Event{Type: trace.ExecutionFailed, Error: is.Code, Cause: is.Message, Hint: is.Hint})
				return evs
			}
			state(trace.FFN, it, l, &trace.Payload{Tensors: tens(seed+2, "ffn_gate", "ffn_up", "ffn_act", "ffn_out")})
			lo := tens(seed+3, "layer_out")
			prevOut = lastOut
			emit(trace.Event{Type: trace.TaskStateExited, State: trace.TransformerBlock,
				Payload: &trace.Payload{Iteration: it, Layer: l, Tensors: lo, Stats: lastOut}})
		}
		state(trace.LayerNorm, it, trace.NoLayer, &trace.Payload{Tensors: tens(float64(it), "output_norm")})
		top := []trace.TokenScore{{ID: 10 + it, Score: 7.5, Piece: piece}, {ID: 3, Score: 6.25, Piece: "▁the"}, {ID: 4, Score: 5.0, Piece: "."}, {ID: 5, Score: 2.5, Piece: "▁and"}}
		state(trace.LMHead, it, trace.NoLayer, &trace.Payload{Tensors: tens(float64(it), "logits"), TopKLogits: top})
		probs := []trace.TokenScore{{ID: 10 + it, Score: 0.70, Piece: piece}, {ID: 3, Score: 0.20, Piece: "▁the"}, {ID: 4, Score: 0.06, Piece: "."}, {ID: 5, Score: 0.04, Piece: "▁and"}}
		sid := 10 + it
		state(trace.Sample, it, trace.NoLayer, &trace.Payload{TopKProbs: probs, SampledID: &sid, SampledProb: 0.70, SampledRank: 1,
			Sampler: &trace.SamplerConfig{Temperature: 0}})
		tid := sid
		state(trace.Decode, it, trace.NoLayer, &trace.Payload{TokenID: &tid, Piece: piece, TextAdded: showPiece(piece)})
		if r.profile {
			prof := &trace.Profile{WallNS: 2_000_000, MeasuredNS: 1_900_000, Coverage: 0.95,
				Bricks: []trace.BrickStat{
					{Name: "RmsNorm", TotalNS: 100_000, Count: 11, GBps: 1.5},
					{Name: "QkvProjection", TotalNS: 600_000, Count: 5, GBps: 12.25},
					{Name: "Attention", TotalNS: 300_000, Count: 5, GBps: 3},
					{Name: "FfnGateUp", TotalNS: 900_000, Count: 5, GBps: 14},
				},
				Categories: []trace.CategoryStat{{Name: "Norm", TotalNS: 100_000, Share: 0.053}, {Name: "Attention", TotalNS: 900_000, Share: 0.474}, {Name: "FFN", TotalNS: 900_000, Share: 0.474}},
			}
			total := *prof
			total.WallNS, total.MeasuredNS = prof.WallNS*int64(it+1), prof.MeasuredNS*int64(it+1)
			prof.Total = &total
			state(trace.BrickProfile, it, trace.NoLayer, &trace.Payload{Profile: prof})
		}
	}
	emit(trace.Event{Type: trace.ExecutionSucceeded})
	return evs
}

// fakeSource replays a fixed event list as a live source would.
type fakeSource struct {
	evs    []trace.Event
	i      int
	info   SourceInfo
	starts int
}

func newFake(r fakeRun) *fakeSource {
	return &fakeSource{evs: r.events(), info: SourceInfo{Mode: "LIVE", Model: "stories260K", Type: "F32",
		NLayer: r.nLayer, NPredict: len(r.gen), Restarter: true}}
}

func (f *fakeSource) Next() (trace.Event, error) {
	if f.i >= len(f.evs) {
		return trace.Event{}, io.EOF
	}
	f.i++
	return f.evs[f.i-1], nil
}
func (f *fakeSource) Info() SourceInfo { return f.info }
func (f *fakeSource) Close() error     { return nil }
func (f *fakeSource) Restart() error   { f.i = 0; f.starts++; return nil }
