package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/trace"
)

// bar renders frac (0..1) of w columns with eighth blocks.
func bar(frac float64, w int) string {
	if w <= 0 || math.IsNaN(frac) {
		return ""
	}
	frac = math.Max(0, math.Min(1, frac))
	eighths := int(math.Round(frac * float64(w*8)))
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return s
}

type logitsKeys struct{ Up, Down key.Binding }

// logitsPane shows the top-k logits and probabilities of the current (or
// latest) token, the sampled one marked with its rank and probability.
type logitsPane struct {
	c    *common
	w, h int
	keys logitsKeys
	off  int
}

func newLogitsPane(c *common) *logitsPane {
	return &logitsPane{c: c, keys: logitsKeys{
		Up:   key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
		Down: key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	}}
}

// Init, SetSize, Title and the help methods implement pane.
func (p *logitsPane) Init() tea.Cmd             { return nil }
func (p *logitsPane) SetSize(w, h int)          { p.w, p.h = w, h }
func (p *logitsPane) Title() string             { return "Logits" }
func (p *logitsPane) ShortHelp() []key.Binding  { return []key.Binding{p.keys.Up, p.keys.Down} }
func (p *logitsPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
func (p *logitsPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, p.keys.Up):
			p.off = max(0, p.off-1)
		case key.Matches(km, p.keys.Down):
			p.off++
		}
	}
	return p, nil
}

func (p *logitsPane) View() string {
	m := p.c.m
	st := p.c.styles
	h := m.h
	head := lastBefore(h.heads, m.cursor)
	samp := lastBefore(h.samples, m.cursor)
	var logits, probs []trace.TokenScore
	var sampled *trace.Payload
	iter := -1
	if head >= 0 {
		if ev, err := h.At(head); err == nil && ev.Payload != nil {
			logits, iter = ev.Payload.TopKLogits, ev.Payload.Iteration
		}
	}
	if samp >= 0 && samp > head-1 {
		if ev, err := h.At(samp); err == nil && ev.Payload != nil && ev.Payload.Iteration == iter {
			probs, sampled = ev.Payload.TopKProbs, ev.Payload
		}
	}
	title := p.Title()
	if iter >= 0 {
		title += fmt.Sprintf(" · iter %d", iter)
		if m.cursor >= 0 && int(m.h.nodes[m.cursor].iter) != iter {
			title += " (previous token)"
		}
	}
	lines := []string{p.c.paneTitle(paneLogits, title, p.w)}
	if len(logits) == 0 && len(probs) == 0 {
		lines = append(lines, st.Dim.Render("  no LM_HEAD yet"))
		return box(lines, p.w, p.h)
	}
	sampledID := -1
	if sampled != nil && sampled.SampledID != nil {
		sampledID = *sampled.SampledID
		lines = append(lines, st.Sampled.Render(fit(fmt.Sprintf(" sampled %q id %d · rank %d · p=%.4f",
			showPiece(pieceOf(sampledID, probs, logits)), sampledID, sampled.SampledRank, sampled.SampledProb), p.w)))
	}
	// Rows: the top raw logits (bar scaled from the smallest shown to the
	// largest), with the sampler's probability where it kept the token;
	// only the probabilities when no logits were recorded.
	probOf := map[int]float64{}
	for _, t := range probs {
		probOf[t.ID] = t.Score
	}
	rows, byProb := logits, false
	if len(rows) == 0 {
		rows, byProb = probs, true
	}
	if m.topK > 0 && len(rows) > m.topK {
		rows = rows[:m.topK]
	}
	top, lo := rows[0].Score, rows[len(rows)-1].Score
	for _, t := range rows {
		top, lo = math.Max(top, t.Score), math.Min(lo, t.Score)
	}
	if byProb {
		lo = 0
	} else {
		lo -= (top - lo) / 4 // the smallest shown still gets a bar
	}
	pieceW, numW := 10, 17
	barW := max(4, p.w-pieceW-numW-5)
	colHead := fmt.Sprintf("%-*s%*s", pieceW+4+barW, "    token", numW, "logit     prob")
	lines = append(lines, st.Dim.Render(fit(colHead, p.w)))
	var body []string
	for i, t := range rows {
		frac := 1.0
		if top > lo {
			frac = (t.Score - lo) / (top - lo)
		}
		mark := " "
		if t.ID == sampledID {
			mark = "▶"
		}
		logit, prob := "", "      —"
		if !byProb {
			logit = fmt.Sprintf("%8.3f", t.Score)
		}
		if pr, ok := probOf[t.ID]; ok {
			prob = fmt.Sprintf("%6.2f%%", pr*100)
		}
		row := fmt.Sprintf("%s%2d %-*s %-*s %8s %s", mark, i+1, pieceW, fit(fmt.Sprintf("%q", showPiece(t.Piece)), pieceW), barW, bar(frac, barW), logit, prob)
		if t.ID == sampledID {
			row = st.Sampled.Render(fit(row, p.w))
		} else {
			row = st.Bar.Render(row)
		}
		body = append(body, row)
	}
	room := p.h - len(lines)
	p.off = max(0, min(p.off, len(body)-room))
	lines = append(lines, body[p.off:]...)
	return box(lines, p.w, p.h)
}

func pieceOf(id int, lists ...[]trace.TokenScore) string {
	for _, l := range lists {
		for _, t := range l {
			if t.ID == id {
				return t.Piece
			}
		}
	}
	return ""
}
