package tui

import (
	"container/list"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// node is the compact summary of one recorded event: everything stepping,
// breakpoints, the timeline and the status bar need, so that a replay can
// keep the full events on disk and re-read only the ones on screen.
type node struct {
	id     int64
	iter   int32
	row    int32   // timeline row of the transition
	maxStd float32 // largest std over the event's tensors
	maxAbs float32 // largest absmax over the event's tensors
	prob   float32 // SAMPLE: sampled token probability
	stages uint16  // bit k: a tensor of stage trace.StageNames[k] (search without reading the event)
	layer  int16
	tc     typeCode
	sc     stateCode
	flags  uint8
}

func (n *node) typ() trace.EventType { return n.tc.eventType() }
func (n *node) state() trace.State   { return n.sc.state() }

// typeCode and stateCode store an event's type and state in a byte each,
// which keeps a replay's per-event memory small.
type (
	typeCode  uint8
	stateCode uint8
)

var eventTypes = []trace.EventType{"", trace.ExecutionStarted, trace.TaskStateEntered, trace.TaskStateExited,
	trace.ExecutionFailed, trace.ExecutionSucceeded, trace.ExecutionAborted}

func codeOfType(t trace.EventType) typeCode {
	for i, x := range eventTypes {
		if x == t {
			return typeCode(i)
		}
	}
	return 0
}

func (c typeCode) eventType() trace.EventType {
	if int(c) < len(eventTypes) {
		return eventTypes[c]
	}
	return ""
}

// stateCode 0 is "no state"; state i+1 is trace.States[i].
func codeOfState(st trace.State) stateCode {
	for i, x := range trace.States {
		if x == st {
			return stateCode(i + 1)
		}
	}
	return 0
}

func (c stateCode) state() trace.State {
	if c > 0 && int(c) <= len(trace.States) {
		return trace.States[c-1]
	}
	return ""
}

const (
	flagNaN         = 1 << iota // a tensor held a NaN
	flagInf                     // a tensor held an Inf
	flagIssue                   // an error-severity Jidoka issue
	flagFailed                  // ExecutionFailed
	flagStats                   // maxStd/maxAbs are meaningful
	flagSampled                 // prob is meaningful
	flagOtherTensor             // a tensor name stages does not describe (search reads the event)
)

// isError reports whether the event is an error that stops a run by default.
func (n *node) isError() bool { return n.flags&(flagNaN|flagInf|flagIssue|flagFailed) != 0 }

func summarize(ev *trace.Event) node {
	n := node{id: ev.ID, tc: codeOfType(ev.Type), sc: codeOfState(ev.State), layer: trace.NoLayer}
	if ev.Type == trace.ExecutionFailed {
		n.flags |= flagFailed
		// A run stopped by a NaN/Inf ends here without exiting the
		// producing state, so `break if nan|inf` must match the failure.
		switch ev.Error {
		case trace.CodeNaN:
			n.flags |= flagNaN
		case trace.CodeInf:
			n.flags |= flagInf
		}
	}
	p := ev.Payload
	if p == nil {
		return n
	}
	n.iter, n.layer = int32(p.Iteration), int16(p.Layer)
	var maxStd, maxAbs float64
	look := func(s stats.Summary) {
		if s.NaN > 0 {
			n.flags |= flagNaN
		}
		if s.Inf > 0 {
			n.flags |= flagInf
		}
		if !math.IsNaN(s.Std) {
			n.flags |= flagStats
			maxStd = math.Max(maxStd, s.Std)
		}
		if !math.IsNaN(s.AbsMax) {
			n.flags |= flagStats
			maxAbs = math.Max(maxAbs, s.AbsMax)
		}
	}
	// An Entered event's stats are its input: the output of the state
	// before, already counted there (a condition must not fire twice on
	// one tensor).
	if p.Stats != nil && ev.Type != trace.TaskStateEntered {
		look(*p.Stats)
	}
	for k, s := range p.Tensors {
		if s != nil {
			look(*s)
		}
		n.noteTensor(k, p.Layer)
	}
	if len(p.Tensors) == 0 && p.Stats != nil {
		n.flags |= flagOtherTensor // shown as "input"/"output"
	}
	n.maxStd, n.maxAbs = float32(maxStd), float32(maxAbs)
	for _, is := range p.Issues {
		if is.Severity == trace.SevError {
			n.flags |= flagIssue
		}
	}
	if p.SampledID != nil && ev.State == trace.Sample {
		n.flags |= flagSampled
		n.prob = float32(p.SampledProb)
	}
	return n
}

// noteTensor records tensor key k of an event at layer in the stage mask
// when its displayed name (see orderedTensors) follows from the stage and
// the layer alone: a plain stage name, or "blk.N.stage" of the event's own
// layer for a block stage. Any other name flags the node.
func (n *node) noteTensor(k string, layer int) {
	stage := k
	if rest, ok := strings.CutPrefix(k, "blk."); ok {
		num, st, found := strings.Cut(rest, ".")
		l, err := strconv.Atoi(num)
		if !found || err != nil || l != layer || layer < 0 || !trace.IsBlockStage(st) {
			n.flags |= flagOtherTensor
			return
		}
		stage = st
	}
	for i, s := range trace.StageNames {
		if s == stage && i < 16 {
			n.stages |= 1 << i
			return
		}
	}
	n.flags |= flagOtherTensor
}

// tensorNamesMatch reports whether a tensor of the event summarised by n
// has a displayed name containing lq; ok is false when only the event
// itself can tell.
func (n *node) tensorNamesMatch(lq string) (match, ok bool) {
	if n.flags&flagOtherTensor != 0 {
		return false, false
	}
	for i, s := range trace.StageNames {
		if i >= 16 || n.stages&(1<<i) == 0 {
			continue
		}
		name := s
		if n.layer >= 0 && trace.IsBlockStage(s) {
			name = "blk." + strconv.Itoa(int(n.layer)) + "." + s
		}
		if strings.Contains(name, lq) {
			return true, true
		}
	}
	return false, true
}

// history is the recorded part of a run: a compact node per event, and the
// full events either in memory (live) or re-read through the source's
// index with a small cache (replay).
type history struct {
	nodes  []node
	events []trace.Event // live only
	ra     RandomAccess  // replay only
	cache  *lru
	tl     timeline
	text   textLog
	// Anchors: positions of events the side panes look back for.
	heads    []int // LM_HEAD exits
	samples  []int // SAMPLE exits
	profiles []int // BRICK_PROFILE events with a profile
	tokenize int   // TOKENIZE exit, -1 if none yet
	started  int   // ExecutionStarted, -1 if none
	firstErr int   // first error event, -1 if none
}

func newHistory(ra RandomAccess) *history {
	h := &history{ra: ra, tokenize: -1, started: -1, firstErr: -1}
	if ra != nil {
		h.cache = newLRU(256)
	}
	return h
}

// Len is the number of recorded events.
func (h *history) Len() int { return len(h.nodes) }

// append records ev, the next event of the run.
func (h *history) append(ev trace.Event) {
	i := len(h.nodes)
	n := summarize(&ev)
	if ev.Payload == nil && i > 0 {
		// Execution events carry no payload: they happen where the run was.
		n.iter, n.layer = h.nodes[i-1].iter, h.nodes[i-1].layer
	}
	n.row = int32(h.tl.add(i, &n))
	h.nodes = append(h.nodes, n)
	if h.ra == nil {
		h.events = append(h.events, ev)
	} else {
		h.cache.put(i, ev)
	}
	if n.isError() && h.firstErr < 0 {
		h.firstErr = i
	}
	if ev.Type == trace.ExecutionStarted && h.started < 0 {
		h.started = i
	}
	if ev.Payload == nil {
		return
	}
	p := ev.Payload
	switch {
	case ev.State == trace.BrickProfile && p.Profile != nil:
		h.profiles = append(h.profiles, i)
	case ev.Type != trace.TaskStateExited:
	case ev.State == trace.Tokenize:
		h.tokenize = i
		h.text.prompt(p)
	case ev.State == trace.LMHead:
		h.heads = append(h.heads, i)
	case ev.State == trace.Sample:
		h.samples = append(h.samples, i)
	case ev.State == trace.Decode:
		h.text.decode(i, p)
	}
}

// At returns the full event at position i.
func (h *history) At(i int) (trace.Event, error) {
	if i < 0 || i >= len(h.nodes) {
		return trace.Event{}, fmt.Errorf("event %d out of range [0,%d)", i, len(h.nodes))
	}
	if h.ra == nil {
		return h.events[i], nil
	}
	if ev, ok := h.cache.get(i); ok {
		return ev, nil
	}
	ev, err := h.ra.EventAt(i)
	if err != nil {
		return trace.Event{}, fmt.Errorf("read event %d: %w", i+1, err)
	}
	h.cache.put(i, ev)
	return ev, nil
}

// lastBefore returns the largest element of xs that is <= i, or -1.
func lastBefore(xs []int, i int) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := (lo + hi) / 2
		if xs[m] <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return -1
	}
	return xs[lo-1]
}

// lru is a tiny least-recently-used cache of events by position.
type lru struct {
	max int
	ll  *list.List
	m   map[int]*list.Element
}

type lruEntry struct {
	k  int
	ev trace.Event
}

func newLRU(max int) *lru { return &lru{max: max, ll: list.New(), m: map[int]*list.Element{}} }

func (c *lru) get(k int) (trace.Event, bool) {
	e, ok := c.m[k]
	if !ok {
		return trace.Event{}, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*lruEntry).ev, true
}

func (c *lru) put(k int, ev trace.Event) {
	if e, ok := c.m[k]; ok {
		e.Value.(*lruEntry).ev = ev
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(&lruEntry{k, ev})
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.m, e.Value.(*lruEntry).k)
	}
}
