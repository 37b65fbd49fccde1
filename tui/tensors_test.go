package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// TestTensorHistogram: without --trace-verbose values the tensor pane
// draws each tensor's histogram from the summary's hist; a trace without
// hists (older files) keeps the range bar.
func TestTensorHistogram(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noHist bool
	}{{"hist", false}, {"older trace", true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := defaultRun()
			r.noHist = tc.noHist
			m, _ := newModel(t, r, DefaultOptions())
			drive(t, m, keys("s", "s", "s", "n", "s", "s", "s", "s")...) // blk.0 ATTENTION exit
			ev := m.cur(t)
			if where(ev) != "TaskStateExited ATTENTION i0 l0" {
				t.Fatalf("setup: at %s", where(ev))
			}
			if len(ev.Payload.Values) > 0 {
				t.Fatalf("setup: the event has verbose values")
			}
			// 80 columns leave the pane room for 8 blocks (neighbouring
			// bins summed), 160 for all 16.
			for _, sz := range []struct{ w, h, blocks int }{{80, 24, 8}, {160, 48, 16}} {
				drive(t, m, tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
				checkHistRows(t, m, ev, tc.noHist, sz.blocks)
			}
		})
	}
}

// checkHistRows checks the tensor rows of ev on the screen: each with its
// hist drawn in blocks bars, or a range column when the trace has none.
func checkHistRows(t *testing.T, m *Model, ev trace.Event, noHist bool, blocks int) {
	t.Helper()
	screen := ansi.Strip(m.View())
	rows := map[string]string{}
	for _, l := range strings.Split(screen, "\n") {
		for name := range ev.Payload.Tensors {
			if i := strings.Index(l, "│"+name+" "); i >= 0 {
				rows[name] = l[i:]
			}
		}
	}
	if len(rows) != len(ev.Payload.Tensors) {
		t.Fatalf("found rows for %d of %d tensors:\n%s", len(rows), len(ev.Payload.Tensors), screen)
	}
	head := ""
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "│tensor ") {
			head = l
		}
	}
	if got := strings.Contains(head, " hist"); got == noHist {
		t.Errorf("hist column shown %v, want %v:\n%s", got, !noHist, screen)
	}
	if !strings.Contains(head, " range") && noHist {
		t.Errorf("no range column on a trace without hists:\n%s", screen)
	}
	for name, row := range rows {
		h := ev.Payload.Tensors[name].Hist
		if noHist != h.Empty() {
			t.Fatalf("%s: hist %v", name, h)
		}
		if noHist {
			continue
		}
		// blocks bars scaled to the fullest (merged) bin.
		merged := make([]int, blocks)
		for i, c := range h {
			merged[i*blocks/stats.HistBins] += int(c)
		}
		spark := stats.Sparkline(merged)
		if !strings.Contains(row, " "+spark+" ") {
			t.Errorf("%d blocks: %s: row %q lacks its sparkline %q", blocks, name, row, spark)
		}
	}
}
