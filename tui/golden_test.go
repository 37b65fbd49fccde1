package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// TestGolden runs the real bubbletea program (teatest) over fixed events
// and compares the final screen with testdata/TestGolden/*.golden
// (`go test ./tui -run Golden -update` rewrites them). The colour profile is
// pinned to ASCII in TestMain and the screen is compared without escape
// codes, so the files read as the screen does.
func TestGolden(t *testing.T) {
	type step struct {
		key  string
		wait string // text the screen shows once the key took effect
	}
	cases := []struct {
		name   string
		replay bool
		run    fakeRun
		steps  []step
	}{
		{"first", false, defaultRun(), nil},
		{"three_steps", false, defaultRun(), []step{{"s", "#2 "}, {"s", "#3 "}, {"s", "#4 "}}},
		{"continue_to_nan", false, nanRun(), []step{{"s", "#2 "}, {"s", "#3 "}, {"s", "#4 "}, {"c", "stopped at error"}}},
		{"replay", true, nanRun(), []step{{"t", "#66 "}, {"n", "#68 "}, {"s", "#69 "}, {"s", "#70 "}, {"s", "#71 "}}},
		{"help", false, defaultRun(), []step{{"t", "#66 "}, {"?", "first"}}},
		{"breakpoints", false, defaultRun(), []step{{":break FFN layer=1\r", "breakpoint 1: FFN layer=1"}, {"c", "#23 "}, {"B", "Breakpoints ("}}},
	}
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s_%dx%d", tc.name, sz[0], sz[1]), func(t *testing.T) {
				var src Source = newFake(tc.run)
				if tc.replay {
					var err error
					if src, err = NewReplaySource(writeTrace(t, tc.run), nil); err != nil {
						t.Fatal(err)
					}
					defer src.Close()
				}
				m, err := New(src, DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(sz[0], sz[1]))
				wait := func(s string) {
					// An event id ("#66 ") ends with a space or, in the
					// status bar's short form, a separator.
					alt := strings.TrimSuffix(s, " ") + "│"
					teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
						return bytes.Contains(b, []byte(s)) || strings.HasPrefix(s, "#") && bytes.Contains(b, []byte(alt))
					},
						teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
				}
				wait("#1 ")
				for _, st := range tc.steps {
					for _, r := range st.key {
						if r == '\r' {
							tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
							continue
						}
						tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
					}
					wait(st.wait)
				}
				tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC}) // q would close the breakpoint list
				fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
				golden.RequireEqual(t, []byte(ansi.Strip(fm.View())+"\n"))
			})
		}
	}
}
