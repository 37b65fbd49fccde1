package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/trace"
)

// timelineKeys are the timeline pane's own bindings.
type timelineKeys struct {
	Up, Down, Toggle key.Binding
}

// timelinePane shows the transitions as a collapsible tree (iteration →
// block → norm/attention/FFN) that follows the cursor.
type timelinePane struct {
	c    *common
	w, h int
	keys timelineKeys
	fold map[int32]bool // rows the user folded (false) or unfolded (true)
}

func newTimelinePane(c *common) *timelinePane {
	return &timelinePane{c: c, fold: map[int32]bool{}, keys: timelineKeys{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "prev row")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next row")),
		Toggle: key.NewBinding(key.WithKeys("enter", " "), key.WithHelp("enter", "fold/unfold")),
	}}
}

// Init, SetSize, Title and the help methods implement pane.
func (p *timelinePane) Init() tea.Cmd    { return nil }
func (p *timelinePane) SetSize(w, h int) { p.w, p.h = w, h }
func (p *timelinePane) Title() string    { return "Timeline" }
func (p *timelinePane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Toggle}
}
func (p *timelinePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// Update moves between visible rows (through the recorded history) and
// folds rows.
func (p *timelinePane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	m := p.c.m
	if !ok || m.cursor < 0 {
		return p, nil
	}
	vis := p.visible()
	onPath := p.path()
	cur := p.shownRow(onPath)
	at := 0
	for i, r := range vis {
		if r == cur {
			at = i
		}
	}
	rows := m.h.tl.rows
	switch {
	case key.Matches(km, p.keys.Up):
		if at > 0 {
			m.moveTo(int(rows[vis[at-1]].first))
		}
	case key.Matches(km, p.keys.Down):
		if at+1 < len(vis) {
			m.moveTo(int(rows[vis[at+1]].first))
		}
	case key.Matches(km, p.keys.Toggle):
		// Fold or unfold the group at the cursor (or around it).
		r := cur
		for r >= 0 && (rows[r].kind == rowState || rows[r].kind == rowExec) {
			r = rows[r].parent
		}
		if r >= 0 {
			p.fold[r] = !p.expanded(r, onPath)
		}
	}
	return p, nil
}

func (p *timelinePane) cursorRow() int32 {
	m := p.c.m
	if m.cursor < 0 {
		return -1
	}
	return m.h.nodes[m.cursor].row
}

// expanded reports whether group row r shows its children: by default the
// groups holding the cursor do; the user's choice overrides that.
func (p *timelinePane) expanded(r int32, onPath map[int32]bool) bool {
	if v, ok := p.fold[r]; ok {
		return v
	}
	return onPath[r]
}

// shownRow is the row that stands for the cursor: its own, or the outermost
// folded group holding it.
func (p *timelinePane) shownRow(onPath map[int32]bool) int32 {
	cur := p.cursorRow()
	rows := p.c.m.h.tl.rows
	shown := cur
	for r := cur; r >= 0; r = rows[r].parent {
		if r != cur && !p.expanded(r, onPath) {
			shown = r
		}
	}
	return shown
}

func (p *timelinePane) path() map[int32]bool {
	rows := p.c.m.h.tl.rows
	onPath := map[int32]bool{}
	for r := p.cursorRow(); r >= 0; r = rows[r].parent {
		onPath[r] = true
	}
	return onPath
}

// visible lists the rows shown, in order, up to the furthest event seen.
func (p *timelinePane) visible() []int32 {
	m := p.c.m
	rows := m.h.tl.rows
	onPath := p.path()
	var out []int32
	for i := int32(0); i < int32(len(rows)); {
		r := &rows[i]
		if int(r.first) > m.seen {
			break
		}
		out = append(out, i)
		if (r.kind == rowIter || r.kind == rowBlock) && !p.expanded(i, onPath) {
			i = r.end
			continue
		}
		i++
	}
	return out
}

func (p *timelinePane) View() string {
	m := p.c.m
	st := p.c.styles
	lines := []string{p.c.paneTitle(paneTimeline, p.Title(), p.w)}
	vis := p.visible()
	onPath := p.path()
	cur := p.shownRow(onPath)
	at := 0
	for i, r := range vis {
		if r == cur {
			at = i
		}
	}
	room := p.h - 1
	off := 0
	if len(vis) > room {
		off = max(0, min(at-room/2, len(vis)-room))
	}
	rows := m.h.tl.rows
	for _, ri := range vis[off:min(len(vis), off+room)] {
		r := &rows[ri]
		mark := " "
		switch {
		case ri == cur:
			mark = "▶"
		case r.errAt >= 0 && int(r.errAt) <= m.seen:
			mark = "✗"
		case p.hasBreak(r):
			mark = "●"
		}
		depth := 0
		for q := r.parent; q >= 0; q = rows[q].parent {
			depth++
		}
		label := mark + " " + strings.Repeat("  ", depth) + p.label(ri, r, onPath)
		if d := p.duration(r); d != "" && len([]rune(label))+len(d)+1 <= p.w {
			label = fit(label, p.w-len(d)) + d
		}
		line := fit(label, p.w)
		switch {
		case ri == cur:
			line = st.Current.Render(line)
		case mark == "✗":
			line = st.Error.Render(line)
		case mark == "●":
			line = st.Breakpoint.Render(line)
		}
		lines = append(lines, line)
	}
	if len(vis) == 0 {
		lines = append(lines, st.Dim.Render("  waiting for the first event…"))
	}
	return box(lines, p.w, p.h)
}

// duration is a finished state's recorded duration, or "".
func (p *timelinePane) duration(r *tlRow) string {
	m := p.c.m
	if r.kind != rowState || r.last == r.first || int(r.last) > m.seen {
		return ""
	}
	ev, err := m.h.At(int(r.last))
	if err != nil || ev.Type != trace.TaskStateExited || ev.Payload == nil || ev.Payload.DurationUS <= 0 {
		return ""
	}
	return fmtUS(ev.Payload.DurationUS)
}

// hasBreak reports whether a state breakpoint stops at the row's start.
func (p *timelinePane) hasBreak(r *tlRow) bool {
	if r.kind != rowState && r.kind != rowBlock {
		return false
	}
	return p.stateBreak(&p.c.m.h.nodes[r.first])
}

// stateBreak reports whether a state breakpoint (not a condition) matches n.
func (p *timelinePane) stateBreak(n *node) bool {
	for _, b := range p.c.m.bps {
		if b.Cond == CondNone && b.match(n) {
			return true
		}
	}
	return false
}

func (p *timelinePane) label(ri int32, r *tlRow, onPath map[int32]bool) string {
	fold := "▸ "
	if p.expanded(ri, onPath) {
		fold = "▾ "
	}
	m := p.c.m
	switch r.kind {
	case rowExec:
		return string(r.typ())
	case rowIter:
		s := fold + fmt.Sprintf("iter %d", r.iter)
		toks := m.h.text.tokens // in iteration order
		for k := sort.Search(len(toks), func(k int) bool { return toks[k].iter >= int(r.iter) }); k < len(toks) && toks[k].iter == int(r.iter); k++ {
			if toks[k].pos <= m.seen {
				s += fmt.Sprintf(" %q", showPiece(toks[k].piece))
			}
		}
		return s
	case rowBlock:
		return fold + fmt.Sprintf("blk.%d", r.layer)
	}
	s := string(r.state())
	if r.state() == trace.KernelLaunch {
		if ev, err := m.h.At(int(r.last)); err == nil && ev.Payload != nil && ev.Payload.Kernel != nil {
			k := ev.Payload.Kernel
			w := strings.TrimSuffix(k.Weight, ".weight")
			if i := strings.LastIndexByte(w, '.'); strings.HasPrefix(w, "blk.") && i >= 0 {
				w = w[i+1:]
			}
			s = strings.TrimSpace(w + " · " + k.Name)
		}
	}
	if m.h.nodes[r.first].typ() == trace.TaskStateEntered && (r.last == r.first || int(r.last) > m.seen) {
		s += " …" // entered, not yet exited
	}
	return s
}
