package tui

import (
	"sort"
	"strings"

	"github.com/infertrace/infertrace/trace"
)

// rowKind is the level of a timeline row.
type rowKind uint8

const (
	rowExec  rowKind = iota // ExecutionStarted/Succeeded/Failed/Aborted
	rowIter                 // one iteration (token)
	rowBlock                // one transformer block
	rowState                // one state transition (Entered..Exited)
)

// tlRow is one row of the timeline tree. Rows are created in event order,
// which is a pre-order walk of the tree, so a row's descendants are the
// rows (idx, end).
type tlRow struct {
	kind   rowKind
	tc     typeCode  // rowExec
	sc     stateCode // rowState, rowBlock
	iter   int32
	layer  int16
	parent int32 // -1 at the top level
	first  int32 // first event position
	last   int32 // last event position so far
	end    int32 // one past the last descendant row
	errAt  int32 // position of the first error event inside, -1 if none
}

func (r *tlRow) typ() trace.EventType { return r.tc.eventType() }
func (r *tlRow) state() trace.State   { return r.sc.state() }

// timeline builds the collapsible tree of transitions incrementally.
type timeline struct {
	rows    []tlRow
	curIter int32 // row of the current iteration, -1 before the first
	block   int32 // row of the open transformer block, -1 if none
	open    []int32
}

func (t *timeline) newRow(r tlRow) int32 {
	idx := int32(len(t.rows))
	r.end = idx + 1
	r.errAt = -1
	t.rows = append(t.rows, r)
	for p := r.parent; p >= 0; p = t.rows[p].parent {
		t.rows[p].end = idx + 1
	}
	return idx
}

// mark records event i in row r and its ancestors.
func (t *timeline) mark(r int32, i int, isErr bool) {
	for p := r; p >= 0; p = t.rows[p].parent {
		t.rows[p].last = int32(i)
		if isErr && t.rows[p].errAt < 0 {
			t.rows[p].errAt = int32(i)
		}
	}
}

// add places event i (summarised by n) in the tree and returns its row.
func (t *timeline) add(i int, n *node) int {
	if len(t.rows) == 0 {
		t.curIter, t.block = -1, -1
	}
	isErr := n.isError()
	if n.typ() != trace.TaskStateEntered && n.typ() != trace.TaskStateExited {
		parent := int32(-1)
		if n.typ() == trace.ExecutionFailed {
			// A failure belongs where the run stopped: in the open block
			// (so the producing state shows beside it), else the iteration.
			switch {
			case t.block >= 0:
				parent = t.block
			case t.curIter >= 0:
				parent = t.curIter
			}
		}
		r := t.newRow(tlRow{kind: rowExec, tc: n.tc, parent: parent, iter: n.iter, layer: trace.NoLayer, first: int32(i)})
		t.mark(r, i, isErr)
		if isErr {
			// The engine stops without exiting the failing states: mark
			// the open ones, innermost being the producer.
			for _, o := range t.open {
				if t.rows[o].errAt < 0 {
					t.rows[o].errAt = int32(i)
				}
			}
			if t.block >= 0 && t.rows[t.block].errAt < 0 {
				t.rows[t.block].errAt = int32(i)
			}
		}
		return int(r)
	}
	if t.curIter < 0 || t.rows[t.curIter].iter != n.iter {
		t.curIter = t.newRow(tlRow{kind: rowIter, iter: n.iter, layer: trace.NoLayer, parent: -1, first: int32(i)})
		t.block, t.open = -1, t.open[:0]
	}
	if n.state() == trace.TransformerBlock {
		if n.typ() == trace.TaskStateEntered || t.block < 0 {
			t.block = t.newRow(tlRow{kind: rowBlock, sc: n.sc, iter: n.iter, layer: n.layer, parent: t.curIter, first: int32(i)})
		}
		r := t.block
		t.mark(r, i, isErr)
		if n.typ() == trace.TaskStateExited {
			t.block = -1
		}
		return int(r)
	}
	parent := t.curIter
	if t.block >= 0 && (n.layer >= 0 || n.state() == trace.KernelLaunch) {
		parent = t.block
	}
	if k := len(t.open); k > 0 && n.typ() == trace.TaskStateEntered && t.rows[t.open[k-1]].iter == n.iter &&
		t.rows[t.open[k-1]].first > parent {
		// Nested in a state still open (a kernel inside ATTENTION).
		parent = t.open[k-1]
	}
	if n.typ() == trace.TaskStateExited {
		for k := len(t.open) - 1; k >= 0; k-- {
			r := t.open[k]
			if t.rows[r].state() == n.state() {
				t.open = append(t.open[:k], t.open[k+1:]...)
				t.mark(r, i, isErr)
				return int(r)
			}
		}
	}
	r := t.newRow(tlRow{kind: rowState, sc: n.sc, iter: n.iter, layer: n.layer, parent: parent, first: int32(i)})
	t.mark(r, i, isErr)
	if n.typ() == trace.TaskStateEntered {
		t.open = append(t.open, r)
	}
	return int(r)
}

// textLog collects the prompt and the generated tokens.
type textLog struct {
	promptText   string
	promptPieces []string
	tokens       []genToken
}

type genToken struct {
	pos   int // event position of the DECODE exit
	iter  int
	id    int
	piece string
}

func (l *textLog) prompt(p *trace.Payload) {
	l.promptText, l.promptPieces = p.Text, p.Pieces
}

func (l *textLog) decode(i int, p *trace.Payload) {
	g := genToken{pos: i, iter: p.Iteration, piece: p.Piece, id: -1}
	if g.piece == "" {
		g.piece = p.TextAdded
	}
	if p.TokenID != nil {
		g.id = *p.TokenID
	}
	l.tokens = append(l.tokens, g)
}

// upTo returns how many tokens were decoded at or before position pos.
func (l *textLog) upTo(pos int) int {
	return sort.Search(len(l.tokens), func(k int) bool { return l.tokens[k].pos > pos })
}

// showPiece makes a token piece printable on one line: SentencePiece's
// word marker becomes a space, control characters become visible glyphs.
func showPiece(s string) string {
	r := strings.NewReplacer("▁", " ", "\n", "⏎", "\r", "␍", "\t", "⇥")
	s = r.Replace(s)
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return '·'
		}
		return c
	}, s)
}
