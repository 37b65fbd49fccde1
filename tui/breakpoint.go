package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/infertrace/infertrace/trace"
)

// Breakpoint is a predicate over events, shared by live runs and replays.
// A state breakpoint matches the TaskStateEntered event of its state
// (optionally restricted to a layer and an iteration), so the run stops
// before the state executes; a condition breakpoint matches any event whose
// tensors (or sampled probability) satisfy it.
type Breakpoint struct {
	State     trace.State // "" for a condition breakpoint
	Layer     int         // -1: any layer
	Iteration int         // -1: any iteration
	Cond      Cond        // CondNone for a state breakpoint
	Threshold float64     // for CondStd, CondAbsMax, CondProb
}

// Cond is the kind of a condition breakpoint.
type Cond int

// Conditions of `break if ...`.
const (
	CondNone   Cond = iota
	CondNaN         // a tensor holds a NaN
	CondInf         // a tensor holds an Inf
	CondStd         // a tensor's std exceeds Threshold
	CondAbsMax      // a tensor's absmax exceeds Threshold
	CondProb        // the sampled token's probability is below Threshold
)

// String renders the breakpoint in `:break` syntax, so it round-trips
// through ParseBreakpoint.
func (b Breakpoint) String() string {
	switch b.Cond {
	case CondNaN:
		return "if nan"
	case CondInf:
		return "if inf"
	case CondStd:
		return "if std>" + fmtFloat(b.Threshold)
	case CondAbsMax:
		return "if absmax>" + fmtFloat(b.Threshold)
	case CondProb:
		return "if prob<" + fmtFloat(b.Threshold)
	}
	s := string(b.State)
	if b.Layer >= 0 {
		s += fmt.Sprintf(" layer=%d", b.Layer)
	}
	if b.Iteration >= 0 {
		s += fmt.Sprintf(" iteration=%d", b.Iteration)
	}
	return s
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

var knownStates = []trace.State{
	trace.Tokenize, trace.Embed, trace.LayerNorm, trace.Attention, trace.FFN,
	trace.TransformerBlock, trace.LMHead, trace.Sample, trace.Decode,
	trace.KernelLaunch, trace.BrickProfile,
}

// ParseBreakpoint parses the arguments of `:break`: "STATE [layer=N]
// [iteration=N]" or "if nan|inf|std>X|absmax>X|prob<X". A leading "break"
// word is accepted and ignored.
func ParseBreakpoint(s string) (Breakpoint, error) {
	f := strings.Fields(s)
	if len(f) > 0 && (f[0] == "break" || f[0] == "b") {
		f = f[1:]
	}
	if len(f) == 0 {
		return Breakpoint{}, fmt.Errorf("break: want STATE [layer=N] [iteration=N] or if nan|inf|std>X|absmax>X|prob<X")
	}
	b := Breakpoint{Layer: -1, Iteration: -1}
	if strings.EqualFold(f[0], "if") {
		if len(f) != 2 {
			return Breakpoint{}, fmt.Errorf("break if: want one condition, e.g. nan, std>10, prob<0.1")
		}
		return parseCond(f[1])
	}
	st := trace.State(strings.ToUpper(f[0]))
	ok := false
	for _, k := range knownStates {
		if k == st {
			ok = true
		}
	}
	if !ok {
		return Breakpoint{}, fmt.Errorf("break: unknown state %q", f[0])
	}
	b.State = st
	for _, kv := range f[1:] {
		k, v, found := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !found || err != nil || n < 0 {
			return Breakpoint{}, fmt.Errorf("break: bad argument %q (want layer=N or iteration=N)", kv)
		}
		switch strings.ToLower(k) {
		case "layer", "l":
			b.Layer = n
		case "iteration", "iter", "i":
			b.Iteration = n
		default:
			return Breakpoint{}, fmt.Errorf("break: unknown argument %q", k)
		}
	}
	return b, nil
}

func parseCond(c string) (Breakpoint, error) {
	b := Breakpoint{Layer: -1, Iteration: -1}
	c = strings.ToLower(c)
	switch c {
	case "nan":
		b.Cond = CondNaN
		return b, nil
	case "inf":
		b.Cond = CondInf
		return b, nil
	}
	for _, p := range []struct {
		prefix string
		cond   Cond
	}{{"std>", CondStd}, {"absmax>", CondAbsMax}, {"prob<", CondProb}} {
		if v, ok := strings.CutPrefix(c, p.prefix); ok {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x != x {
				return Breakpoint{}, fmt.Errorf("break if %s: %q is not a number", p.prefix[:len(p.prefix)-1], v)
			}
			b.Cond, b.Threshold = p.cond, x
			return b, nil
		}
	}
	return Breakpoint{}, fmt.Errorf("break if: unknown condition %q (want nan, inf, std>X, absmax>X or prob<X)", c)
}

// Match reports whether ev triggers the breakpoint.
func (b Breakpoint) Match(ev *trace.Event) bool {
	n := summarize(ev)
	return b.match(&n)
}

// match reports whether the event summarised by n triggers the breakpoint.
func (b Breakpoint) match(n *node) bool {
	switch b.Cond {
	case CondNaN:
		return n.flags&flagNaN != 0
	case CondInf:
		return n.flags&flagInf != 0
	// Nodes keep float32 statistics: compare at that precision, so that
	// `prob<0.04` does not match a probability recorded as 0.04.
	case CondStd:
		return n.flags&flagStats != 0 && n.maxStd > float32(b.Threshold)
	case CondAbsMax:
		return n.flags&flagStats != 0 && n.maxAbs > float32(b.Threshold)
	case CondProb:
		return n.flags&flagSampled != 0 && n.prob < float32(b.Threshold)
	}
	if n.typ() != trace.TaskStateEntered || n.state() != b.State {
		return false
	}
	if b.Layer >= 0 && int(n.layer) != b.Layer {
		return false
	}
	return b.Iteration < 0 || int(n.iter) == b.Iteration
}

// Breakpoints is an ordered set of breakpoints.
type Breakpoints []Breakpoint

// Toggle adds b, or removes it when an equal breakpoint exists; it reports
// whether b is now set.
func (bs *Breakpoints) Toggle(b Breakpoint) bool {
	for i, x := range *bs {
		if x == b {
			*bs = append((*bs)[:i:i], (*bs)[i+1:]...)
			return false
		}
	}
	*bs = append(*bs, b)
	return true
}

// Match returns the index of the first breakpoint that ev triggers, or -1.
func (bs Breakpoints) Match(ev *trace.Event) int {
	n := summarize(ev)
	return bs.match(&n)
}

func (bs Breakpoints) match(n *node) int {
	for i, b := range bs {
		if b.match(n) {
			return i
		}
	}
	return -1
}
