package cli

import "testing"

// TestEveryCommandHasExamples: issue 2 asks for --help with examples on
// every command (cobra's own completion/help commands excepted).
func TestEveryCommandHasExamples(t *testing.T) {
	if Root.Example == "" {
		t.Error("infertrace --help has no Examples")
	}
	for _, c := range Root.Commands() {
		switch c.Name() {
		case "completion", "help":
			continue
		}
		if c.Example == "" {
			t.Errorf("infertrace %s --help has no Examples", c.Name())
		}
	}
}
