package tui

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/trace"
)

// Options configure the debugger.
type Options struct {
	// BreakOnError stops any run (c, n, t) at the first event carrying a
	// NaN/Inf tensor, an error issue or ExecutionFailed. The CLI sets it
	// unless asked not to; DefaultOptions returns it set.
	BreakOnError bool
	// Breakpoints are initial breakpoints in `:break` syntax.
	Breakpoints []string
	// TopK limits the rows of the logits pane (0: all recorded).
	TopK int
	// ProgramOptions are passed to tea.NewProgram after WithAltScreen (tests
	// use them to set input and output).
	ProgramOptions []tea.ProgramOption
}

// DefaultOptions returns the defaults: break on the first NaN/Inf.
func DefaultOptions() Options { return Options{BreakOnError: true} }

// Pane indices, in `1`-`5` order.
const (
	paneTimeline = iota
	paneTensors
	paneLogits
	paneProfile
	paneText
	numPanes
)

// pane is one area of the screen. Each pane is a tea.Model with its own
// size and key bindings; all read the debugger state through common.
type pane interface {
	tea.Model
	SetSize(width, height int)
	Title() string
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// common is shared by the root model and every pane.
type common struct {
	width, height int
	styles        *Styles
	keys          KeyMap
	m             *Model
}

// goal is what a run of events is looking for.
type goal int

const (
	goalStep     goal = iota // one event
	goalLayer                // the next block (step over the current one)
	goalToken                // the next iteration
	goalContinue             // the next breakpoint, error or the end
	goalError                // the next error
	goalEnd                  // the last event, no stops
	goalGoto                 // a given position
	goalSearch               // the next event matching a search
)

type motion struct {
	g      goal
	iter   int32
	target int
	query  string // goalSearch, lower case
	layer  int    // goalSearch: layer of a `blk.N` query, or -1
}

// inputMode is the line editor's purpose.
type inputMode int

const (
	inputNone inputMode = iota
	inputCommand
	inputSearch
)

// Messages.
type (
	eventsMsg struct {
		gen int
		evs []trace.Event
		err error
	}
	resumeMsg    struct{ gen int }
	preparedMsg  struct{ err error }
	progressMsg  struct{ done, total int64 }
	restartedMsg struct {
		gen int
		err error
	}
)

// fetcher serialises source access between event batches and restarts, so
// that a batch of an old run never reads events of a new one.
type fetcher struct {
	mu  sync.Mutex
	gen int
	src Source
}

// Model is the debugger's root bubbletea model. Update is a pure function of
// (model, message) apart from the commands it returns, which is what the
// model tests exercise.
type Model struct {
	c    *common
	src  Source
	info SourceInfo
	opts Options
	f    *fetcher

	h      *history
	cursor int // position of the current event, -1 before the first
	seen   int // furthest position the cursor has reached
	bps    Breakpoints
	done   bool  // the source is exhausted
	srcErr error // last source error
	fatal  error // error that ends the program (broken replay file)

	running   bool
	fetching  bool
	interrupt bool
	mo        motion
	gen       int

	focus    int
	lower    int // paneLogits or paneProfile: which one shares the right column at 80 columns
	panes    [numPanes]pane
	help     help.Model
	showHelp bool
	input    inputMode
	buf      string
	lastFind string
	bpList   bool
	bpSel    int
	message  string
	note     string // a lasting remark about the source
	topK     int

	preparing bool
	progCh    chan progressMsg
	progFin   chan struct{}
	prepDone  int64
	prepTotal int64
}

// New returns the debugger model over src.
func New(src Source, opts Options) (*Model, error) {
	m := &Model{src: src, info: src.Info(), opts: opts, cursor: -1, seen: -1, topK: opts.TopK, lower: paneLogits}
	m.f = &fetcher{src: src}
	for _, s := range opts.Breakpoints {
		b, err := ParseBreakpoint(s)
		if err != nil {
			return nil, err
		}
		m.bps.Toggle(b)
	}
	ra, _ := src.(RandomAccess)
	m.h = newHistory(ra)
	// 80×24 until the terminal reports its size (it may never, on a
	// non-terminal output).
	m.c = &common{width: 80, height: 24, styles: DefaultStyles(), keys: DefaultKeyMap(), m: m}
	m.panes = [numPanes]pane{
		newTimelinePane(m.c), newTensorPane(m.c), newLogitsPane(m.c), newProfilePane(m.c), newTextPane(m.c),
	}
	m.help = help.New()
	if _, ok := src.(Preparer); ok {
		m.preparing = true
	}
	return m, nil
}

// Err returns the error that ended the program, if any (a broken replay).
func (m *Model) Err() error { return m.fatal }

// Init prepares the source (a replay's index) or fetches the first event.
func (m *Model) Init() tea.Cmd {
	if p, ok := m.src.(Preparer); ok {
		m.progCh = make(chan progressMsg, 1)
		ch, fin := m.progCh, make(chan struct{})
		m.progFin = fin
		prep := func() tea.Msg {
			err := p.Prepare(func(done, total int64) {
				select {
				case ch <- progressMsg{done, total}:
				default: // the UI is behind; drop this update
				}
			})
			close(fin)
			return preparedMsg{err}
		}
		return tea.Batch(prep, waitProgress(ch, fin))
	}
	return m.startMotion(goalStep)
}

// waitProgress delivers the next progress report, or nothing once the
// preparation has finished.
func waitProgress(ch chan progressMsg, fin chan struct{}) tea.Cmd {
	return func() tea.Msg {
		select {
		case p := <-ch:
			return p
		case <-fin:
			return nil
		}
	}
}

func (m *Model) fetchCmd(n int) tea.Cmd {
	f, gen := m.f, m.gen
	mayStop := m.batchStop()
	return func() tea.Msg {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.gen != gen {
			return eventsMsg{gen: gen}
		}
		// Batches end after n events or 40 ms, so the screen repaints and
		// esc is seen while a long `c` runs.
		deadline := time.Now().Add(40 * time.Millisecond)
		var evs []trace.Event
		for len(evs) < n {
			ev, err := f.src.Next()
			if err != nil {
				return eventsMsg{gen, evs, err}
			}
			evs = append(evs, ev)
			if mayStop(&ev) || time.Now().After(deadline) {
				break
			}
		}
		return eventsMsg{gen, evs, nil}
	}
}

// batchStop returns a predicate, safe to call off the UI goroutine, that
// ends a batch of events at one where the current motion may stop (a
// breakpoint, an error, the next block or token), so that a live engine
// does not run ahead of where the debugger stops, nor --trace-output
// record past it. Ending a batch early is always safe: advance fetches
// again when the motion goes on.
func (m *Model) batchStop() func(*trace.Event) bool {
	mo, boe := m.mo, m.opts.BreakOnError
	bps := append(Breakpoints(nil), m.bps...)
	errSeen := m.h.firstErr >= 0
	return func(ev *trace.Event) bool {
		n := summarize(ev)
		if n.flags&(flagIssue|flagFailed) != 0 || !errSeen && n.isError() {
			return boe || mo.g == goalError || mo.g == goalStep
		}
		switch mo.g {
		case goalStep:
			return true
		case goalEnd, goalGoto, goalSearch, goalError:
			return false
		}
		if bps.match(&n) >= 0 {
			return true
		}
		entered := n.typ() == trace.TaskStateEntered && n.state() != trace.KernelLaunch
		switch mo.g {
		case goalLayer:
			return entered && (n.state() == trace.TransformerBlock || n.layer < 0)
		case goalToken:
			return entered && n.iter != mo.iter
		}
		return false
	}
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, nil
	case progressMsg:
		m.prepDone, m.prepTotal = msg.done, msg.total
		if !m.preparing {
			return m, nil
		}
		return m, waitProgress(m.progCh, m.progFin)
	case preparedMsg:
		m.preparing = false
		if msg.err != nil {
			m.fatal = msg.err
			return m, tea.Quit
		}
		return m, m.startMotion(goalStep)
	case eventsMsg:
		return m, m.onEvents(msg)
	case resumeMsg:
		if msg.gen != m.gen || !m.running {
			return m, nil
		}
		return m, m.advance()
	case restartedMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		if msg.err != nil {
			m.message = "restart: " + msg.err.Error()
			return m, nil
		}
		cmd := m.startMotion(goalStep)
		m.message = "restarted" // a step keeps the message
		return m, cmd
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && m.input == inputNone {
			return m, m.onKeys(msg)
		}
		return m, m.onKey(msg)
	}
	// Other messages go to the focused pane.
	_, cmd := m.panes[m.focus].Update(msg)
	return m, cmd
}

func (m *Model) onEvents(msg eventsMsg) tea.Cmd {
	if msg.gen != m.gen {
		return nil
	}
	m.fetching = false
	for _, ev := range msg.evs {
		m.h.append(ev)
	}
	if msg.err != nil {
		m.done = true
		if errors.Is(msg.err, trace.ErrTruncated) {
			// A crashed run's trace: everything before the cut is shown.
			m.note = "trace truncated: " + msg.err.Error()
		} else if !errors.Is(msg.err, io.EOF) {
			m.srcErr = msg.err
			if _, replay := m.src.(RandomAccess); replay {
				m.fatal = msg.err
				return tea.Quit
			}
		}
	}
	if !m.running {
		return nil
	}
	return m.advance()
}

// startMotion begins moving the cursor forward towards g.
func (m *Model) startMotion(g goal) tea.Cmd {
	if m.running {
		m.message = "running — esc to interrupt"
		return nil
	}
	m.mo = motion{g: g}
	if m.cursor >= 0 {
		m.mo.iter = m.h.nodes[m.cursor].iter
	}
	m.running, m.interrupt = true, false
	m.message = ""
	return m.advance()
}

// advance moves the cursor through recorded events, checking stops, and
// fetches more from the source at the end of the history. It yields to the
// UI after a budget of events so that esc is seen.
func (m *Model) advance() tea.Cmd {
	for budget := 20000; ; budget-- {
		if m.interrupt {
			m.halt("interrupted")
			return nil
		}
		if budget == 0 {
			gen := m.gen
			return func() tea.Msg { return resumeMsg{gen} }
		}
		if m.cursor+1 < m.h.Len() {
			m.setCursor(m.cursor + 1)
			if why := m.stopReason(); why != "" {
				m.halt(why)
				return nil
			}
			continue
		}
		if m.done {
			why := "end of run"
			switch {
			case m.srcErr != nil:
				why = "source error: " + m.srcErr.Error()
			case m.mo.g == goalSearch:
				why = fmt.Sprintf("/%s: not found", m.lastFind)
			case m.note != "":
				why = "end of run; " + m.note
			case m.mo.g == goalGoto:
				why = fmt.Sprintf("goto: the run has %d events", m.h.Len())
			}
			m.halt(why)
			return nil
		}
		if m.fetching {
			return nil
		}
		m.fetching = true
		n := 512
		switch m.mo.g {
		case goalStep:
			n = 1
		case goalGoto:
			n = max(1, min(n, m.mo.target+1-m.h.Len()))
		}
		return m.fetchCmd(n)
	}
}

func (m *Model) halt(why string) {
	m.running, m.interrupt = false, false
	if why != "step" {
		m.message = why
	}
}

func (m *Model) setCursor(i int) {
	m.cursor = i
	if i > m.seen {
		m.seen = i
	}
}

// stopReason says why the motion stops at the cursor, or "" to go on.
func (m *Model) stopReason() string {
	n := &m.h.nodes[m.cursor]
	switch m.mo.g {
	case goalStep:
		return "step"
	case goalEnd:
		return ""
	case goalGoto:
		if m.cursor == m.mo.target {
			return fmt.Sprintf("at event %d", n.id)
		}
		return ""
	case goalSearch:
		if m.searchMatch(m.cursor, n, m.mo.query, m.mo.layer) {
			return fmt.Sprintf("/%s: event %d", m.lastFind, n.id)
		}
		return ""
	}
	if m.stopsAsError(m.cursor) && (m.opts.BreakOnError || m.mo.g == goalError) {
		m.selectNonFinite()
		return "stopped at error: " + m.errorWhat(m.cursor)
	}
	if m.mo.g == goalError {
		return ""
	}
	if k := m.bps.match(n); k >= 0 {
		return fmt.Sprintf("breakpoint %d: %s", k+1, m.bps[k])
	}
	entered := n.typ() == trace.TaskStateEntered && n.state() != trace.KernelLaunch
	switch m.mo.g {
	case goalLayer:
		if entered && (n.state() == trace.TransformerBlock || n.layer < 0) {
			return "step"
		}
	case goalToken:
		if entered && n.iter != m.mo.iter {
			return "step"
		}
	}
	return ""
}

// stopsAsError reports whether the event at i is an error that stops c, n,
// t (with BreakOnError) and e: a Jidoka error issue, a failed execution, or
// the first non-finite tensor of the run. Later NaN/Inf tensors are the
// first one propagating (with --on-error continue) and do not stop again;
// `break if nan` catches those.
func (m *Model) stopsAsError(i int) bool {
	n := &m.h.nodes[i]
	return n.flags&(flagIssue|flagFailed) != 0 || n.isError() && i == m.h.firstErr
}

// selectNonFinite selects, in the tensor pane, the first tensor of the
// event at the cursor that holds a NaN or Inf, so its statistics show.
func (m *Model) selectNonFinite() {
	ev, err := m.h.At(m.cursor)
	if err != nil || ev.Payload == nil {
		return
	}
	tp := m.panes[paneTensors].(*tensorPane)
	ts, _ := m.eventTensors(m.cursor, &ev)
	for k, t := range ts {
		if !t.s.Finite() {
			tp.sel = k
			return
		}
	}
}

// errorWhat names the error at position i in a few words.
func (m *Model) errorWhat(i int) string {
	ev, err := m.h.At(i)
	if err != nil {
		return err.Error()
	}
	if ev.Type == trace.ExecutionFailed {
		return ev.Error
	}
	if p := ev.Payload; p != nil {
		for _, is := range p.Issues {
			if is.Severity == trace.SevError {
				if is.Op != "" {
					return is.Code + " in " + is.Op
				}
				return is.Code
			}
		}
		for _, t := range orderedTensors(p) {
			if !t.s.Finite() {
				return fmt.Sprintf("NaN/Inf in %s", t.name)
			}
		}
	}
	return string(ev.State)
}

// onKeys handles keys that reached the program in one read ("sq" from a
// fast typist, key repeat or a loaded machine): bubbletea delivers them as
// one message of several runes, which no binding matches. Each is handled
// in turn; once one opens the line editor (: or /) the rest is its text.
func (m *Model) onKeys(msg tea.KeyMsg) tea.Cmd {
	var cmds []tea.Cmd
	for i, r := range msg.Runes {
		cmds = append(cmds, m.onKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
		if m.input != inputNone {
			m.buf += string(msg.Runes[i+1:])
			break
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) onKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.keys
	if key.Matches(msg, k.Quit) && (msg.String() == "ctrl+c" || m.input == inputNone && !m.bpList) {
		return tea.Quit
	}
	if m.preparing {
		return nil // nothing to step through until the index is built
	}
	if m.input != inputNone {
		return m.onInputKey(msg)
	}
	if m.bpList {
		m.onBreakListKey(msg)
		return nil
	}
	switch {
	case key.Matches(msg, k.Interrupt):
		if m.running {
			m.interrupt = true
			m.message = "interrupting…"
		}
		return nil
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
		return nil
	case key.Matches(msg, k.Step):
		return m.startMotion(goalStep)
	case key.Matches(msg, k.NextLayer):
		return m.startMotion(goalLayer)
	case key.Matches(msg, k.NextToken):
		return m.startMotion(goalToken)
	case key.Matches(msg, k.Continue):
		return m.startMotion(goalContinue)
	case key.Matches(msg, k.ToError):
		return m.startMotion(goalError)
	case key.Matches(msg, k.Break):
		m.toggleBreakHere()
		return nil
	case key.Matches(msg, k.Breakpoints):
		m.bpList, m.bpSel = true, 0
		return nil
	case key.Matches(msg, k.Back):
		m.moveTo(m.cursor - 1)
		return nil
	case key.Matches(msg, k.Forward):
		m.moveTo(m.cursor + 1)
		return nil
	case key.Matches(msg, k.First):
		m.moveTo(0)
		return nil
	case key.Matches(msg, k.Last):
		if !m.info.Restarter && !m.done {
			// A replay's last event is on disk: read up to it.
			return m.startMotion(goalEnd)
		}
		m.moveTo(m.h.Len() - 1)
		return nil
	case key.Matches(msg, k.Search):
		m.input, m.buf = inputSearch, ""
		return nil
	case key.Matches(msg, k.Command):
		m.input, m.buf = inputCommand, ""
		return nil
	case key.Matches(msg, k.FocusNext):
		m.setFocus((m.focus + 1) % numPanes)
		return nil
	case key.Matches(msg, k.Focus):
		m.setFocus(int(msg.String()[0] - '1'))
		return nil
	case key.Matches(msg, k.Restart):
		return m.restart()
	}
	_, cmd := m.panes[m.focus].Update(msg)
	return cmd
}

func (m *Model) setFocus(i int) {
	m.focus = i
	if i == paneLogits || i == paneProfile {
		m.lower = i
	}
}

// moveTo moves the cursor within the recorded history; it never runs the
// model.
func (m *Model) moveTo(i int) {
	if m.running || m.h.Len() == 0 {
		return
	}
	i = max(0, min(i, m.h.Len()-1))
	m.setCursor(i)
	m.message = ""
}

func (m *Model) restart() tea.Cmd {
	r, ok := m.src.(Restarter)
	if !ok {
		m.message = "restart: " + ErrRestartUnsupported.Error()
		return nil
	}
	m.gen++
	ra, _ := m.src.(RandomAccess)
	m.h = newHistory(ra)
	m.cursor, m.seen = -1, -1
	m.done, m.srcErr, m.running, m.fetching, m.interrupt = false, nil, false, false, false
	m.message = "restarting…"
	f, gen := m.f, m.gen
	return func() tea.Msg {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.gen = gen
		return restartedMsg{gen, r.Restart()}
	}
}

func (m *Model) toggleBreakHere() {
	if m.cursor < 0 {
		return
	}
	n := m.h.nodes[m.cursor]
	if n.state() == "" {
		m.message = "no state at this event"
		return
	}
	b := Breakpoint{State: n.state(), Layer: int(n.layer), Iteration: -1}
	if b.Layer < 0 {
		b.Layer = -1
	}
	if m.bps.Toggle(b) {
		m.message = "breakpoint set: " + b.String()
	} else {
		m.message = "breakpoint cleared: " + b.String()
	}
}

func (m *Model) onBreakListKey(msg tea.KeyMsg) {
	switch msg.String() {
	case "esc", "B", "q", "enter":
		m.bpList = false
	case "up", "k":
		m.bpSel = max(0, m.bpSel-1)
	case "down", "j":
		m.bpSel = min(len(m.bps)-1, m.bpSel+1)
	case "d", "x", "delete", "backspace":
		if m.bpSel >= 0 && m.bpSel < len(m.bps) {
			m.message = "breakpoint deleted: " + m.bps[m.bpSel].String()
			m.bps = append(m.bps[:m.bpSel:m.bpSel], m.bps[m.bpSel+1:]...)
			m.bpSel = max(0, min(m.bpSel, len(m.bps)-1))
		}
	}
}

func (m *Model) onInputKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc, tea.KeyCtrlC:
		m.input = inputNone
		return nil
	case tea.KeyEnter:
		mode, line := m.input, strings.TrimSpace(m.buf)
		m.input, m.buf = inputNone, ""
		if mode == inputSearch {
			return m.search(line)
		}
		return m.command(line)
	case tea.KeyBackspace:
		if r := []rune(m.buf); len(r) > 0 {
			m.buf = string(r[:len(r)-1])
		}
	case tea.KeyCtrlU:
		m.buf = ""
	case tea.KeySpace:
		m.buf += " "
	case tea.KeyRunes:
		m.buf += string(msg.Runes)
	}
	return nil
}

// command executes a `:` command line.
func (m *Model) command(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "break", "b":
		b, err := ParseBreakpoint(line)
		if err != nil {
			m.message = err.Error()
			return nil
		}
		for _, x := range m.bps {
			if x == b {
				m.message = "breakpoint already set: " + b.String()
				return nil
			}
		}
		m.bps = append(m.bps, b)
		m.message = fmt.Sprintf("breakpoint %d: %s", len(m.bps), b)
	case "delete", "d":
		if len(f) != 2 {
			m.message = "delete: want a breakpoint number (see B)"
			return nil
		}
		k, err := strconv.Atoi(f[1])
		if err != nil || k < 1 || k > len(m.bps) {
			m.message = fmt.Sprintf("delete: no breakpoint %q", f[1])
			return nil
		}
		m.message = "breakpoint deleted: " + m.bps[k-1].String()
		m.bps = append(m.bps[:k-1:k-1], m.bps[k:]...)
	case "clear":
		m.bps, m.message = nil, "breakpoints cleared"
	case "goto", "g":
		if len(f) != 2 {
			m.message = "goto: want an event id"
			return nil
		}
		id, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || id < 1 {
			m.message = fmt.Sprintf("goto: bad event id %q", f[1])
			return nil
		}
		// Event ids start at 1 and have no gaps.
		pos := int(id - 1)
		if pos < m.h.Len() {
			m.moveTo(pos)
			return nil
		}
		if m.done {
			m.message = fmt.Sprintf("goto: the run has %d events", m.h.Len())
			return nil
		}
		cmd := m.startMotion(goalGoto)
		m.mo.target = pos
		return cmd
	case "set":
		if len(f) == 3 && f[1] == "top-k" {
			k, err := strconv.Atoi(f[2])
			if err != nil || k < 1 {
				m.message = fmt.Sprintf("set top-k: bad value %q", f[2])
				return nil
			}
			m.topK = k
			m.message = fmt.Sprintf("top-k %d", k)
			return nil
		}
		m.message = "set: want `set top-k K`"
	case "q", "quit":
		return tea.Quit
	default:
		m.message = fmt.Sprintf("unknown command %q (break, delete, clear, goto, set top-k, quit)", f[0])
	}
	return nil
}

// search moves to the next event whose state, layer (`layer=N`, `blk.N`)
// or tensor names match q: in the recorded events after the cursor, then
// (live) by running on, then from the first recorded event.
func (m *Model) search(q string) tea.Cmd {
	if q == "" {
		q = m.lastFind
	}
	if q == "" || m.h.Len() == 0 || m.running {
		return nil
	}
	m.lastFind = q
	lq := strings.ToLower(q)
	layer := -1
	for _, p := range []string{"layer=", "layer ", "blk."} {
		if v, ok := strings.CutPrefix(lq, p); ok {
			if n, err := strconv.Atoi(strings.TrimSuffix(v, ".")); err == nil {
				layer = n
			}
		}
	}
	n := m.h.Len()
	for k := 1; k <= n; k++ {
		i := (m.cursor + k) % n
		if i == 0 && !m.done {
			// Nothing recorded after the cursor: run on to find it.
			cmd := m.startMotion(goalSearch)
			m.mo.query, m.mo.layer = lq, layer
			return cmd
		}
		if m.searchMatch(i, &m.h.nodes[i], lq, layer) {
			m.moveTo(i)
			m.message = fmt.Sprintf("/%s: event %d", q, m.h.nodes[i].id)
			return nil
		}
	}
	m.message = fmt.Sprintf("/%s: not found", q)
	return nil
}

func (m *Model) searchMatch(i int, nd *node, lq string, layer int) bool {
	if layer >= 0 && !strings.Contains(lq, "_") {
		return int(nd.layer) == layer && nd.typ() == trace.TaskStateEntered && nd.state() == trace.TransformerBlock
	}
	if strings.Contains(strings.ToLower(string(nd.state())), lq) {
		// A state matches at its Entered event.
		return nd.typ() == trace.TaskStateEntered
	}
	if strings.Contains(strings.ToLower(string(nd.typ())), lq) {
		return true
	}
	if nd.typ() != trace.TaskStateExited {
		return false
	}
	// From the node when it can tell: reading every event of a large
	// replay from disk would freeze the UI.
	if match, ok := nd.tensorNamesMatch(lq); ok {
		return match
	}
	ev, err := m.h.At(i)
	if err != nil || ev.Payload == nil {
		return false
	}
	for _, t := range orderedTensors(ev.Payload) {
		if strings.Contains(strings.ToLower(t.name), lq) {
			return true
		}
	}
	return false
}
