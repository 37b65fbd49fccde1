package tui

import (
	"strconv"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// textPane shows the prompt and the generated text with token boundaries
// (a dim │ between pieces) and the current token highlighted.
type textPane struct {
	c    *common
	w, h int
}

func newTextPane(c *common) *textPane { return &textPane{c: c} }

// Init, SetSize, Title and the help methods implement pane.
func (p *textPane) Init() tea.Cmd                       { return nil }
func (p *textPane) SetSize(w, h int)                    { p.w, p.h = w, h }
func (p *textPane) Title() string                       { return "Text" }
func (p *textPane) ShortHelp() []key.Binding            { return nil }
func (p *textPane) FullHelp() [][]key.Binding           { return nil }
func (p *textPane) Update(tea.Msg) (tea.Model, tea.Cmd) { return p, nil }

type piece struct {
	s       string
	style   lipgloss.Style
	current bool
}

func (p *textPane) View() string {
	m := p.c.m
	st := p.c.styles
	log := &m.h.text
	var ps []piece
	if m.h.tokenize >= 0 && m.h.tokenize <= m.cursor {
		if len(log.promptPieces) > 0 {
			for _, s := range log.promptPieces {
				ps = append(ps, piece{s: showPiece(s), style: st.Dim})
			}
		} else if log.promptText != "" {
			ps = append(ps, piece{s: showPiece(log.promptText), style: st.Dim})
		}
	} else if m.info.Prompt != "" {
		ps = append(ps, piece{s: showPiece(m.info.Prompt), style: st.Dim})
	}
	cur := log.upTo(m.cursor) - 1
	for i := 0; i <= cur; i++ {
		ps = append(ps, piece{s: showPiece(log.tokens[i].piece), style: lipgloss.NewStyle(), current: i == cur})
	}
	title := p.Title()
	if cur >= 0 {
		title += " · " + strconv.Itoa(cur+1) + " generated"
	}
	lines := []string{p.c.paneTitle(paneText, title, p.w)}
	// Only the tail that can show matters: a long generation must not cost
	// a full rewrap per frame.
	budget := (p.h + 1) * max(p.w, 1)
	for k := len(ps) - 1; k >= 0; k-- {
		budget -= lipgloss.Width(ps[k].s) + 3
		if budget < 0 {
			ps = ps[k+1:]
			break
		}
	}
	// Wrap piece by piece; keep the last lines, where the current token is.
	sep := st.Separator.Render("│")
	var wrapped []string
	line, lineW := "", 0
	for i, pc := range ps {
		s := pc.s
		if pc.current {
			s = "[" + s + "]"
		}
		w := lipgloss.Width(s) + 1
		if lineW+w > p.w && lineW > 0 {
			wrapped = append(wrapped, line)
			line, lineW = "", 0
		}
		r := pc.style.Render(s)
		if pc.current {
			r = st.Current.Render(s)
		}
		if i > 0 && lineW > 0 {
			line += sep
		}
		line += r
		lineW += w
	}
	if line != "" {
		wrapped = append(wrapped, line)
	}
	room := p.h - 1
	if len(wrapped) > room {
		wrapped = wrapped[len(wrapped)-room:]
	}
	lines = append(lines, wrapped...)
	return box(lines, p.w, p.h)
}
