package tui

import "github.com/charmbracelet/lipgloss"

// Styles holds every lipgloss style the panes use, so a theme (or the
// colourless NO_COLOR profile) is decided in one place. Markers that carry
// meaning (current row, error, breakpoint) are also distinct glyphs, so the
// screen reads the same without colour.
type Styles struct {
	StatusBar   lipgloss.Style
	StatusMode  lipgloss.Style
	StatusError lipgloss.Style
	StatusDim   lipgloss.Style

	PaneTitle        lipgloss.Style
	PaneTitleFocused lipgloss.Style
	Separator        lipgloss.Style

	Current    lipgloss.Style // highlighted row / token
	Error      lipgloss.Style
	Warning    lipgloss.Style
	Breakpoint lipgloss.Style
	Dim        lipgloss.Style
	Label      lipgloss.Style
	Bar        lipgloss.Style
	BarAlt     lipgloss.Style
	Sampled    lipgloss.Style

	Alert     lipgloss.Style
	AlertHint lipgloss.Style
	Prompt    lipgloss.Style
	Message   lipgloss.Style
}

// DefaultStyles returns the dark-terminal theme.
func DefaultStyles() *Styles {
	red := lipgloss.Color("9")
	return &Styles{
		StatusBar:   lipgloss.NewStyle().Background(lipgloss.Color("236")).Foreground(lipgloss.Color("252")),
		StatusMode:  lipgloss.NewStyle().Background(lipgloss.Color("62")).Foreground(lipgloss.Color("230")).Bold(true),
		StatusError: lipgloss.NewStyle().Background(red).Foreground(lipgloss.Color("230")).Bold(true),
		StatusDim:   lipgloss.NewStyle().Background(lipgloss.Color("236")).Foreground(lipgloss.Color("245")),

		PaneTitle:        lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
		PaneTitleFocused: lipgloss.NewStyle().Foreground(lipgloss.Color("212")).Bold(true),
		Separator:        lipgloss.NewStyle().Foreground(lipgloss.Color("238")),

		Current:    lipgloss.NewStyle().Reverse(true),
		Error:      lipgloss.NewStyle().Foreground(red).Bold(true),
		Warning:    lipgloss.NewStyle().Foreground(lipgloss.Color("214")),
		Breakpoint: lipgloss.NewStyle().Foreground(lipgloss.Color("196")),
		Dim:        lipgloss.NewStyle().Foreground(lipgloss.Color("243")),
		Label:      lipgloss.NewStyle().Foreground(lipgloss.Color("111")),
		Bar:        lipgloss.NewStyle().Foreground(lipgloss.Color("69")),
		BarAlt:     lipgloss.NewStyle().Foreground(lipgloss.Color("78")),
		Sampled:    lipgloss.NewStyle().Foreground(lipgloss.Color("220")).Bold(true),

		Alert:     lipgloss.NewStyle().Foreground(red).Bold(true),
		AlertHint: lipgloss.NewStyle().Foreground(lipgloss.Color("214")),
		Prompt:    lipgloss.NewStyle().Foreground(lipgloss.Color("212")),
		Message:   lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
	}
}
