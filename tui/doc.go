// Package tui is infertrace's terminal debugger: a bubbletea program that
// steps through the events of an inference run, live or replayed, through
// one Source interface.
//
// The root Model keeps a compact summary of every recorded event (history),
// so stepping, breakpoints (predicates over events, breakpoint.go), the
// timeline and the status bar never need the full events; the panes
// (timeline, tensors, logits, profile, text) read full events on demand,
// from memory in a live run and through the trace index in a replay.
// Source.Next runs inside tea.Cmds, off the UI goroutine; long runs (`c`)
// proceed in batches between repaints and stop on esc.
package tui
