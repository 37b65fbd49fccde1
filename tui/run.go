package tui

import (
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Run opens the debugger over src on the alternate screen and returns when
// the user quits. Bubbletea restores the terminal on Ctrl-C and on a panic
// in the model; the source is closed in every case.
func Run(src Source, opts Options) (err error) {
	defer func() {
		if cerr := src.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close source: %w", cerr)
		}
	}()
	if os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	m, err := New(src, opts)
	if err != nil {
		return err
	}
	popts := append([]tea.ProgramOption{tea.WithAltScreen()}, opts.ProgramOptions...)
	final, err := tea.NewProgram(m, popts...).Run()
	if err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	if fm, ok := final.(*Model); ok && fm.Err() != nil {
		return &SourceError{fm.Err()}
	}
	return nil
}

// SourceError is returned by Run when the source failed in a way that ends
// the session (a replay file broken in the middle), as opposed to a
// terminal failure.
type SourceError struct{ Err error }

// Error returns the source's error message.
func (e *SourceError) Error() string { return e.Err.Error() }

// Unwrap returns the source's error.
func (e *SourceError) Unwrap() error { return e.Err }
