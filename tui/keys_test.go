package tui

import (
	"fmt"
	"math"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/infertrace/infertrace/trace"
)

// TestMotionKeys checks each motion key's effect on the cursor, as a pure
// function of (model, key), against the synthetic run's known layout.
func TestMotionKeys(t *testing.T) {
	tests := []struct {
		name  string
		run   fakeRun
		opts  Options
		keys  []string
		want  string // where(event at cursor)
		msg   string // substring of the status message
		error bool   // ERROR flag expected
	}{
		{"first event", defaultRun(), DefaultOptions(), nil, "ExecutionStarted", "", false},
		{"step", defaultRun(), DefaultOptions(), []string{"s"}, "TaskStateEntered TOKENIZE i0 l-1", "", false},
		{"three steps", defaultRun(), DefaultOptions(), []string{"s", "s", "s"}, "TaskStateEntered EMBED i0 l-1", "", false},
		{"back", defaultRun(), DefaultOptions(), []string{"s", "s", "s", "left"}, "TaskStateExited TOKENIZE i0 l-1", "", false},
		{"back then forward", defaultRun(), DefaultOptions(), []string{"s", "s", "[", "]"}, "TaskStateExited TOKENIZE i0 l-1", "", false},
		{"back stops at 0", defaultRun(), DefaultOptions(), []string{"left", "left"}, "ExecutionStarted", "", false},
		// From inside block 0, n steps over it to block 1.
		{"next layer", defaultRun(), DefaultOptions(), []string{"s", "s", "s", "s", "s", "s", "n"}, "TaskStateEntered TRANSFORMER_BLOCK i0 l1", "", false},
		{"next layer from EMBED", defaultRun(), DefaultOptions(), []string{"s", "s", "s", "n"}, "TaskStateEntered TRANSFORMER_BLOCK i0 l0", "", false},
		{"next layer after the last block", defaultRun(), DefaultOptions(), []string{"s", "s", "s", "n", "n", "n", "n", "n", "n"}, "TaskStateEntered LAYER_NORM i0 l-1", "", false},
		{"next token", defaultRun(), DefaultOptions(), []string{"s", "s", "s", "t"}, "TaskStateEntered EMBED i1 l-1", "", false},
		{"next token twice", defaultRun(), DefaultOptions(), []string{"s", "s", "s", "t", "t"}, "TaskStateEntered EMBED i2 l-1", "", false},
		{"continue to end", defaultRun(), DefaultOptions(), []string{"c"}, "ExecutionSucceeded", "end of run", false},
		{"continue to NaN", nanRun(), DefaultOptions(), []string{"s", "s", "s", "c"}, "TaskStateExited FFN i1 l3", "NumericalError.NaN in blk.3.ffn_out", true},
		{"next token stops at NaN", nanRun(), DefaultOptions(), []string{"s", "s", "s", "t", "t"}, "TaskStateExited FFN i1 l3", "stopped at error", true},
		{"run to error", nanRun(), Options{}, []string{"e"}, "TaskStateExited FFN i1 l3", "stopped at error", true},
		{"run to the failure", nanRun(), Options{}, []string{"e", "e"}, "ExecutionFailed", "stopped at error: NumericalError.NaN", true},
		{"break on state", defaultRun(), DefaultOptions(), append([]string{":"}, "break FFN layer=2"), "TaskStateEntered FFN i0 l2", "breakpoint 1", false},
		{"break on iteration", defaultRun(), DefaultOptions(), append([]string{":"}, "break SAMPLE iteration=2"), "TaskStateEntered SAMPLE i2 l-1", "breakpoint 1", false},
		{"break if prob", defaultRun(), Options{Breakpoints: []string{"if prob<0.8"}}, []string{"c"}, "TaskStateExited SAMPLE i0 l-1", "breakpoint 1: if prob<0.8", false},
		{"break if std", defaultRun(), Options{Breakpoints: []string{"if std>1.5"}}, []string{"c"}, "", "breakpoint 1: if std>1.5", false},
		{"break if nan (stop)", nanRun(), Options{Breakpoints: []string{"if nan"}}, []string{"c"}, "TaskStateExited FFN i1 l3", "breakpoint 1: if nan", true},
		{"break if nan (continue)", nanContinueRun(), Options{Breakpoints: []string{"if nan"}}, []string{"c"}, "TaskStateExited FFN i1 l3", "breakpoint 1: if nan", true},
		{"break if inf never", nanContinueRun(), Options{Breakpoints: []string{"if inf"}}, []string{"c"}, "ExecutionSucceeded", "end of run", true},
		{"continue stops at the producer", nanContinueRun(), DefaultOptions(), []string{"c"}, "TaskStateExited FFN i1 l3", "NumericalError.NaN in blk.3.ffn_out", true},
		{"continue past the error", nanContinueRun(), DefaultOptions(), []string{"c", "c"}, "ExecutionSucceeded", "end of run", true},
		{"break if nan catches propagation", nanContinueRun(), Options{Breakpoints: []string{"if nan"}}, []string{"c", "c"}, "TaskStateExited TRANSFORMER_BLOCK i1 l3", "breakpoint 1: if nan", true},
		{"goto", defaultRun(), DefaultOptions(), []string{":", "goto 10"}, "", "", false},
		{"goto beyond recorded", defaultRun(), DefaultOptions(), []string{":", "goto 150"}, "", "at event 150", false},
		{"goto beyond the end", defaultRun(), DefaultOptions(), []string{"c", ":", "goto 999"}, "ExecutionSucceeded", "the run has", false},
		{"last (live: recorded)", defaultRun(), DefaultOptions(), []string{"s", "s", "G"}, "TaskStateExited TOKENIZE i0 l-1", "", false},
		{"first", defaultRun(), DefaultOptions(), []string{"s", "s", "g"}, "ExecutionStarted", "", false},
		{"search tensor", defaultRun(), DefaultOptions(), []string{"/", "attn_residual"}, "TaskStateExited ATTENTION i0 l0", "/attn_residual", false},
		{"search layer", defaultRun(), DefaultOptions(), []string{"c", "g", "/", "blk.4"}, "TaskStateEntered TRANSFORMER_BLOCK i0 l4", "", false},
		{"search state", defaultRun(), DefaultOptions(), []string{"c", "g", "/", "lm_head"}, "TaskStateEntered LM_HEAD i0 l-1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newModel(t, tc.run, tc.opts)
			for i := 0; i < len(tc.keys); i++ {
				k := tc.keys[i]
				if k == ":" || k == "/" {
					drive(t, m, keys(k)...)
					i++
					drive(t, m, typed(tc.keys[i])...)
					if k == ":" && strings.HasPrefix(tc.keys[i], "break") {
						drive(t, m, keys("c")...)
					}
					continue
				}
				drive(t, m, keys(k)...)
			}
			ev := m.cur(t)
			if tc.want != "" && where(ev) != tc.want {
				t.Errorf("cursor at %q (event %d), want %q", where(ev), ev.ID, tc.want)
			}
			if !strings.Contains(m.message, tc.msg) {
				t.Errorf("message %q, want it to contain %q", m.message, tc.msg)
			}
			if m.errorSeen() != tc.error {
				t.Errorf("error flag %v, want %v", m.errorSeen(), tc.error)
			}
			if m.running {
				t.Error("model still running after the keys")
			}
		})
	}
}

func TestGotoAndStdBreak(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, keys(":")...)
	drive(t, m, typed("goto 10")...)
	if ev := m.cur(t); ev.ID != 10 {
		t.Errorf("goto 10: at event %d", ev.ID)
	}
	drive(t, m, keys(":")...)
	drive(t, m, typed("goto 150")...)
	if ev := m.cur(t); ev.ID != 150 {
		t.Errorf("goto 150: at event %d", ev.ID)
	}
	// std>1.5: the first event with a tensor whose std exceeds 1.5.
	m2, _ := newModel(t, defaultRun(), Options{Breakpoints: []string{"if std>1.5"}})
	drive(t, m2, keys("c")...)
	ev := m2.cur(t)
	hit := false
	for _, s := range ev.Payload.Tensors {
		hit = hit || s.Std > 1.5
	}
	if !hit {
		t.Errorf("stopped at event %d with no tensor std > 1.5", ev.ID)
	}
	for i := 0; i < m2.cursor; i++ {
		e, _ := m2.h.At(i)
		if e.Payload != nil {
			for n, s := range e.Payload.Tensors {
				if s.Std > 1.5 {
					t.Fatalf("missed event %d (%s std %.3f)", e.ID, n, s.Std)
				}
			}
		}
	}
}

// TestConditionFiresOncePerTensor: an Entered event carries its input,
// the output of the state before, which a condition breakpoint already
// stopped at; `c` must go on to the next tensor, not stop again on it.
func TestConditionFiresOncePerTensor(t *testing.T) {
	m, _ := newModel(t, defaultRun(), Options{Breakpoints: []string{"if std>1.5"}})
	stops := 0
	for !m.done || m.cursor+1 < m.h.Len() {
		drive(t, m, keys("c")...)
		ev := m.cur(t)
		if ev.Type == trace.ExecutionSucceeded {
			break
		}
		stops++
		if ev.Type == trace.TaskStateEntered {
			t.Fatalf("stop %d at %s (event %d): the input was the previous stop's output", stops, where(ev), ev.ID)
		}
	}
	if stops < 2 {
		t.Errorf("only %d stops; the test needs several", stops)
	}
}

func TestBreakpointKeys(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, keys("s", "s", "s", "n", "s", "s", "s")...) // blk.0 ATTENTION entered
	if where(m.cur(t)) != "TaskStateEntered ATTENTION i0 l0" {
		t.Fatalf("setup: at %s", where(m.cur(t)))
	}
	drive(t, m, keys("b")...)
	if len(m.bps) != 1 || m.bps[0].String() != "ATTENTION layer=0" {
		t.Fatalf("b set %v", m.bps)
	}
	drive(t, m, keys("b")...)
	if len(m.bps) != 0 {
		t.Fatalf("second b left %v", m.bps)
	}
	drive(t, m, keys("g", "s", "s", "s", "n", "n", "s", "s", "s", "b")...) // ATTENTION layer 1
	drive(t, m, keys("g", "c")...)
	if got := where(m.cur(t)); got != "TaskStateEntered ATTENTION i0 l1" {
		t.Errorf("c stopped at %s, want ATTENTION layer 1", got)
	}
	// The breakpoint matches every iteration.
	drive(t, m, keys("c")...)
	if got := where(m.cur(t)); got != "TaskStateEntered ATTENTION i1 l1" {
		t.Errorf("second c stopped at %s", got)
	}
	// B lists, d deletes, esc closes.
	drive(t, m, keys(":")...)
	drive(t, m, typed("break if inf")...)
	drive(t, m, keys("B")...)
	if !m.bpList {
		t.Fatal("B did not open the list")
	}
	drive(t, m, keys("d")...)
	if len(m.bps) != 1 || m.bps[0].Cond != CondInf {
		t.Errorf("d deleted the wrong breakpoint: %v", m.bps)
	}
	drive(t, m, keys("esc")...)
	if m.bpList {
		t.Error("esc did not close the list")
	}
	drive(t, m, keys(":")...)
	drive(t, m, typed("delete 1")...)
	if len(m.bps) != 0 {
		t.Errorf("delete 1 left %v", m.bps)
	}
}

func TestInterruptAndRestart(t *testing.T) {
	m, src := newModel(t, defaultRun(), DefaultOptions())
	// Start `c` but deliver esc before the batch of events arrives.
	_, cmd := m.Update(keys("c")[0])
	if !m.running {
		t.Fatal("c did not start running")
	}
	m.Update(keys("esc")[0])
	drive(t, m, runCmd(cmd)...)
	if m.running {
		t.Fatal("esc did not interrupt c")
	}
	if m.message != "interrupted" {
		t.Errorf("message %q", m.message)
	}
	if where(m.cur(t)) == "ExecutionSucceeded" {
		t.Error("c ran to the end despite esc")
	}
	drive(t, m, keys("r")...)
	if src.starts != 1 {
		t.Errorf("restart called %d times", src.starts)
	}
	if m.cursor != 0 || m.h.Len() != 1 || where(m.cur(t)) != "ExecutionStarted" {
		t.Errorf("after r: cursor %d of %d at %s", m.cursor, m.h.Len(), where(m.cur(t)))
	}
	// Keys while running are refused, not queued.
	_, cmd = m.Update(keys("c")[0])
	m.Update(keys("s")[0])
	if m.message != "running — esc to interrupt" {
		t.Errorf("s while running: message %q", m.message)
	}
	drive(t, m, runCmd(cmd)...)
	if where(m.cur(t)) != "ExecutionSucceeded" {
		t.Errorf("c after restart ended at %s", where(m.cur(t)))
	}
}

func TestPanesAndCommands(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	for i, k := range []string{"1", "2", "3", "4", "5"} {
		drive(t, m, keys(k)...)
		if m.focus != i {
			t.Errorf("key %s: focus %d", k, m.focus)
		}
	}
	drive(t, m, keys("tab")...)
	if m.focus != paneTimeline {
		t.Errorf("tab from 5: focus %d", m.focus)
	}
	drive(t, m, keys("?")...)
	if !m.showHelp {
		t.Error("? did not open help")
	}
	drive(t, m, keys(":")...)
	drive(t, m, typed("set top-k 2")...)
	if m.topK != 2 {
		t.Errorf("top-k %d", m.topK)
	}
	for _, bad := range []string{"set top-k x", "frobnicate", "break NOPE", "goto x", "delete 9"} {
		drive(t, m, keys(":")...)
		drive(t, m, typed(bad)...)
		if m.message == "" || m.message == "top-k 2" {
			t.Errorf(":%s gave no error message", bad)
		}
	}
	// esc cancels input; q inside input is text, not quit.
	drive(t, m, keys(":", "q", "esc")...)
	if m.input != inputNone {
		t.Error("esc did not cancel the command line")
	}
	if !drive(t, m, keys("q")...) {
		t.Error("q did not quit")
	}
	if !drive(t, m, keys("ctrl+c")...) {
		t.Error("ctrl+c did not quit")
	}
}

func TestTimelineFollowsAndFolds(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, keys("t", "n", "n", "s", "s")...) // iteration 1, block 1, LAYER_NORM in
	tl := m.panes[paneTimeline].(*timelinePane)
	tl.SetSize(30, 40)
	view := tl.View()
	for _, want := range []string{"▾ iter 1", "▸ iter 0", "▸ blk.0", "▾ blk.1", "▶     LAYER_NORM"} {
		if !strings.Contains(view, want) {
			t.Errorf("timeline lacks %q:\n%s", want, view)
		}
	}
	// up/down move through visible rows; enter folds the current block.
	drive(t, m, keys("1", " ")...)
	if v := tl.View(); !strings.Contains(v, "▸ blk.1") {
		t.Errorf("enter did not fold blk.1:\n%s", v)
	}
	drive(t, m, keys("k")...)
	if got := where(m.cur(t)); got != "TaskStateEntered TRANSFORMER_BLOCK i1 l0" {
		t.Errorf("k moved to %s", got)
	}
	drive(t, m, keys("j")...)
	// blk.0 now holds the cursor, so it unfolds: j enters it.
	if got := where(m.cur(t)); got != "TaskStateEntered LAYER_NORM i1 l0" {
		t.Errorf("j moved to %s", got)
	}
	// blk.1 stays folded as the user left it, and stands for the cursor.
	drive(t, m, keys("n")...)
	if v := tl.View(); !strings.Contains(v, "▶   ▸ blk.1") {
		t.Errorf("folded blk.1 does not show the cursor:\n%s", v)
	}
	if m.cur(t).State != trace.TransformerBlock {
		t.Error("not on a block")
	}
}

func TestViewSizes(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}, {40, 10}, {200, 60}, {10, 3}} {
		m, _ := newModel(t, nanRun(), DefaultOptions())
		drive(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		drive(t, m, keys("s", "s", "s", "c", "?")...)
		v := m.View()
		lines := strings.Split(v, "\n")
		if len(lines) != sz[1] {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for i, l := range lines {
			if w := ansiWidth(l); w != sz[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", sz[0], sz[1], i, w, l)
				break
			}
		}
	}
}

// TestNaNScreen checks what a stop at the producing transition shows: the
// ERROR flag, the alert naming the producer, the tensor row with its NaN
// count and the error marks in the timeline.
func TestNaNScreen(t *testing.T) {
	m, _ := newModel(t, nanContinueRun(), DefaultOptions())
	drive(t, m, keys("c")...)
	v := ansi.Strip(m.View())
	for _, want := range []string{"ERROR", "✗ NumericalError.NaN: NaN produced by blk.3.ffn_out", "hint:", "✗   ▾ blk.3", "▶     FFN"} {
		if !strings.Contains(v, want) {
			t.Errorf("screen lacks %q:\n%s", want, v)
		}
	}
	var row string
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "│ffn_out ") {
			row = l
		}
	}
	if !strings.Contains(row, " 1/0 ") {
		t.Errorf("tensor row does not count the NaN: %q", row)
	}
	// The failing tensor is selected: its statistics fill the detail line.
	if !strings.Contains(v, "› ffn_out min 1 max 2 ") {
		t.Errorf("the NaN tensor is not selected:\n%s", v)
	}
}

// TestPaneKeys checks the panes' own keys: histograms, scrolling, the
// profile's running total, and which pane shares the right column at 80
// columns.
func TestPaneKeys(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 16})
	drive(t, m, keys("s", "s", "s", "s")...) // EMBED exit, with values
	view := func() string { return ansi.Strip(m.View()) }
	if v := view(); !strings.Contains(v, "v: histograms") || strings.Contains(v, "│  hist") {
		t.Fatalf("EMBED out before v:\n%s", v)
	}
	drive(t, m, keys("2", "v")...)
	if v := view(); !strings.Contains(v, "│  hist") || !strings.Contains(v, "values  -1 -0.5 0 0.25 0.5 0.5 1 2") {
		t.Errorf("v shows no histogram and values:\n%s", v)
	}
	drive(t, m, keys("v", "n", "s", "s", "s", "s")...) // ATTENTION exit: 6 tensors
	// Rows leave out the layer prefix the title names.
	if v := view(); !strings.Contains(v, "│q_rope ") || strings.Contains(v, "│attn_residual ") || !strings.Contains(v, "blk.0 ATTENTION") {
		t.Fatalf("ATTENTION out at 16 rows should show the first tensors only:\n%s", v)
	}
	drive(t, m, keys("j", "j", "j", "j", "j", "j")...)
	if v := view(); strings.Contains(v, "│q_rope ") || !strings.Contains(v, "│attn_residual ") {
		t.Errorf("j did not scroll the tensors:\n%s", v)
	}
	drive(t, m, keys("k", "k", "k", "k", "k", "k")...)
	if v := view(); !strings.Contains(v, "│q_rope ") {
		t.Errorf("k did not scroll back:\n%s", v)
	}
	// At 80 columns logits and profile share a slot: 4 brings the profile.
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	drive(t, m, keys("t", "4")...)
	v := view()
	if !strings.Contains(v, "4 Profile · iter 0") || strings.Contains(v, "3 Logits") {
		t.Fatalf("4 does not show the profile:\n%s", v)
	}
	if !strings.Contains(v, "wall 2.00 ms") {
		t.Errorf("profile header:\n%s", v)
	}
	drive(t, m, keys("t", "a")...)
	if v := view(); !strings.Contains(v, "total to iter 1") || !strings.Contains(v, "wall 4.00 ms") {
		t.Errorf("a does not show the running total:\n%s", v)
	}
	drive(t, m, keys("3")...)
	if v := view(); !strings.Contains(v, "3 Logits") {
		t.Errorf("3 does not bring the logits back:\n%s", v)
	}
}

// TestTensorDetail: at 80 columns the tensor rows leave out min, max and
// l2; the selected tensor's line spells them out, and j/k move the
// selection.
func TestTensorDetail(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, keys("s", "s", "s", "n", "s", "s", "s", "s")...) // blk.0 ATTENTION exit
	ev := m.cur(t)
	if where(ev) != "TaskStateExited ATTENTION i0 l0" {
		t.Fatalf("setup: at %s", where(ev))
	}
	detail := func() string {
		for _, l := range strings.Split(ansi.Strip(m.View()), "\n") {
			if i := strings.Index(l, "›"); i >= 0 {
				return l[i:]
			}
		}
		return ""
	}
	for k, name := range []string{"q_rope", "k_rope", "v"} {
		if k > 0 {
			drive(t, m, keys("2", "j")...)
		}
		s := ev.Payload.Tensors[name]
		want := fmt.Sprintf("› %s min %s max %s l2 %s ", name, num(s.Min), num(s.Max), num(s.L2))
		if got := detail(); !strings.HasPrefix(got, want) {
			t.Errorf("selected %s: detail %q, want prefix %q", name, got, want)
		}
	}
	drive(t, m, keys("k", "k", "k", "k")...)
	if got := detail(); !strings.HasPrefix(got, "› q_rope ") {
		t.Errorf("k back to the first tensor: %q", got)
	}
	// At 200 columns every statistic has a column: no detail line.
	drive(t, m, tea.WindowSizeMsg{Width: 200, Height: 50})
	if got := detail(); got != "" {
		t.Errorf("detail at 200 columns: %q", got)
	}
}

// TestTimelineScrollsToFollow: on a run longer than the pane, the
// timeline keeps the cursor's row on screen wherever the cursor goes.
func TestTimelineScrollsToFollow(t *testing.T) {
	r := defaultRun()
	r.gen = make([]string, 30)
	for i := range r.gen {
		r.gen[i] = "▁x"
	}
	m, _ := newModel(t, r, DefaultOptions())
	tl := m.panes[paneTimeline].(*timelinePane)
	for _, k := range []string{"c", "g", "G", "t", "left", "n", "n"} {
		drive(t, m, keys(k)...)
		_ = m.View() // lays the panes out
		if v := ansi.Strip(tl.View()); !strings.Contains(v, "▶") {
			t.Fatalf("after %s (at %s) the timeline does not show the cursor:\n%s", k, where(m.cur(t)), v)
		}
		if len(tl.visible()) <= tl.h-1 {
			t.Fatalf("after %s only %d rows: the test needs more than the pane's %d", k, len(tl.visible()), tl.h-1)
		}
	}
}

// TestTokensPerSecond: the status bar's speed comes from the brick
// profiles' engine time (time waiting for the debugger excluded), else
// from the event times.
func TestTokensPerSecond(t *testing.T) {
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, keys("t", "t")...) // iteration 2 begins: 2 tokens, profiles to iteration 1
	// The fake records 2 ms of engine time per iteration: 2 tokens in 4 ms.
	if got := m.tokensPerSecond(); math.Abs(got-500) > 1e-9 {
		t.Errorf("with profiles: %.3f tok/s, want 500", got)
	}
	if v := ansi.Strip(m.statusView()); !strings.Contains(v, "500.0 t") {
		t.Errorf("status bar: %q", v)
	}
	r := defaultRun()
	r.profile = false
	m, _ = newModel(t, r, DefaultOptions())
	drive(t, m, keys("t", "t")...)
	if where(m.cur(t)) != "TaskStateEntered EMBED i2 l-1" {
		t.Fatalf("setup: at %s", where(m.cur(t)))
	}
	var start, last trace.Event
	for i := 0; i <= m.cursor; i++ {
		ev, _ := m.h.At(i)
		switch {
		case ev.Type == trace.ExecutionStarted:
			start = ev
		case ev.Type == trace.TaskStateExited && ev.State == trace.Decode:
			last = ev
		}
	}
	want := 2 / last.Time.Sub(start.Time).Seconds()
	if got := m.tokensPerSecond(); math.Abs(got-want) > 1e-9 {
		t.Errorf("without profiles: %.3f tok/s, want %.3f", got, want)
	}
}

// TestCoalescedKeys: keys that arrive in one read reach Update as one
// message of several runes (bubbletea's input parser); each must act.
func TestCoalescedKeys(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	m, _ := newModel(t, defaultRun(), DefaultOptions())
	drive(t, m, runes("gs"))
	if where(m.cur(t)) != "TaskStateEntered TOKENIZE i0 l-1" {
		t.Errorf("gs: at %s", where(m.cur(t)))
	}
	drive(t, m, runes("2?"))
	if m.focus != paneTensors || !m.showHelp {
		t.Errorf("2?: focus %d, help %v", m.focus, m.showHelp)
	}
	// After : the rest is the command line's text.
	drive(t, m, runes(":goto"))
	if m.input != inputCommand || m.buf != "goto" {
		t.Fatalf(":goto: input %d, buffer %q", m.input, m.buf)
	}
	drive(t, m, typed(" 9")...)
	if ev := m.cur(t); ev.ID != 9 {
		t.Errorf(":goto 9 typed in one read: at event %d", ev.ID)
	}
	if !drive(t, m, runes("sq")) {
		t.Error("sq did not quit")
	}
}

// TestEngineStopsWithTheDebugger: a live source is not pulled past the
// event a motion stops at (the engine does not run ahead, and
// --trace-output holds what was stepped through), for every motion.
func TestEngineStopsWithTheDebugger(t *testing.T) {
	for _, tc := range []struct {
		run  fakeRun
		opts Options
		keys []string
	}{
		{defaultRun(), DefaultOptions(), []string{"s", "s", "s"}},
		{defaultRun(), DefaultOptions(), []string{"s", "s", "s", "n", "n"}},
		{defaultRun(), DefaultOptions(), []string{"t", "t"}},
		{defaultRun(), Options{Breakpoints: []string{"FFN layer=1"}}, []string{"c", "c"}},
		{defaultRun(), Options{Breakpoints: []string{"if prob<0.8"}}, []string{"c"}},
		{nanContinueRun(), DefaultOptions(), []string{"c"}},
		{nanContinueRun(), Options{}, []string{"e"}},
		{defaultRun(), DefaultOptions(), []string{":", "goto 120"}},
	} {
		m, src := newModel(t, tc.run, tc.opts)
		for i := 0; i < len(tc.keys); i++ {
			if tc.keys[i] == ":" {
				drive(t, m, keys(":")...)
				i++
				drive(t, m, typed(tc.keys[i])...)
				continue
			}
			drive(t, m, keys(tc.keys[i])...)
		}
		if src.i != m.cursor+1 {
			t.Errorf("%v %v: stopped at event %d (%s), the source was pulled to %d", tc.opts.Breakpoints, tc.keys,
				m.cur(t).ID, where(m.cur(t)), src.i)
		}
	}
}
