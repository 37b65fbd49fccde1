package tui

import (
	"flag"
	"fmt"
	"os"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/infertrace/infertrace/trace"
)

func TestMain(m *testing.M) {
	// Goldens and screen checks are colourless and reproducible.
	lipgloss.SetColorProfile(termenv.Ascii)
	// Tests write only to temporary directories: no rapid fail files.
	flag.Parse()
	if f := flag.Lookup("rapid.nofailfile"); f != nil {
		f.Value.Set("true")
	}
	os.Exit(m.Run())
}

// drive feeds msg to m and runs every command it returns, synchronously,
// until the model is idle. It reports whether the model asked to quit.
func drive(t *testing.T, m *Model, msgs ...tea.Msg) (quit bool) {
	t.Helper()
	for _, msg := range msgs {
		quit = settle(t, m, msg) || quit
	}
	return quit
}

// settle handles one message and everything it leads to.
func settle(t *testing.T, m *Model, first tea.Msg) (quit bool) {
	t.Helper()
	queue := []tea.Msg{first}
	for n := 0; len(queue) > 0; n++ {
		if n > 100000 {
			t.Fatal("model does not settle")
		}
		msg := queue[0]
		queue = queue[1:]
		if _, ok := msg.(tea.QuitMsg); ok {
			quit = true
			continue
		}
		_, cmd := m.Update(msg)
		queue = append(queue, runCmd(cmd)...)
	}
	return quit
}

func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, runCmd(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

func keys(s ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range s {
		switch k {
		case "esc":
			out = append(out, tea.KeyMsg{Type: tea.KeyEsc})
		case "enter":
			out = append(out, tea.KeyMsg{Type: tea.KeyEnter})
		case "left":
			out = append(out, tea.KeyMsg{Type: tea.KeyLeft})
		case "right":
			out = append(out, tea.KeyMsg{Type: tea.KeyRight})
		case "tab":
			out = append(out, tea.KeyMsg{Type: tea.KeyTab})
		case "ctrl+c":
			out = append(out, tea.KeyMsg{Type: tea.KeyCtrlC})
		case " ":
			out = append(out, tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")})
		default:
			out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		}
	}
	return out
}

// typed returns the key messages of typing line (for : and / input).
func typed(line string) []tea.Msg {
	var out []tea.Msg
	for _, r := range line {
		if r == ' ' {
			out = append(out, tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			continue
		}
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return append(out, tea.KeyMsg{Type: tea.KeyEnter})
}

func newModel(t *testing.T, r fakeRun, opts Options) (*Model, *fakeSource) {
	t.Helper()
	src := newFake(r)
	m, err := New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	drive(t, m, runCmd(m.Init())...)
	return m, src
}

func (m *Model) cur(t *testing.T) trace.Event {
	t.Helper()
	ev, err := m.h.At(m.cursor)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func nanRun() fakeRun {
	r := defaultRun()
	r.nanAt, r.onNaN = [2]int{1, 3}, "stop"
	return r
}

func nanContinueRun() fakeRun {
	r := nanRun()
	r.onNaN = "continue"
	return r
}

// where describes the event at the cursor: "TYPE STATE iter layer".
func where(ev trace.Event) string {
	s := string(ev.Type)
	if ev.State != "" {
		s += " " + string(ev.State)
	}
	if ev.Payload != nil {
		s += fmt.Sprintf(" i%d l%d", ev.Payload.Iteration, ev.Payload.Layer)
	}
	return s
}

func ansiWidth(s string) int { return ansi.StringWidth(s) }
