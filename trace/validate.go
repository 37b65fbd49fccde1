package trace

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/infertrace/infertrace/stats"
)

// Violation is one broken rule of a trace's event history.
type Violation struct {
	EventID int64  // the offending event's id (0: the document as a whole)
	Rule    string // short rule name: "id", "previous", "first", ...
	Message string
}

// String formats the violation as one line.
func (v Violation) String() string {
	if v.EventID == 0 {
		return fmt.Sprintf("%s: %s", v.Rule, v.Message)
	}
	return fmt.Sprintf("event %d: %s: %s", v.EventID, v.Rule, v.Message)
}

// maxViolations bounds the violations kept for one trace; the rest are
// counted in a final "more" violation.
const maxViolations = 1000

type openState struct {
	id    int64
	state State
}

// Validator checks events one at a time (streaming, memory bounded by the
// nesting depth). Validate drives it from a Reader.
type Validator struct {
	n          int64 // events seen
	lastID     int64
	open       []openState
	terminal   int64 // id of the final event, 0 before it
	terminalTy EventType
	out        []Violation
	dropped    int
}

func (v *Validator) add(id int64, rule, format string, args ...any) {
	if len(v.out) >= maxViolations {
		v.dropped++
		return
	}
	v.out = append(v.out, Violation{EventID: id, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func knownState(st State) bool {
	_, ok := stateInfos[st]
	return ok
}

// Check validates the next event of the history.
func (v *Validator) Check(ev Event) {
	v.n++
	if ev.ID != v.lastID+1 {
		v.add(ev.ID, "id", "id %d, want %d (ids run contiguously from 1)", ev.ID, v.lastID+1)
	}
	if ev.PreviousID != ev.ID-1 {
		if ev.PreviousID >= ev.ID {
			v.add(ev.ID, "previous", "previousEventId %d is not earlier than the event", ev.PreviousID)
		} else {
			v.add(ev.ID, "previous", "previousEventId %d, want %d", ev.PreviousID, ev.ID-1)
		}
	}
	if v.terminal != 0 {
		v.add(ev.ID, "after-final", "%s after the final event %d (%s)", ev.Type, v.terminal, v.terminalTy)
	}
	if v.n == 1 && ev.Type != ExecutionStarted {
		v.add(ev.ID, "first", "the first event is %s, want ExecutionStarted", ev.Type)
	}
	v.lastID = ev.ID
	if ev.Payload != nil {
		v.checkHists(ev.ID, ev.Payload)
	}
	switch ev.Type {
	case ExecutionStarted:
		if v.n != 1 {
			v.add(ev.ID, "first", "ExecutionStarted again (only the first event may start the execution)")
		}
	case TaskStateEntered:
		if !knownState(ev.State) {
			v.add(ev.ID, "state", "unknown state %q", ev.State)
		}
		var want int64
		if len(v.open) > 0 {
			want = v.open[len(v.open)-1].id
		}
		var parent int64
		if ev.Payload != nil {
			parent = ev.Payload.Parent
		}
		if parent != want {
			if want == 0 {
				v.add(ev.ID, "parent", "%s has parent %d but no state is open", ev.State, parent)
			} else {
				v.add(ev.ID, "parent", "%s has parent %d, want %d (the open %s)", ev.State, parent, want, v.open[len(v.open)-1].state)
			}
		}
		v.open = append(v.open, openState{ev.ID, ev.State})
	case TaskStateExited:
		if len(v.open) == 0 {
			v.add(ev.ID, "unmatched-exit", "%s exited but no state is open", ev.State)
			break
		}
		top := v.open[len(v.open)-1]
		if top.state != ev.State {
			// Pop to the matching state if it is open further out: the
			// states in between were left unclosed.
			match := -1
			for i := len(v.open) - 1; i >= 0; i-- {
				if v.open[i].state == ev.State {
					match = i
					break
				}
			}
			if match < 0 {
				v.add(ev.ID, "unmatched-exit", "%s exited but the open state is %s (entered at event %d)", ev.State, top.state, top.id)
				break
			}
			v.add(ev.ID, "nesting", "%s (entered at event %d) exited before its child %s (entered at event %d)", ev.State, v.open[match].id, top.state, top.id)
			v.open = v.open[:match+1]
		}
		entered := v.open[len(v.open)-1].id
		v.open = v.open[:len(v.open)-1]
		// An Exited that names its parent must name the same one as its
		// Entered: the enclosing state, still open.
		if ev.Payload != nil && ev.Payload.Parent != 0 {
			var want int64
			if len(v.open) > 0 {
				want = v.open[len(v.open)-1].id
			}
			if ev.Payload.Parent != want {
				v.add(ev.ID, "parent", "%s (entered at event %d) exits with parent %d, want %d", ev.State, entered, ev.Payload.Parent, want)
			}
		}
	case ExecutionSucceeded, ExecutionFailed, ExecutionAborted:
		if v.terminal != 0 {
			v.add(ev.ID, "final", "a second final event (%s); the first was event %d (%s)", ev.Type, v.terminal, v.terminalTy)
			break
		}
		v.terminal, v.terminalTy = ev.ID, ev.Type
		// Every state is exited before the final event, whatever the
		// outcome: a failed or aborted run exits the states it was in.
		for _, o := range v.open {
			v.add(o.id, "unclosed", "%s was never exited (before the final %s)", o.state, ev.Type)
		}
		v.open = v.open[:0]
	default:
		v.add(ev.ID, "type", "unknown event type %q", ev.Type)
	}
}

// checkHists holds each tensor summary's histogram, when it has one, to
// binning every finite value once.
func (v *Validator) checkHists(id int64, p *Payload) {
	check := func(name string, s *stats.Summary) {
		if s.Hist.Empty() {
			return // none recorded (older traces)
		}
		if got, want := s.Hist.Total(), s.N-s.NaN-s.Inf; got != want {
			v.add(id, "hist", "%s: hist bins %d values, want the %d finite ones (n %d - nan %d - inf %d)", name, got, want, s.N, s.NaN, s.Inf)
		}
	}
	if p.Stats != nil {
		check("stats", p.Stats)
	}
	if len(p.Tensors) > 0 {
		keys := make([]string, 0, len(p.Tensors))
		for k := range p.Tensors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if s := p.Tensors[k]; s != nil {
				check("tensors."+k, s)
			}
		}
	}
}

// Finish reports the end-of-history violations and returns every
// violation found.
func (v *Validator) Finish() []Violation {
	if v.n == 0 {
		v.add(0, "empty", "the trace has no events")
	} else if v.terminal == 0 {
		for _, o := range v.open {
			v.add(o.id, "unclosed", "%s was never exited", o.state)
		}
		v.add(0, "final", "no final ExecutionSucceeded, ExecutionFailed or ExecutionAborted event after event %d", v.lastID)
	}
	out := v.out
	if v.dropped > 0 {
		out = append(out, Violation{Rule: "more", Message: fmt.Sprintf("%d more violations not listed", v.dropped)})
	}
	return out
}

// Validate checks the history of the trace r streams: ids contiguous from
// 1 with previousEventId = id-1, ExecutionStarted first, every Entered
// closed by an Exited of the same state, children (payload.parent = the
// enclosing open Entered) closed before their parents, and exactly one
// final Execution{Succeeded,Failed,Aborted} event with nothing after it;
// a tensor summary's histogram, when present, bins its finite values. A
// read error (a truncated file) is itself a violation.
func Validate(r *Reader) []Violation {
	var v Validator
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The caller names the file; do not repeat it.
			v.add(0, "read", "%s", strings.TrimPrefix(err.Error(), r.name+": "))
			break
		}
		v.Check(ev)
	}
	return v.Finish()
}
