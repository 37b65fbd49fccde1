package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds the debugger's global key bindings (delve/gdb habits). Each
// pane adds its own bindings (see the pane files); help shows both.
type KeyMap struct {
	Step, NextLayer, NextToken, Continue, ToError key.Binding
	Break, Breakpoints                            key.Binding
	Back, Forward, First, Last                    key.Binding
	Search, Command                               key.Binding
	FocusNext, Focus                              key.Binding
	Restart, Interrupt, Help, Quit                key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Step:        key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "step")),
		NextLayer:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next layer")),
		NextToken:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "next token")),
		Continue:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "continue")),
		ToError:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "to error")),
		Break:       key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "toggle break")),
		Breakpoints: key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "breakpoints")),
		Back:        key.NewBinding(key.WithKeys("left", "["), key.WithHelp("←/[", "back")),
		Forward:     key.NewBinding(key.WithKeys("right", "]"), key.WithHelp("→/]", "forward")),
		First:       key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first")),
		Last:        key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "last")),
		Search:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Command:     key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		FocusNext:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Focus:       key.NewBinding(key.WithKeys("1", "2", "3", "4", "5"), key.WithHelp("1-5", "focus pane")),
		Restart:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),
		Interrupt:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "interrupt")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the always-visible help line: terse, so that `?` and `q`
// still fit at 80 columns.
func (k KeyMap) ShortHelp() []key.Binding {
	short := func(b key.Binding, keys, desc string) key.Binding {
		b.SetHelp(keys, desc)
		return b
	}
	return []key.Binding{
		short(k.Step, "s", "step"), short(k.NextLayer, "n", "layer"), short(k.NextToken, "t", "token"),
		short(k.Continue, "c", "cont"), short(k.Break, "b", "break"), short(k.Back, "←→", "hist"),
		k.Help, k.Quit,
	}
}

// FullHelp groups every global binding in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Step, k.NextLayer, k.NextToken, k.Continue, k.ToError},
		{k.Break, k.Breakpoints, k.Search, k.Command},
		{k.Back, k.Forward, k.First, k.Last},
		{k.FocusNext, k.Focus, k.Restart, k.Interrupt, k.Help, k.Quit},
	}
}

// helpKeys adapts the global map to the bubbles help component; the
// focused pane's bindings are listed on a line of their own (footerView).
type helpKeys struct {
	global KeyMap
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.global.ShortHelp() }
func (h helpKeys) FullHelp() [][]key.Binding { return h.global.FullHelp() }
