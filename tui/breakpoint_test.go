package tui

import (
	"math"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

func TestParseBreakpoint(t *testing.T) {
	tests := []struct {
		in   string
		want Breakpoint
		err  string
	}{
		{"FFN", Breakpoint{State: trace.FFN, Layer: -1, Iteration: -1}, ""},
		{"break ffn layer=3", Breakpoint{State: trace.FFN, Layer: 3, Iteration: -1}, ""},
		{"b ATTENTION layer=0 iteration=2", Breakpoint{State: trace.Attention, Layer: 0, Iteration: 2}, ""},
		{"break LM_HEAD iter=4", Breakpoint{State: trace.LMHead, Layer: -1, Iteration: 4}, ""},
		{"break if nan", Breakpoint{Cond: CondNaN, Layer: -1, Iteration: -1}, ""},
		{"break if INF", Breakpoint{Cond: CondInf, Layer: -1, Iteration: -1}, ""},
		{"break if std>10", Breakpoint{Cond: CondStd, Threshold: 10, Layer: -1, Iteration: -1}, ""},
		{"break if absmax>1e4", Breakpoint{Cond: CondAbsMax, Threshold: 1e4, Layer: -1, Iteration: -1}, ""},
		{"break if prob<0.05", Breakpoint{Cond: CondProb, Threshold: 0.05, Layer: -1, Iteration: -1}, ""},
		{"break", Breakpoint{}, "want STATE"},
		{"break NOPE", Breakpoint{}, "unknown state"},
		{"break FFN layer=x", Breakpoint{}, "bad argument"},
		{"break FFN layer=-1", Breakpoint{}, "bad argument"},
		{"break FFN head=2", Breakpoint{}, "unknown argument"},
		{"break if", Breakpoint{}, "one condition"},
		{"break if std>", Breakpoint{}, "not a number"},
		{"break if std>NaN", Breakpoint{}, "not a number"},
		{"break if mean>3", Breakpoint{}, "unknown condition"},
		{"break if nan inf", Breakpoint{}, "one condition"},
	}
	for _, tc := range tests {
		got, err := ParseBreakpoint(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
		if err == nil {
			// String is `:break` syntax: it parses back to the same value.
			back, err := ParseBreakpoint(got.String())
			if err != nil || back != got {
				t.Errorf("%q: String %q parses to %+v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

func TestBreakpointMatch(t *testing.T) {
	sid := 3
	ev := func(typ trace.EventType, st trace.State, it, layer int, p trace.Payload) node {
		p.Iteration, p.Layer = it, layer
		e := trace.Event{Type: typ, State: st, Payload: &p}
		return summarize(&e)
	}
	ffnIn := ev(trace.TaskStateEntered, trace.FFN, 1, 2, trace.Payload{})
	wide := stats.Compute([]float32{-30, 0, 30}) // std 24.5, absmax 30
	nan := stats.Compute([]float32{float32(math.NaN()), 1})
	inf := stats.Compute([]float32{float32(math.Inf(-1)), 1})
	ffnOut := ev(trace.TaskStateExited, trace.FFN, 1, 2, trace.Payload{Tensors: map[string]*stats.Summary{"ffn_up": &wide, "ffn_out": &nan}})
	embOut := ev(trace.TaskStateExited, trace.Embed, 0, trace.NoLayer, trace.Payload{Tensors: map[string]*stats.Summary{"embed": &inf}})
	failed := summarize(&trace.Event{Type: trace.ExecutionFailed, Error: trace.CodeInf})
	sample := ev(trace.TaskStateExited, trace.Sample, 0, trace.NoLayer, trace.Payload{SampledID: &sid, SampledProb: 0.04})
	tests := []struct {
		bp   string
		n    node
		want bool
	}{
		{"FFN", ffnIn, true},
		{"FFN layer=2", ffnIn, true},
		{"FFN layer=3", ffnIn, false},
		{"FFN iteration=1", ffnIn, true},
		{"FFN iteration=0", ffnIn, false},
		{"ATTENTION", ffnIn, false},
		{"SAMPLE", sample, false}, // state breakpoints match Entered events
		{"if prob<0.05", sample, true},
		{"if prob<0.04", sample, false},
		{"if prob<0.5", ffnIn, false},
		{"if nan", ffnIn, false},
		{"FFN", ffnOut, false},
		{"if nan", ffnOut, true},
		{"if inf", ffnOut, false},
		{"if inf", embOut, true},
		{"if inf", failed, true},
		{"if nan", failed, false},
		{"if std>24", ffnOut, true},
		{"if std>25", ffnOut, false},
		{"if absmax>29.5", ffnOut, true},
		{"if absmax>30", ffnOut, false},
		{"if absmax>0.5", embOut, true}, // the finite values count
		{"if std>0", sample, false},
	}
	for _, tc := range tests {
		b, err := ParseBreakpoint(tc.bp)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.match(&tc.n); got != tc.want {
			t.Errorf("%s on %s %s: %v, want %v", tc.bp, tc.n.typ(), tc.n.state(), got, tc.want)
		}
	}
}

// TestBreakpointsMatchEvent exercises the exported API on full events.
func TestBreakpointsMatchEvent(t *testing.T) {
	var bs Breakpoints
	for _, spec := range []string{"if inf", "FFN layer=1"} {
		b, err := ParseBreakpoint(spec)
		if err != nil {
			t.Fatal(err)
		}
		if !bs.Toggle(b) {
			t.Fatalf("%s not set", spec)
		}
	}
	ffn := trace.Event{Type: trace.TaskStateEntered, State: trace.FFN, Payload: &trace.Payload{Iteration: 0, Layer: 1}}
	if got := bs.Match(&ffn); got != 1 {
		t.Errorf("FFN layer 1 matched breakpoint %d, want 1", got)
	}
	ffn.Payload.Layer = 2
	if got := bs.Match(&ffn); got != -1 {
		t.Errorf("FFN layer 2 matched breakpoint %d", got)
	}
	if bs.Toggle(bs[1]) || len(bs) != 1 {
		t.Errorf("second toggle did not remove: %v", bs)
	}
	if !bs[0].Match(&trace.Event{Type: trace.ExecutionFailed, Error: trace.CodeInf}) {
		t.Error("if inf does not match an Inf failure")
	}
}
