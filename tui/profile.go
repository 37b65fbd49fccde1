package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/trace"
)

type profileKeys struct{ Total, Up, Down key.Binding }

// profilePane shows the brick profile of the current iteration or the
// running total: time by brick and category, share and GB/s.
type profilePane struct {
	c     *common
	w, h  int
	keys  profileKeys
	total bool
	off   int
}

func newProfilePane(c *common) *profilePane {
	return &profilePane{c: c, keys: profileKeys{
		Total: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "iteration/total")),
		Up:    key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
		Down:  key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	}}
}

// Init, SetSize, Title and the help methods implement pane.
func (p *profilePane) Init() tea.Cmd    { return nil }
func (p *profilePane) SetSize(w, h int) { p.w, p.h = w, h }
func (p *profilePane) Title() string    { return "Profile" }
func (p *profilePane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Total, p.keys.Up, p.keys.Down}
}
func (p *profilePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func (p *profilePane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, p.keys.Total):
			p.total = !p.total
		case key.Matches(km, p.keys.Up):
			p.off = max(0, p.off-1)
		case key.Matches(km, p.keys.Down):
			p.off++
		}
	}
	return p, nil
}

func (p *profilePane) View() string {
	m := p.c.m
	st := p.c.styles
	at := lastBefore(m.h.profiles, m.cursor)
	var prof *trace.Profile
	iter := 0
	if at >= 0 {
		if ev, err := m.h.At(at); err == nil && ev.Payload != nil {
			prof, iter = ev.Payload.Profile, ev.Payload.Iteration
		}
	}
	title := p.Title()
	if prof != nil && p.total && prof.Total != nil {
		prof = prof.Total
		title += fmt.Sprintf(" · total to iter %d", iter)
	} else if prof != nil {
		title += fmt.Sprintf(" · iter %d", iter)
	}
	lines := []string{p.c.paneTitle(paneProfile, title, p.w)}
	if prof == nil {
		lines = append(lines, st.Dim.Render("  no BRICK_PROFILE yet"))
		return box(lines, p.w, p.h)
	}
	lines = append(lines, st.Dim.Render(fit(fmt.Sprintf(" wall %s · measured %s · coverage %.0f%%",
		fmtNS(prof.WallNS), fmtNS(prof.MeasuredNS), prof.Coverage*100), p.w)))
	nameW, numW := 17, 26
	barW := max(4, p.w-nameW-numW-2)
	var body []string
	for _, c := range prof.Categories {
		body = append(body, st.BarAlt.Render(fmt.Sprintf(" %-*s %-*s %9s %5.1f%%", nameW-1, fit(c.Name, nameW-1), barW, bar(c.Share, barW), fmtNS(c.TotalNS), c.Share*100)))
	}
	for _, b := range prof.Bricks {
		share := 0.0
		if prof.MeasuredNS > 0 {
			share = float64(b.TotalNS) / float64(prof.MeasuredNS)
		}
		body = append(body, st.Bar.Render(fmt.Sprintf(" %-*s %-*s %9s %5.1f%% %5.1fGB/s", nameW-1, fit(b.Name, nameW-1), barW, bar(share, barW), fmtNS(b.TotalNS), share*100, b.GBps)))
	}
	room := p.h - len(lines)
	p.off = max(0, min(p.off, len(body)-room))
	lines = append(lines, body[p.off:]...)
	return box(lines, p.w, p.h)
}

// fmtNS formats a duration recorded in the event (nanoseconds).
func fmtNS(ns int64) string { return fmtUS(float64(ns) / 1e3) }
