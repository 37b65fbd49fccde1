package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/trace"
)

// tmuxSession runs one command in a detached tmux session on a private
// server, so the binary gets a real terminal.
type tmuxSession struct {
	t    *testing.T
	sock string
}

func newTmux(t *testing.T, dir string, w, h int, cmdline string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed: the TUI end-to-end tests need it (CI installs it)")
	}
	// The server's socket lives in the test's temporary directory.
	s := &tmuxSession{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	// The shell prints the exit status and lingers, so the test can read it
	// and check the screen after the program left the alternate screen.
	script := cmdline + `; echo "EXIT=$?"; sleep 60`
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", dir, script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "main") }

// waitFor polls the screen until it contains want. An event id ("#4 ")
// also matches in the status bar's short form ("#4│").
func (s *tmuxSession) waitFor(want string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	alt := want
	if strings.HasPrefix(want, "#") {
		alt = strings.TrimSuffix(want, " ") + "│"
	}
	for {
		scr := s.screen()
		if strings.Contains(scr, want) || strings.Contains(scr, alt) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q within %s; last screen:\n%s", want, timeout, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *tmuxSession) send(key string) { s.tmux("send-keys", "-t", "main", key) }

// stepToNaN sends `s s s c` (each step waits for its event id, so keys are
// not refused while the model runs) and checks that the run stopped at the
// injected NaN, then that q exits 0 and leaves the alternate screen.
func stepToNaN(t *testing.T, s *tmuxSession, mode string) {
	t.Helper()
	s.waitFor(mode, 15*time.Second)
	s.waitFor("#1 ", 5*time.Second)
	for i, id := range []string{"#2 ", "#3 ", "#4 "} {
		s.send("s")
		if scr := s.waitFor(id, 5*time.Second); i == 2 && strings.Contains(scr, "ERROR") {
			t.Fatalf("ERROR before the NaN:\n%s", scr)
		}
	}
	s.send("c")
	scr := s.waitFor("ERROR", 10*time.Second)
	if !strings.Contains(scr, "blk.3.ffn_out") {
		t.Errorf("screen does not name blk.3.ffn_out:\n%s", scr)
	}
	if !strings.Contains(scr, "NumericalError.NaN") {
		t.Errorf("screen does not show the NaN alert:\n%s", scr)
	}
	// The run stops at the producing transition: the timeline's cursor
	// (or, in older traces, an error mark) is on the FFN row.
	producer := false
	for _, l := range strings.Split(scr, "\n") {
		tl, _, _ := strings.Cut(l, "│") // the timeline column
		producer = producer || (strings.Contains(tl, "▶") || strings.Contains(tl, "✗")) && strings.Contains(tl, "FFN")
	}
	if !producer {
		t.Errorf("timeline does not mark the producing FFN:\n%s", scr)
	}
	s.send("q")
	scr = s.waitFor("EXIT=", 5*time.Second)
	if !strings.Contains(scr, "EXIT=0") {
		t.Errorf("q did not exit 0:\n%s", scr)
	}
	if alt := strings.TrimSpace(s.tmux("display-message", "-p", "-t", "main", "#{alternate_on}")); alt != "0" {
		t.Errorf("terminal still on the alternate screen after q (alternate_on=%s)", alt)
	}
	if strings.Contains(scr, "Timeline") {
		t.Errorf("TUI left on the screen after q:\n%s", scr)
	}
}

// TestTUILiveNaN debugs a real run with an injected NaN in tmux.
func TestTUILiveNaN(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	s := newTmux(t, dir, 100, 30, fmt.Sprintf("%q run -m %q -p 'Once upon a time' --tui --inject nan@blk.3.ffn_out", bin, model))
	stepToNaN(t, s, "LIVE")
}

// TestTUIReplay replays, in tmux, the trace of the same run written by
// run --trace-output: the same keys stop at the same NaN.
func TestTUIReplay(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	tr := filepath.Join(dir, "nan.json")
	cmd := exec.Command(bin, "run", "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "8",
		"--inject", "nan@blk.3.ffn_out", "--trace-output", tr)
	if out, err := cmd.CombinedOutput(); err == nil || !bytes.Contains(out, []byte("blk.3.ffn_out")) {
		t.Fatalf("run with the NaN injection: err %v, output:\n%s", err, out)
	}
	s := newTmux(t, dir, 100, 30, fmt.Sprintf("%q replay %q", bin, tr))
	stepToNaN(t, s, "REPLAY")
}

// TestTUIWithoutTerminal checks the commands that need a terminal refuse
// to start without one (exit 2, one line suggesting the text form), and
// replay --print needs none.
func TestTUIWithoutTerminal(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	tr := filepath.Join(dir, "ok.json")
	if out, err := exec.Command(bin, "run", "-m", model, "--temp", "0", "-n", "4", "--trace-output", tr).CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	notTrace := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notTrace, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr (code != 0) or stdout
	}{
		{[]string{"replay", tr}, 2, "--print"},
		{nil, 2, "run --trace"},
		{[]string{"debug", "-m", model}, 2, "run --trace"},
		{[]string{"run", "-m", model, "--tui"}, 2, "run --trace"},
		{[]string{"run", "--tui", "--trace-output", filepath.Join(dir, "never.json")}, 2, "run --trace"},
		{[]string{"replay", "--print", tr}, 0, "ExecutionSucceeded"},
		{[]string{"replay", "--print", notTrace}, 2, "notes.txt"},
		{[]string{"replay", notTrace}, 2, "notes.txt"},
		{[]string{"replay", filepath.Join(dir, "missing.json"), "--print"}, 2, "missing.json"},
		{[]string{"replay"}, 2, ""},
	} {
		t.Run(strings.Join(append([]string{"infertrace"}, tc.args...), " "), func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			out := stdout.String()
			if code != 0 {
				out = stderr.String()
				if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 || !strings.HasPrefix(out, "infertrace: ") {
					t.Errorf("want one line `infertrace: ...`, got %q", out)
				}
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q: %q", tc.want, out)
			}
		})
	}
}

// TestTUIRestartTraceOutput restarts a debugged run (r) with
// --trace-output: the file must validate and hold only the latest run,
// here stepped to its end with c (ids from 1, one ExecutionStarted).
func TestTUIRestartTraceOutput(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	tr := filepath.Join(dir, "restart.json")
	s := newTmux(t, dir, 100, 30, fmt.Sprintf("%q run -m %q -n 4 --temp 0 --tui --trace-output %q", bin, model, tr))
	s.waitFor("#1 ", 15*time.Second)
	for _, id := range []string{"#2 ", "#3 ", "#4 ", "#5 "} {
		s.send("s")
		s.waitFor(id, 5*time.Second)
	}
	s.send("r")
	s.waitFor("restarted", 5*time.Second)
	s.send("c")
	s.waitFor("end of run", 10*time.Second)
	s.send("q")
	if scr := s.waitFor("EXIT=", 5*time.Second); !strings.Contains(scr, "EXIT=0") {
		t.Fatalf("q did not exit 0:\n%s", scr)
	}
	out, err := exec.Command(bin, "validate", tr).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) || !bytes.Contains(out, []byte("SUCCEEDED")) {
		t.Fatalf("validate after a restart: %v\n%s", err, out)
	}
	_, evs, _, err := trace.ReadAll(mustOpen(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	for _, ev := range evs {
		if ev.Type == trace.ExecutionStarted {
			starts++
		}
	}
	if starts != 1 || evs[len(evs)-1].Type != trace.ExecutionSucceeded {
		t.Errorf("file holds %d runs, ends with %s", starts, evs[len(evs)-1].Type)
	}
}

// TestTUIDemoCtrlC opens the default command (no arguments: the demo
// model), steps, and leaves with Ctrl-C: exit 0, main screen restored.
func TestTUIDemoCtrlC(t *testing.T) {
	dir := t.TempDir()
	bin := sharedBinary(t)
	s := newTmux(t, dir, 80, 24, fmt.Sprintf("NO_COLOR=1 %q", bin))
	s.waitFor("LIVE", 15*time.Second)
	s.waitFor("#1 ", 5*time.Second)
	s.send("s")
	s.waitFor("TOKENIZE", 5*time.Second)
	// NO_COLOR: styles only (bold, reverse), no foreground or background
	// colour anywhere on the screen.
	if sgr := colourSGR(s.tmux("capture-pane", "-p", "-e", "-t", "main")); sgr != "" {
		t.Errorf("NO_COLOR screen holds colour escape %q", sgr)
	}
	// At 80 columns logits and profile share a slot; a resize to 160×48
	// lays out three columns with both.
	if scr := s.screen(); strings.Contains(scr, "4 Profile") {
		t.Errorf("80×24 shows the profile beside the logits:\n%s", scr)
	}
	s.tmux("resize-window", "-t", "main", "-x", "160", "-y", "48")
	if scr := s.waitFor("4 Profile", 5*time.Second); !strings.Contains(scr, "3 Logits") {
		t.Errorf("160×48 after a resize lacks the logits pane:\n%s", scr)
	}
	s.send("C-c")
	scr := s.waitFor("EXIT=", 5*time.Second)
	if !strings.Contains(scr, "EXIT=0") {
		t.Errorf("Ctrl-C did not exit 0:\n%s", scr)
	}
	if alt := strings.TrimSpace(s.tmux("display-message", "-p", "-t", "main", "#{alternate_on}")); alt != "0" {
		t.Errorf("terminal still on the alternate screen after Ctrl-C (alternate_on=%s)", alt)
	}
	if strings.Contains(scr, "Timeline") {
		t.Errorf("TUI left on the screen after Ctrl-C:\n%s", scr)
	}
}

// colourSGR returns the first SGR escape of s that sets a colour, or "".
func colourSGR(s string) string {
	for i := 0; ; {
		j := strings.Index(s[i:], "\x1b[")
		if j < 0 {
			return ""
		}
		start := i + j
		end := strings.IndexByte(s[start:], 'm')
		if end < 0 {
			return ""
		}
		seq := s[start+2 : start+end]
		i = start + end
		if strings.ContainsAny(seq, "?<>=") {
			continue // not SGR parameters
		}
		for _, p := range strings.Split(seq, ";") {
			var n int
			if _, err := fmt.Sscan(p, &n); err != nil {
				continue
			}
			if n >= 30 && n <= 49 && n != 39 && n != 49 || n >= 90 && n <= 107 {
				return s[start : start+end+1]
			}
		}
	}
}

// TestTUIInterruptContinue: c on a long run (1000 tokens, kernels traced)
// is interrupted by esc long before the end, and the debugger answers.
func TestTUIInterruptContinue(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	s := newTmux(t, dir, 100, 30, fmt.Sprintf("%q run -m %q -n 1000 --tui --trace=all,kernel", bin, model))
	s.waitFor("#1 ", 15*time.Second)
	s.send("c")
	s.waitFor("run", 5*time.Second) // the status bar's running mark
	time.Sleep(300 * time.Millisecond)
	s.send("Escape")
	scr := s.waitFor("interrupted", 5*time.Second)
	if strings.Contains(scr, "ExecutionSucceeded") || strings.Contains(scr, "end of run") {
		t.Fatalf("the run ended before esc:\n%s", scr)
	}
	s.send("s") // still answering after the interruption
	s.send("q")
	if scr := s.waitFor("EXIT=", 5*time.Second); !strings.Contains(scr, "EXIT=0") {
		t.Errorf("q did not exit 0:\n%s", scr)
	}
}

// TestTUITraceOutputStopsAtBreakpoint: --trace-output holds what was
// stepped through — the engine stops where the debugger stops, so after
// `:break FFN layer=2`, c and q the file ends with that FFN's entry and
// ExecutionAborted, and validates.
func TestTUITraceOutputStopsAtBreakpoint(t *testing.T) {
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	dir := t.TempDir()
	bin := sharedBinary(t)
	tr := filepath.Join(dir, "stopped.json")
	s := newTmux(t, dir, 100, 30, fmt.Sprintf("%q run -m %q -n 4 --temp 0 --tui --trace-output %q", bin, model, tr))
	s.waitFor("#1 ", 15*time.Second)
	s.tmux("send-keys", "-t", "main", "-l", ":break FFN layer=2")
	s.send("Enter")
	s.waitFor("breakpoint 1: FFN layer=2", 5*time.Second)
	s.send("c")
	s.waitFor("breakpoint 1: FFN", 10*time.Second)
	s.send("q")
	if scr := s.waitFor("EXIT=", 5*time.Second); !strings.Contains(scr, "EXIT=0") {
		t.Fatalf("q did not exit 0:\n%s", scr)
	}
	if out, err := exec.Command(bin, "validate", tr).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	_, evs, _, err := trace.ReadAll(mustOpen(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 2 {
		t.Fatalf("%d events", len(evs))
	}
	// The last entry is the breakpoint's; the abort only exits the
	// states left open (FFN, the block) before ExecutionAborted.
	var stop trace.Event
	for _, ev := range evs {
		if ev.Type == trace.TaskStateEntered {
			stop = ev
		}
	}
	last := evs[len(evs)-1]
	if last.Type != trace.ExecutionAborted || stop.State != trace.FFN || stop.Payload == nil ||
		stop.Payload.Layer != 2 || stop.Payload.Iteration != 0 {
		t.Errorf("file's last entry %s %s (event %d), final %s; want FFN layer 2 iteration 0 and ExecutionAborted",
			stop.Type, stop.State, stop.ID, last.Type)
	}
	if n := len(evs) - int(stop.ID); n > 3 {
		t.Errorf("%d events after the breakpoint's entry, want at most the FFN and block exits and the abort", n)
	}
}
