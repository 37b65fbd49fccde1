package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// namedSummary is one tensor of an event, with its display name.
type namedSummary struct {
	name   string
	stage  string
	s      stats.Summary
	values []float32
}

// stageOrder returns a stage's position in trace.StageNames (unknown
// stages sort last).
func stageOrder(stage string) int {
	for i, s := range trace.StageNames {
		if s == stage {
			return i
		}
	}
	return len(trace.StageNames)
}

// orderedTensors lists an event's tensors in pipeline order, named as the
// engine names block outputs ("blk.3.ffn_out").
func orderedTensors(p *trace.Payload) []namedSummary {
	var out []namedSummary
	for k, s := range p.Tensors {
		if s == nil {
			continue
		}
		name, stage := k, k
		if i := strings.LastIndexByte(k, '.'); strings.HasPrefix(k, "blk.") && i > 0 {
			stage = k[i+1:]
		} else if p.Layer >= 0 && trace.IsBlockStage(k) {
			name = fmt.Sprintf("blk.%d.%s", p.Layer, k)
		}
		ns := namedSummary{name: name, stage: stage, s: *s, values: p.Values[k]}
		out = append(out, ns)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := stageOrder(out[i].stage), stageOrder(out[j].stage)
		if oi != oj {
			return oi < oj
		}
		return out[i].name < out[j].name
	})
	if len(out) == 0 && p.Stats != nil {
		out = append(out, namedSummary{name: "output", stage: "output", s: *p.Stats})
	}
	return out
}

// tensorKeys are the tensor pane's own bindings.
type tensorKeys struct {
	Up, Down, Values key.Binding
}

// tensorPane shows the current event's tensor summaries, one row each; the
// selected row's full statistics (those the columns leave out on a narrow
// terminal) are spelled out on the pane's last line.
type tensorPane struct {
	c       *common
	w, h    int
	keys    tensorKeys
	off     int // first body line shown
	sel     int // selected tensor
	verbose bool
}

func newTensorPane(c *common) *tensorPane {
	return &tensorPane{c: c, keys: tensorKeys{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "select up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "select down")),
		Values: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "values")),
	}}
}

// Init, SetSize, Title and the help methods implement pane.
func (p *tensorPane) Init() tea.Cmd    { return nil }
func (p *tensorPane) SetSize(w, h int) { p.w, p.h = w, h }
func (p *tensorPane) Title() string    { return "Tensors" }
func (p *tensorPane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Values}
}
func (p *tensorPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func (p *tensorPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, p.keys.Up):
			p.sel = max(0, p.sel-1)
		case key.Matches(km, p.keys.Down):
			p.sel++ // View clamps it to the tensors shown
		case key.Matches(km, p.keys.Values):
			p.verbose = !p.verbose
		}
	}
	return p, nil
}

// num formats a statistic in at most 9 columns.
func num(f float64) string {
	switch {
	case math.IsNaN(f):
		return "—"
	case f == 0:
		return "0"
	case math.Abs(f) >= 1e4 || math.Abs(f) < 1e-3:
		return fmt.Sprintf("%.2e", f)
	}
	return fmt.Sprintf("%.4g", f)
}

type tcol struct {
	head string
	w    int
	cell func(t namedSummary) string
}

// eventTensors returns the tensors to show for ev and a note for the
// title. An Entered event shows its input (the engine records the input
// tensor's statistics as stats); an Entered event without one (older
// traces) shows the output of the state that ran before it.
func (m *Model) eventTensors(i int, ev *trace.Event) ([]namedSummary, string) {
	p := ev.Payload
	if ev.Type != trace.TaskStateEntered {
		return orderedTensors(p), ""
	}
	if len(p.Tensors) == 0 && p.Stats != nil {
		return []namedSummary{{name: "input", stage: "input", s: *p.Stats, values: p.Values["input"]}}, " · input"
	}
	if ts := orderedTensors(p); len(ts) > 0 || len(p.TokenIDs) > 0 || p.Text != "" {
		return ts, ""
	}
	if j := m.prevExit(i); j >= 0 {
		if in, err := m.h.At(j); err == nil && in.Payload != nil {
			return orderedTensors(in.Payload), fmt.Sprintf(" · input = %s out", in.State)
		}
	}
	return nil, ""
}

func (p *tensorPane) View() string {
	m := p.c.m
	st := p.c.styles
	title := p.Title()
	lines := []string{}
	var ts []namedSummary
	short := "" // the layer prefix the rows leave out (the title names it)
	if m.cursor >= 0 {
		ev, err := m.h.At(m.cursor)
		switch {
		case err != nil:
			lines = append(lines, st.Error.Render(err.Error()))
		case ev.Type == trace.ExecutionStarted && ev.Run != nil:
			title += " · run settings"
			lines = append(lines, runLines(ev.Run, p.w)...)
		case ev.Type == trace.ExecutionFailed:
			lines = append(lines, st.Error.Render(ev.Error))
			lines = append(lines, wrap(ev.Cause, p.w)...)
			if ev.Hint != "" {
				lines = append(lines, wrap("hint: "+ev.Hint, p.w)...)
			}
		case ev.Payload != nil:
			var note string
			ts, note = m.eventTensors(m.cursor, &ev)
			title += " · "
			if l := ev.Payload.Layer; l >= 0 {
				title += fmt.Sprintf("blk.%d ", l)
				short = fmt.Sprintf("blk.%d.", l)
			}
			title += stateLabel(&m.h.nodes[m.cursor]) + note
			if ev.Payload.DurationUS > 0 {
				title += fmt.Sprintf(" · %s", fmtUS(ev.Payload.DurationUS))
			}
			if len(ev.Payload.Shape) > 0 {
				title += fmt.Sprintf(" · %v", ev.Payload.Shape)
			}
			if ev.Type == trace.TaskStateEntered && len(ev.Payload.TokenIDs) > 0 {
				lines = append(lines, fit(fmt.Sprintf("input token ids %v", ev.Payload.TokenIDs), p.w))
			} else if ev.Type == trace.TaskStateEntered && ev.Payload.Text != "" {
				lines = append(lines, fit(fmt.Sprintf("input text %q", ev.Payload.Text), p.w))
			}
		}
	}
	lines = append([]string{p.c.paneTitle(paneTensors, title, p.w)}, lines...)
	if m.cursor >= 0 {
		if ev, err := m.h.At(m.cursor); err == nil && ev.Payload != nil && ev.Payload.Kernel != nil {
			lines = append(lines, kernelLines(ev.Payload.Kernel, p.w)...)
		}
	}
	if len(ts) == 0 {
		if len(lines) == 1 {
			lines = append(lines, st.Dim.Render("  no tensors at this event"))
		}
		return box(lines, p.w, p.h)
	}
	scale := 0.0
	for _, t := range ts {
		if !math.IsNaN(t.s.AbsMax) {
			scale = math.Max(scale, t.s.AbsMax)
		}
	}
	nameW := 6
	for _, t := range ts {
		nameW = max(nameW, len(strings.TrimPrefix(t.name, short)))
	}
	nameW = min(nameW+1, 22)
	rangeCol := tcol{"range", 12, func(t namedSummary) string { return rangeBar(t.s, scale, 11) }}
	all := []tcol{
		{"mean", 9, func(t namedSummary) string { return num(t.s.Mean) }},
		{"std", 9, func(t namedSummary) string { return num(t.s.Std) }},
		{"nan/inf", 8, func(t namedSummary) string { return fmt.Sprintf("%d/%d", t.s.NaN, t.s.Inf) }},
		rangeCol,
		{"min", 9, func(t namedSummary) string { return num(t.s.Min) }},
		{"max", 9, func(t namedSummary) string { return num(t.s.Max) }},
		{"l2", 9, func(t namedSummary) string { return num(t.s.L2) }},
		{"zero", 6, func(t namedSummary) string { return fmt.Sprint(t.s.Zero) }},
	}
	if hasHist(ts) {
		// The engine's histogram (over each tensor's own [min, max]) takes
		// the range bar's place, followed by the min and max it spans; the
		// range bar (a shared axis) goes last, where a wide pane shows it.
		// A narrow pane merges neighbouring bins rather than lose the
		// column.
		bins := stats.HistBins
		for bins > 4 && nameW+9+9+8+bins+1 > p.w {
			bins /= 2
		}
		all = append(append(all[:3:3], tcol{"hist", bins + 1, func(t namedSummary) string { return histCell(t.s, scale, bins) }}),
			all[4], all[5], all[6], all[7], rangeCol)
	}
	var cols []tcol
	shown := map[string]bool{}
	used := nameW
	for _, c := range all {
		if used+c.w <= p.w {
			cols = append(cols, c)
			shown[c.head] = true
			used += c.w
		}
	}
	head := fmt.Sprintf("%-*s", nameW, "tensor")
	for _, c := range cols {
		head += fmt.Sprintf("%*s", c.w, c.head)
	}
	lines = append(lines, st.Dim.Render(head))
	p.sel = max(0, min(p.sel, len(ts)-1))
	focused := m.focus == paneTensors
	var body []string
	selLine := 0
	for k, t := range ts {
		if k == p.sel {
			selLine = len(body)
		}
		row := fmt.Sprintf("%-*s", nameW, strings.TrimPrefix(t.name, short))
		for _, c := range cols {
			row += fmt.Sprintf("%*s", c.w, c.cell(t))
		}
		switch {
		case k == p.sel && focused:
			row = st.Current.Render(fit(row, p.w))
		case !t.s.Finite():
			row = st.Error.Render(fit(row, p.w))
		}
		body = append(body, row)
		if p.verbose && len(t.values) > 0 {
			_, counts := stats.Histogram(t.values, max(4, min(len(t.values), 32, p.w-nameW-2)))
			body = append(body, st.Bar.Render(fmt.Sprintf("%-*s%s", max(nameW, 9), "  hist", stats.Sparkline(counts))))
			vals := ""
			for _, v := range t.values {
				vals += " " + num(float64(v))
			}
			body = append(body, st.Dim.Render(fit(fmt.Sprintf("%-*s%s", max(nameW, 9), "  values", vals), p.w)))
		}
	}
	if !p.verbose {
		hasValues := false
		for _, t := range ts {
			hasValues = hasValues || len(t.values) > 0
		}
		if hasValues {
			body = append(body, st.Dim.Render("  v: histograms of the recorded values"))
		}
	}
	// The selected tensor's statistics the columns leave out.
	var detail string
	missing := false // a statistic without a column (the range bar is none)
	for _, c := range all {
		missing = missing || (!shown[c.head] && c.head != "range")
	}
	if missing {
		t := ts[p.sel]
		detail = "› " + strings.TrimPrefix(t.name, short)
		for _, f := range []struct {
			head string
			v    string
		}{{"min", num(t.s.Min)}, {"max", num(t.s.Max)}, {"l2", num(t.s.L2)}, {"zero", fmt.Sprint(t.s.Zero)},
			{"mean", num(t.s.Mean)}, {"std", num(t.s.Std)}, {"nan/inf", fmt.Sprintf("%d/%d", t.s.NaN, t.s.Inf)},
			{"hist", histSpark(t.s, stats.HistBins)}} {
			if f.head == "hist" && f.v == "" {
				continue
			}
			if !shown[f.head] {
				detail += " " + f.head + " " + f.v
			}
		}
		detail += fmt.Sprintf(" absmax %s n %d", num(t.s.AbsMax), t.s.N)
	}
	room := p.h - len(lines)
	if room < 4 {
		detail = "" // a very short pane keeps its rows
	}
	if detail != "" {
		room--
	}
	room = max(room, 1)
	// Keep the selected row in view.
	p.off = max(0, min(p.off, len(body)-room))
	if selLine < p.off {
		p.off = selLine
	} else if selLine >= p.off+room {
		p.off = selLine - room + 1
	}
	lines = append(lines, body[p.off:min(len(body), p.off+room)]...)
	if detail != "" {
		for len(lines) < p.h-1 {
			lines = append(lines, "")
		}
		lines = append(lines, st.Label.Render(fit(detail, p.w)))
	}
	return box(lines, p.w, p.h)
}

// runLines describes the run's settings (the ExecutionStarted input).
func runLines(r *trace.RunInfo, w int) []string {
	sp := r.Sampler
	out := []string{
		fmt.Sprintf("prompt %q", r.Prompt),
		fmt.Sprintf("generate %d tokens", r.NPredict),
		fmt.Sprintf("sampler temp %g · top-k %d · top-p %g · min-p %g · repeat %g · seed %d",
			sp.Temperature, sp.TopK, sp.TopP, sp.MinP, sp.RepeatPenalty, sp.Seed),
	}
	if len(r.Steps) > 0 {
		out = append(out, "traced "+strings.Join(r.Steps, " "))
	}
	for _, in := range r.Injections {
		out = append(out, "inject "+in)
	}
	if r.Threads > 0 {
		out[1] += fmt.Sprintf(" · %d threads", r.Threads)
	}
	var lines []string
	for _, l := range out {
		lines = append(lines, wrap(l, w)...)
	}
	return lines
}

// hasHist reports whether any of ts carries the engine's histogram.
func hasHist(ts []namedSummary) bool {
	for _, t := range ts {
		if !t.s.Hist.Empty() {
			return true
		}
	}
	return false
}

// histSpark draws a summary's histogram as a sparkline of bins blocks (a
// divisor of HistBins: neighbouring bins merged), min on the left, max on
// the right; "" when it has none.
func histSpark(s stats.Summary, bins int) string {
	counts := s.Hist.Counts()
	if counts == nil || bins <= 0 || stats.HistBins%bins != 0 {
		return stats.Sparkline(counts)
	}
	k := stats.HistBins / bins
	merged := make([]int, bins)
	for i, c := range counts {
		merged[i/k] += c
	}
	return stats.Sparkline(merged)
}

// histCell is the hist column: the sparkline, or for a tensor without one
// (no finite values, an older trace) the range bar.
func histCell(s stats.Summary, scale float64, bins int) string {
	if sp := histSpark(s, bins); sp != "" {
		return " " + sp
	}
	return rangeBar(s, scale, bins+1)
}

// rangeBar draws min..max as ─ and mean±std as █ on a shared axis
// [-scale, scale], with ┊ at zero, so tensors of one event compare at a
// glance.
func rangeBar(s stats.Summary, scale float64, w int) string {
	if !s.Finite() && math.IsNaN(s.Min) {
		return "non-finite"
	}
	if scale <= 0 || math.IsNaN(s.Min) {
		return strings.Repeat(" ", w)
	}
	pos := func(x float64) int {
		i := int(math.Round((x/scale + 1) / 2 * float64(w-1)))
		return max(0, min(w-1, i))
	}
	b := []rune(strings.Repeat(" ", w))
	b[pos(0)] = '┊'
	for i := pos(s.Min); i <= pos(s.Max); i++ {
		b[i] = '─'
	}
	for i := pos(s.Mean - s.Std); i <= pos(s.Mean+s.Std); i++ {
		b[i] = '█'
	}
	return " " + string(b[:w-1])
}

// fmtUS formats a duration recorded in the event (microseconds).
func fmtUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2f s", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2f ms", us/1e3)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// wrap breaks s into lines of at most w columns at spaces.
func wrap(s string, w int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > w {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// prevExit returns the position of the last Exited event before i that
// has tensors to show, or -1 (looking back a bounded distance).
func (m *Model) prevExit(i int) int {
	for j := i - 1; j >= 0 && j >= i-64; j-- {
		n := &m.h.nodes[j]
		if n.typ() == trace.TaskStateExited && n.flags&flagStats != 0 {
			return j
		}
	}
	return -1
}

// kernelLines describes a KERNEL_LAUNCH.
func kernelLines(k *trace.KernelInfo, w int) []string {
	s := fmt.Sprintf("kernel %s", k.Name)
	if k.Weight != "" {
		s += " · " + k.Weight
	}
	out := []string{s, fmt.Sprintf("%d×%d batch %d · %d workers × %d rows · %s", k.Rows, k.Cols, k.Batch, k.Workers, k.RowsPerWorker, k.Strategy)}
	if k.DurationUS > 0 {
		secs := k.DurationUS / 1e6
		out = append(out, fmt.Sprintf("%s · %.2f GFLOP/s · %.2f GB/s", fmtUS(k.DurationUS), float64(k.FLOPs)/secs/1e9, float64(k.BytesRead)/secs/1e9))
	}
	for i := range out {
		out[i] = fit(out[i], w)
	}
	return out
}
