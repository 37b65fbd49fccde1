package tui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/infertrace/infertrace/trace"
)

// slowReader hands out its keys one by one with a pause, as a typist
// would, so that each key lands after the previous one took effect.
type slowReader struct {
	keys []byte
	wait time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.keys) == 0 {
		time.Sleep(time.Hour) // the program quits before this matters
		return 0, io.EOF
	}
	time.Sleep(r.wait)
	p[0] = r.keys[0]
	r.keys = r.keys[1:]
	return 1, nil
}

type closeCounter struct {
	*fakeSource
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestRunNoColor runs the real program on fake input and output: with
// NO_COLOR the screen carries no colour codes, the alternate screen is
// entered and left, and the source is closed.
func TestRunNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	src := &closeCounter{fakeSource: newFake(nanRun())}
	var out bytes.Buffer
	in := &slowReader{keys: []byte("sssq"), wait: 50 * time.Millisecond}
	err := Run(src, Options{BreakOnError: true, ProgramOptions: []tea.ProgramOption{
		tea.WithInput(in), tea.WithOutput(&out), tea.WithoutSignalHandler()}})
	if err != nil {
		t.Fatal(err)
	}
	if src.closed != 1 {
		t.Errorf("source closed %d times", src.closed)
	}
	s := out.String()
	if !strings.Contains(s, "\x1b[?1049h") || !strings.Contains(s, "\x1b[?1049l") {
		t.Error("alternate screen not entered and left")
	}
	for _, c := range []string{"\x1b[38;", "\x1b[48;", "\x1b[31m", "\x1b[91m"} {
		if strings.Contains(s, c) {
			t.Errorf("NO_COLOR output holds colour code %q", c)
		}
	}
	if !strings.Contains(s, "#4 ") {
		t.Errorf("three steps did not reach event 4: %q", s)
	}
}

// panicSource panics on its second event, standing for an engine bug.
type panicSource struct{ fakeSource }

func (p *panicSource) Next() (trace.Event, error) {
	if p.i == 1 {
		panic("engine bug")
	}
	return p.fakeSource.Next()
}

// TestRunPanicRestoresTerminal checks that a panic under the program
// returns an error, is reported, and leaves the alternate screen. Bubbletea
// reports the panic on the process's stdout from its own goroutine, so the
// program runs in a child process whose output the test reads.
func TestRunPanicRestoresTerminal(t *testing.T) {
	if os.Getenv("INFERTRACE_TUI_PANIC_CHILD") == "1" {
		src := &panicSource{*newFake(defaultRun())}
		in := &slowReader{keys: []byte("s"), wait: 50 * time.Millisecond}
		err := Run(src, Options{ProgramOptions: []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(os.Stdout), tea.WithoutSignalHandler()}})
		fmt.Printf("\nRUN RETURNED: %v\n", err)
		time.Sleep(200 * time.Millisecond) // let bubbletea finish its report
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunPanicRestoresTerminal$", "-test.count=1")
	cmd.Env = append(os.Environ(), "INFERTRACE_TUI_PANIC_CHILD=1")
	out, _ := cmd.CombinedOutput()
	for _, want := range []string{"engine bug", "\x1b[?1049l", "RUN RETURNED: tui: program was killed: program experienced a panic"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("child output lacks %q:\n%q", want, out)
		}
	}
}

func TestLiveSource(t *testing.T) {
	evs := defaultRun().events()[:5]
	var starts, stops int
	var failStart bool
	start := func() (func() (trace.Event, bool), func(), error) {
		if failStart {
			return nil, nil, errors.New("no model")
		}
		starts++
		i := 0
		return func() (trace.Event, bool) {
				if i == len(evs) {
					return trace.Event{}, false
				}
				i++
				return evs[i-1], true
			}, func() {
				stops++
			}, nil
	}
	src := NewLiveSource(start, SourceInfo{Model: "m"})
	if starts != 0 {
		t.Error("started before the first Next")
	}
	if info := src.Info(); info.Mode != "LIVE" || !info.Restarter {
		t.Errorf("info %+v", info)
	}
	for i := range evs {
		ev, err := src.Next()
		if err != nil || ev.ID != evs[i].ID {
			t.Fatalf("event %d: %v %v", i, ev.ID, err)
		}
	}
	if _, err := src.Next(); err != io.EOF {
		t.Fatalf("after the end: %v", err)
	}
	if _, err := src.Next(); err != io.EOF {
		t.Fatalf("after the end, again: %v", err)
	}
	if stops != 1 {
		t.Errorf("stop called %d times at the end", stops)
	}
	if err := src.(Restarter).Restart(); err != nil {
		t.Fatal(err)
	}
	if ev, err := src.Next(); err != nil || ev.ID != 1 || starts != 2 {
		t.Fatalf("after restart: %v %v, %d starts", ev.ID, err, starts)
	}
	src.Close()
	if stops != 2 {
		t.Errorf("Close did not stop the run (%d stops)", stops)
	}
	failStart = true
	src = NewLiveSource(start, SourceInfo{})
	if _, err := src.Next(); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("start error: %v", err)
	}

	// Next and Restart from different goroutines are serialised (-race).
	failStart = false
	src = NewLiveSource(start, SourceInfo{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 50 {
			src.Next()
		}
	}()
	go func() {
		defer wg.Done()
		for range 10 {
			src.(Restarter).Restart()
		}
	}()
	wg.Wait()
	src.Close()
}
