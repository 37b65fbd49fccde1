package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/infertrace/infertrace/trace"
)

// fit truncates or pads s (one line, may hold ANSI styling) to exactly w
// columns.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// box makes lines exactly w wide and h tall.
func box(lines []string, w, h int) string {
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(w, 0))
		}
	}
	return strings.Join(out, "\n")
}

// columns joins equally tall blocks side by side with a separator.
func (m *Model) columns(blocks ...string) string {
	sep := m.c.styles.Separator.Render("│")
	parts := make([][]string, len(blocks))
	h := 0
	for i, b := range blocks {
		parts[i] = strings.Split(b, "\n")
		h = max(h, len(parts[i]))
	}
	var sb strings.Builder
	for y := range h {
		for i, p := range parts {
			if i > 0 {
				sb.WriteString(sep)
			}
			if y < len(p) {
				sb.WriteString(p[y])
			}
		}
		if y < h-1 {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// paneTitle renders a pane's title line, highlighted when focused.
func (c *common) paneTitle(idx int, title string, w int) string {
	st := c.styles.PaneTitle
	if c.m.focus == idx {
		st = c.styles.PaneTitleFocused
	}
	head := fmt.Sprintf("%d %s ", idx+1, title)
	fill := max(0, w-lipgloss.Width(head))
	return st.Render(fit(head+strings.Repeat("─", fill), w))
}

// The smallest terminal the panes are laid out in.
const (
	minWidth  = 40
	minHeight = 10
)

// View renders the whole screen.
func (m *Model) View() string {
	w, h := m.c.width, m.c.height
	if w <= 0 || h <= 0 {
		return ""
	}
	if m.preparing {
		return m.prepareView()
	}
	if w < minWidth || h < minHeight {
		// Too small for the panes: say so, keep the status and the message.
		lines := []string{m.statusView(), fmt.Sprintf("terminal too small: %dx%d, need %dx%d", w, h, minWidth, minHeight), m.message}
		return box(lines, w, h)
	}
	top := []string{m.statusView()}
	top = append(top, m.alertView()...)
	foot := m.footerView()
	bodyH := h - len(top) - len(foot)
	if bodyH < 8 {
		// No room for the panes (full help on a small terminal).
		return box(append(top, foot...), w, h)
	}
	body := m.bodyView(w, bodyH)
	return strings.Join(top, "\n") + "\n" + body + "\n" + strings.Join(foot, "\n")
}

func (m *Model) prepareView() string {
	w, h := m.c.width, m.c.height
	pct := 0.0
	if m.prepTotal > 0 {
		pct = float64(m.prepDone) / float64(m.prepTotal)
	}
	lines := make([]string, h/2-1)
	lines = append(lines,
		fit(fmt.Sprintf("  indexing %s", m.info.Path), w),
		fit("  "+m.c.styles.Bar.Render(fit(bar(pct, w-12), w-12))+fmt.Sprintf(" %3.0f%%", pct*100), w))
	return box(lines, w, h)
}

func (m *Model) bodyView(w, h int) string {
	textH := 3
	if h >= 30 {
		textH = 6
	}
	midH := h - textH
	p := m.panes
	if w >= 140 {
		tlW := 34
		rest := w - tlW - 2
		tW := rest * 60 / 100
		rW := rest - tW
		logH := midH / 2
		p[paneTimeline].SetSize(tlW, midH)
		p[paneTensors].SetSize(tW, midH)
		p[paneLogits].SetSize(rW, logH)
		p[paneProfile].SetSize(rW, midH-logH)
		right := p[paneLogits].View() + "\n" + p[paneProfile].View()
		if m.bpList {
			right = m.breakListView(rW, midH)
		}
		mid := m.columns(p[paneTimeline].View(), p[paneTensors].View(), right)
		p[paneText].SetSize(w, textH)
		return mid + "\n" + p[paneText].View()
	}
	tlW := max(22, w*34/100)
	rW := w - tlW - 1
	tensH := midH * 55 / 100
	p[paneTimeline].SetSize(tlW, midH)
	p[paneTensors].SetSize(rW, tensH)
	p[m.lower].SetSize(rW, midH-tensH)
	right := p[paneTensors].View() + "\n" + p[m.lower].View()
	if m.bpList {
		right = m.breakListView(rW, midH)
	}
	mid := m.columns(p[paneTimeline].View(), right)
	p[paneText].SetSize(w, textH)
	return mid + "\n" + p[paneText].View()
}

func (m *Model) breakListView(w, h int) string {
	st := m.c.styles
	lines := []string{st.PaneTitleFocused.Render(fit("Breakpoints (j/k move · d delete · esc close) ", w))}
	if len(m.bps) == 0 {
		lines = append(lines, st.Dim.Render("  none — b sets one on the current state, :break adds one"))
	}
	for i, b := range m.bps {
		line := fmt.Sprintf(" ● %d  %s", i+1, b)
		if i == m.bpSel {
			line = st.Current.Render(fit(line, w))
		}
		lines = append(lines, line)
	}
	return box(lines, w, h)
}

// statusView renders the one-line status bar. When the full form does not
// fit it switches to short labels, then leaves out fields in a fixed order
// (model type, tok/s, model name, layer, iteration); the mode, state,
// event id, breakpoint count, running mark and ERROR flag always show.
func (m *Model) statusView() string {
	st := m.c.styles
	mode := st.StatusMode.Render(" " + m.info.Mode + " ")
	flag := ""
	if m.errorSeen() {
		flag = st.StatusError.Render(" ERROR ")
	}
	avail := max(0, m.c.width-lipgloss.Width(mode)-lipgloss.Width(flag))
	segs := m.statusSegs()
	if line := joinSegs(segs, false, 0); lipgloss.Width(line) <= avail {
		return mode + st.StatusBar.Render(fit(line, avail)) + flag
	}
	for drop := 0; drop <= maxDrop; drop++ {
		if line := joinSegs(segs, true, drop); lipgloss.Width(line) <= avail {
			return mode + st.StatusBar.Render(fit(line, avail)) + flag
		}
	}
	return mode + st.StatusBar.Render(fit(joinSegs(segs, true, maxDrop), avail)) + flag
}

// statusSeg is one field of the status bar in its full and short forms;
// rank > 0 is the order in which it is left out when space runs short.
type statusSeg struct {
	long, short string
	rank        int
}

const maxDrop = 5

func (m *Model) statusSegs() []statusSeg {
	var node *node
	if m.cursor >= 0 {
		node = &m.h.nodes[m.cursor]
	}
	iter, layer, state, id := "-", "-", "-", "-"
	if node != nil {
		iter = fmt.Sprintf("%d", node.iter)
		if m.info.NPredict > 0 {
			iter += fmt.Sprintf("/%d", m.info.NPredict)
		}
		if node.layer >= 0 {
			layer = fmt.Sprintf("%d", node.layer)
		}
		state = stateLabel(node)
		id = fmt.Sprintf("#%d", node.id)
	}
	if m.info.NLayer > 0 {
		layer += fmt.Sprintf("/%d", m.info.NLayer)
	}
	typ := m.info.Type
	shortTyp := strings.TrimSuffix(strings.TrimPrefix(typ, "MOSTLY_"), " (guessed)")
	segs := []statusSeg{
		{m.info.Model, m.info.Model, 3},
		{typ, shortTyp, 1},
		{"iter " + iter, "i " + iter, 5},
		{"layer " + layer, "L " + layer, 4},
		{state, state, 0},
		{id, id, 0},
	}
	if tps := m.tokensPerSecond(); tps > 0 {
		segs = append(segs, statusSeg{fmt.Sprintf("%.1f tok/s", tps), fmt.Sprintf("%.1f t/s", tps), 2})
	}
	segs = append(segs, statusSeg{fmt.Sprintf("● %d", len(m.bps)), fmt.Sprintf("● %d", len(m.bps)), 0})
	if m.running {
		segs = append(segs, statusSeg{"running", "run", 0})
	}
	return segs
}

// joinSegs lays out the fields, leaving out those of rank 1..drop. The
// model name and type share a field.
func joinSegs(segs []statusSeg, short bool, drop int) string {
	var parts []string
	for i, sg := range segs {
		if sg.rank > 0 && sg.rank <= drop {
			continue
		}
		s := sg.long
		if short {
			s = sg.short
		}
		if s == "" {
			continue
		}
		if i == 1 && len(parts) > 0 && segs[0].rank > drop { // the type joins the model name
			parts[len(parts)-1] += " " + s
			continue
		}
		parts = append(parts, s)
	}
	if short {
		return " " + strings.Join(parts, "│") + " "
	}
	return " " + strings.Join(parts, " │ ") + " "
}

func stateLabel(n *node) string {
	switch n.typ() {
	case trace.TaskStateEntered:
		return string(n.state()) + " ▸in"
	case trace.TaskStateExited:
		return string(n.state()) + " ◂out"
	}
	return string(n.typ())
}

// errorSeen reports whether an error event is at or before the furthest
// position reached.
func (m *Model) errorSeen() bool { return m.h.firstErr >= 0 && m.h.firstErr <= m.seen }

// tokensPerSecond is the engine's generation speed up to the cursor, the
// same live and in a replay: tokens over the engine time the brick
// profiles record (their wall time excludes the time the engine waited for
// the debugger, so stepping slowly does not lower it); without profiles,
// tokens over event time.
func (m *Model) tokensPerSecond() float64 {
	if at := lastBefore(m.h.profiles, m.cursor); at >= 0 {
		if ev, err := m.h.At(at); err == nil && ev.Payload != nil && ev.Payload.Profile != nil {
			p := ev.Payload.Profile
			wall := p.WallNS
			if p.Total != nil {
				wall = p.Total.WallNS
			} else if ev.Payload.Iteration > 0 {
				wall = 0 // one iteration's time says nothing of the others
			}
			if wall > 0 {
				return float64(ev.Payload.Iteration+1) / (float64(wall) / 1e9)
			}
		}
	}
	toks := m.h.text.tokens
	k := m.h.text.upTo(m.cursor)
	if k == 0 || m.h.started < 0 {
		return 0
	}
	a, err1 := m.h.At(m.h.started)
	b, err2 := m.h.At(toks[k-1].pos)
	if err1 != nil || err2 != nil {
		return 0
	}
	d := b.Time.Sub(a.Time).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(k) / d
}

// alertView shows the first error: its producer, cause and hint.
func (m *Model) alertView() []string {
	if !m.errorSeen() {
		return nil
	}
	st := m.c.styles
	w := m.c.width
	ev, err := m.h.At(m.h.firstErr)
	if err != nil {
		return []string{st.Alert.Render(fit("✗ "+err.Error(), w))}
	}
	head, hint := "", ""
	if ev.Type == trace.ExecutionFailed {
		head = fmt.Sprintf("✗ %s: %s", ev.Error, ev.Cause)
		hint = ev.Hint
	} else if p := ev.Payload; p != nil {
		for _, is := range p.Issues {
			if is.Severity == trace.SevError {
				head = fmt.Sprintf("✗ %s: %s", is.Code, is.Message)
				hint = is.Hint
				break
			}
		}
		if head == "" {
			head = fmt.Sprintf("✗ %s at %s (layer %d, iteration %d)", m.errorWhat(m.h.firstErr), ev.State, p.Layer, p.Iteration)
		}
	}
	head += fmt.Sprintf(" [event %d]", ev.ID)
	lines := []string{st.Alert.Render(fit(head, w))}
	if hint != "" {
		lines = append(lines, st.AlertHint.Render(fit("  hint: "+hint, w)))
	}
	return lines
}

// commandHelp summarises the `:` commands in the full help.
const commandHelp = ":break STATE [layer=N] [iteration=N] · :break if nan|inf|std>X|absmax>X|prob<X · :delete N · :clear · :goto ID · :set top-k K"

// footerView is the message or input line and the help.
func (m *Model) footerView() []string {
	st := m.c.styles
	w := m.c.width
	var line string
	switch m.input {
	case inputCommand:
		line = st.Prompt.Render(":") + m.buf + "█"
	case inputSearch:
		line = st.Prompt.Render("/") + m.buf + "█"
	default:
		line = st.Message.Render(m.message)
	}
	out := []string{fit(line, w)}
	m.help.ShowAll = m.showHelp
	for _, l := range strings.Split(m.help.View(helpKeys{global: m.c.keys}), "\n") {
		out = append(out, fit(l, w))
	}
	if m.showHelp {
		// The focused pane's keys and the : commands, wrapped to the width
		// rather than cut (at 80 columns they do not fit in the columns).
		p := m.panes[m.focus]
		var pk []string
		for _, b := range p.ShortHelp() {
			pk = append(pk, b.Help().Key+" "+b.Help().Desc)
		}
		if len(pk) > 0 {
			for _, l := range wrap(fmt.Sprintf("%d %s: %s", m.focus+1, p.Title(), strings.Join(pk, " · ")), w) {
				out = append(out, st.Dim.Render(fit(l, w)))
			}
		}
		for _, l := range wrap(commandHelp, w) {
			out = append(out, st.Dim.Render(fit(l, w)))
		}
	}
	return out
}
