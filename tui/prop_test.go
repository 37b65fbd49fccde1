package tui

import (
	"math"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"pgregory.net/rapid"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// TestArbitraryEventsNeverPanic feeds event streams of any shape (states
// out of order, missing payloads, non-finite statistics, unknown states)
// and random keys to the model: it must not panic, and every screen must
// keep its exact size.
func TestArbitraryEventsNeverPanic(t *testing.T) {
	types := []trace.EventType{trace.ExecutionStarted, trace.TaskStateEntered, trace.TaskStateExited,
		trace.ExecutionFailed, trace.ExecutionSucceeded, "Bogus"}
	states := append(append([]trace.State(nil), trace.States...), "", "WEIRD")
	keyset := []string{"s", "n", "t", "c", "e", "b", "B", "d", "left", "right", "g", "G", "tab", "1", "2", "3", "4", "5",
		"j", "k", " ", "v", "a", "?", "r", "esc", "[", "]"}
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(rt, "events")
		var evs []trace.Event
		for i := range n {
			ev := trace.Event{ID: int64(i + 1), Type: rapid.SampledFrom(types).Draw(rt, "type"),
				State: rapid.SampledFrom(states).Draw(rt, "state")}
			if rapid.Bool().Draw(rt, "payload") {
				p := &trace.Payload{Iteration: rapid.IntRange(-1, 3).Draw(rt, "iter"), Layer: rapid.IntRange(-2, 3).Draw(rt, "layer")}
				if rapid.Bool().Draw(rt, "tensors") {
					xs := []float32{1, -2, float32(rapid.SampledFrom([]float64{0, math.NaN(), math.Inf(1), 1e30}).Draw(rt, "x"))}
					s := stats.Compute(xs)
					p.Tensors = map[string]*stats.Summary{rapid.SampledFrom([]string{"ffn_out", "blk.1.v", "logits", "?"}).Draw(rt, "name"): &s}
					p.Values = map[string][]float32{"ffn_out": xs}
				}
				if rapid.Bool().Draw(rt, "top") {
					sid := rapid.IntRange(-1, 5).Draw(rt, "sid")
					p.TopKLogits = []trace.TokenScore{{ID: 1, Score: math.Inf(1), Piece: "\x00\n▁a"}, {ID: sid, Score: -3}}
					p.TopKProbs = []trace.TokenScore{{ID: sid, Score: 2}}
					p.SampledID, p.SampledProb = &sid, math.NaN()
					id := sid
					p.TokenID, p.Piece = &id, "\t"
				}
				if rapid.Bool().Draw(rt, "profile") {
					p.Profile = &trace.Profile{Bricks: []trace.BrickStat{{Name: "X", TotalNS: -5}}, Categories: []trace.CategoryStat{{Name: "Y", Share: math.NaN()}}}
				}
				if rapid.Bool().Draw(rt, "kernel") {
					p.Kernel = &trace.KernelInfo{Name: "k", Weight: "blk.0.w.weight"}
				}
				if rapid.Bool().Draw(rt, "issue") {
					p.Issues = []trace.Issue{{Severity: trace.SevError, Code: trace.CodeNaN}}
				}
				ev.Payload = p
			}
			evs = append(evs, ev)
		}
		src := &fakeSource{evs: evs, info: SourceInfo{Mode: "LIVE", Restarter: true}}
		m, err := New(src, Options{BreakOnError: rapid.Bool().Draw(rt, "boe"), Breakpoints: []string{"if nan", "FFN layer=1"}})
		if err != nil {
			rt.Fatal(err)
		}
		w, h := rapid.IntRange(1, 200).Draw(rt, "w"), rapid.IntRange(1, 60).Draw(rt, "h")
		drive(t, m, tea.WindowSizeMsg{Width: w, Height: h})
		drive(t, m, runCmd(m.Init())...)
		for range rapid.IntRange(0, 30).Draw(rt, "keys") {
			drive(t, m, keys(rapid.SampledFrom(keyset).Draw(rt, "key"))...)
			v := m.View()
			lines := strings.Split(v, "\n")
			if len(lines) != h {
				rt.Fatalf("%dx%d: %d lines", w, h, len(lines))
			}
			for i, l := range lines {
				if lw := ansiWidth(l); lw != w {
					rt.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i, lw, l)
				}
			}
		}
	})
}
