package pipeline

import (
	"fmt"
	"math"
	"testing"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// pooled combines per-position statistics the way statistics over the
// whole [n_prompt × dim] tensor combine: n-weighted mean, population std
// from E[x²]−mean², min of mins, max of maxes, l2 = sqrt(Σ l2²).
func pooled(ps []refStats) refStats {
	var out refStats
	out.Min, out.Max = math.Inf(1), math.Inf(-1)
	var sum, sumsq, l2 float64
	for _, p := range ps {
		out.N += p.N
		sum += p.Mean * float64(p.N)
		sumsq += (p.Std*p.Std + p.Mean*p.Mean) * float64(p.N)
		l2 += p.L2 * p.L2
		out.Min, out.Max = math.Min(out.Min, p.Min), math.Max(out.Max, p.Max)
	}
	out.Mean = sum / float64(out.N)
	out.Std = math.Sqrt(sumsq/float64(out.N) - out.Mean*out.Mean)
	out.L2 = math.Sqrt(l2)
	out.AbsMax = math.Max(-out.Min, out.Max)
	return out
}

// TestStageStatsIteration0 checks every stage's statistics at iteration 0
// (over all prompt positions) against stories260K's math.json: those of
// the innermost states (EMBED, LAYER_NORM, ATTENTION, FFN, LM_HEAD) and
// the same ones repeated by each TRANSFORMER_BLOCK.
func TestStageStatsIteration0(t *testing.T) {
	m := openRef(t, "stories260K", "stories260K.gguf")
	_, mp := refPaths(t, "stories260K", "", "once-upon-a-time")
	var mr mathRef
	readJSON(t, mp, &mr)

	want := map[string][]refStats{} // op → per-position stats
	for _, p := range mr.Positions {
		want["embed"] = append(want["embed"], p.Embed)
		want["output_norm"] = append(want["output_norm"], p.OutputNorm)
		want["logits"] = append(want["logits"], p.Logits)
		for l, layer := range p.Layers {
			for name, st := range layer {
				op := fmt.Sprintf("blk.%d.%s", l, name)
				want[op] = append(want[op], st)
			}
		}
	}

	cfg := trace.Config{Steps: trace.AllSteps}
	s, err := m.NewSession("", Options{Tokens: mr.PromptTokens, MaxTokens: 2, Trace: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[string]stats.Summary{}
	inBlocks := map[string]stats.Summary{}
	for ev := range s.Events() {
		if ev.Type != trace.TaskStateExited || ev.Payload == nil || ev.Payload.Iteration != 0 {
			continue
		}
		dst := got
		if ev.State == trace.TransformerBlock {
			dst = inBlocks
		}
		for name, sum := range ev.Payload.Tensors {
			op := name
			if ev.Payload.Layer >= 0 {
				op = fmt.Sprintf("blk.%d.%s", ev.Payload.Layer, name)
			}
			dst[op] = *sum
		}
	}
	if len(got) != len(want) {
		t.Errorf("recorded %d stages at iteration 0, math.json has %d", len(got), len(want))
	}
	if n := len(want) - 3; len(inBlocks) != n { // all but embed, output_norm, logits
		t.Errorf("blocks recorded %d stages at iteration 0, math.json has %d block stages", len(inBlocks), n)
	}
	for op, sum := range inBlocks {
		got["block "+op] = sum
		want["block "+op] = want[op]
	}
	const tol = 1e-4
	for op, ps := range want {
		w := pooled(ps)
		g, ok := got[op]
		if !ok {
			t.Errorf("%s: no statistics recorded", op)
			continue
		}
		if g.N != w.N {
			t.Errorf("%s: n %d, want %d", op, g.N, w.N)
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"min", g.Min, w.Min}, {"max", g.Max, w.Max}, {"mean", g.Mean, w.Mean},
			{"std", g.Std, w.Std}, {"l2", g.L2, w.L2}, {"absmax", g.AbsMax, w.AbsMax},
		} {
			if d := math.Abs(f.got-f.want) / math.Max(math.Abs(f.want), 1e-12); d > tol {
				t.Errorf("%s %s = %.7g, want %.7g (rel %.2g)", op, f.name, f.got, f.want, d)
			}
		}
	}
}
