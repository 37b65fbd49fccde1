package tui

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// writeTrace writes the run's events as a JSON trace file with the trace
// package's writer and returns its path.
func writeTrace(t *testing.T, r fakeRun) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.json")
	h := trace.Header{Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Model: trace.ModelInfo{Name: "stories260K", QuantType: "F32", NumLayers: r.nLayer, Path: "stories260K.gguf"},
		Run:   trace.RunInfo{Prompt: "Once upon a time", NPredict: len(r.gen)}}
	jw, err := trace.CreateJSONFile(path, h)
	if err != nil {
		t.Fatal(err)
	}
	var tally trace.Tally
	for _, ev := range r.events() {
		tally.Add(ev)
		if err := jw.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := jw.Close(tally.Summary(time.Second)); err != nil {
		t.Fatal(err)
	}
	return path
}

func newReplayModel(t *testing.T, path string, opts Options) *Model {
	t.Helper()
	m, calls := newReplayModelCount(t, path, opts)
	if calls == 0 && !strings.Contains(path, "cut") {
		t.Error("progress was never reported")
	}
	return m
}

func newReplayModelCount(t *testing.T, path string, opts Options) (*Model, int) {
	t.Helper()
	var calls int
	src, err := NewReplaySource(path, func(done, total int64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	m, err := New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	drive(t, m, runCmd(m.Init())...)
	return m, calls
}

// TestReplayMatchesLive drives a live model and a replay of the same run
// with the same keys: a replay must show the same events at every stop.
func TestReplayMatchesLive(t *testing.T) {
	path := writeTrace(t, nanRun())
	seqs := [][]string{
		{"s", "s", "s"},
		{"t", "n", "n", "s"},
		{"c"},
		{"c", "left", "left", "g", "]"},
		{"e"},
	}
	for _, seq := range seqs {
		live, _ := newModel(t, nanRun(), DefaultOptions())
		rep := newReplayModel(t, path, DefaultOptions())
		for _, k := range seq {
			drive(t, live, keys(k)...)
			drive(t, rep, keys(k)...)
			if where(live.cur(t)) != where(rep.cur(t)) || live.cur(t).ID != rep.cur(t).ID {
				t.Fatalf("%v: after %q live at %d %s, replay at %d %s", seq, k,
					live.cur(t).ID, where(live.cur(t)), rep.cur(t).ID, where(rep.cur(t)))
			}
		}
	}
	// G in a replay reads to the last event on disk, without stopping at
	// the error.
	rep := newReplayModel(t, path, DefaultOptions())
	drive(t, rep, keys("G")...)
	if where(rep.cur(t)) != "ExecutionFailed" || rep.h.Len() != len(nanRun().events()) {
		t.Errorf("G: at %s with %d events recorded", where(rep.cur(t)), rep.h.Len())
	}
	if rep.info.Mode != "REPLAY" || rep.info.NLayer != 5 {
		t.Errorf("info %+v", rep.info)
	}
	// r is refused.
	drive(t, rep, keys("r")...)
	if !strings.Contains(rep.message, "cannot restart") {
		t.Errorf("r on a replay: %q", rep.message)
	}
}

// TestReplayBoundedCache checks that a replay keeps events on disk: the
// history holds no event bodies and the cache stays bounded.
func TestReplayBoundedCache(t *testing.T) {
	r := defaultRun()
	r.gen = append(r.gen, make([]string, 20)...)
	for i := range r.gen {
		if r.gen[i] == "" {
			r.gen[i] = "▁x"
		}
	}
	m := newReplayModel(t, writeTrace(t, r), DefaultOptions())
	drive(t, m, keys("G")...)
	if m.h.Len() < 1000 {
		t.Fatalf("only %d events", m.h.Len())
	}
	if len(m.h.events) != 0 || m.h.cache.ll.Len() > 256 {
		t.Errorf("replay holds %d events and %d cached", len(m.h.events), m.h.cache.ll.Len())
	}
	drive(t, m, keys("g")...)
	if ev := m.cur(t); ev.Type != trace.ExecutionStarted {
		t.Errorf("g: %s", where(ev))
	}
}

func TestReplayBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeTrace(t, defaultRun())
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, body string }{
		{"empty", ""},
		{"text", "hello\n"},
		{"array", "[1,2,3]"},
		{"other json", `{"a": 1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.name+".json", tc.body)
			_, err := NewReplaySource(p, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
	// A truncated trace (a crashed run) replays its readable prefix.
	cut := write("cut.json", string(data[:len(data)*2/3]))
	m := newReplayModel(t, cut, DefaultOptions())
	drive(t, m, keys("c")...)
	if m.Err() != nil {
		t.Fatalf("truncated trace is fatal: %v", m.Err())
	}
	if !strings.Contains(m.message, "truncated") {
		t.Errorf("message %q does not say truncated", m.message)
	}
	// Damage in the middle of the events is fatal with one line.
	mid := strings.Replace(string(data), `"TaskStateExited"`, `"TaskStateExited"}}}`, 5)
	src, err := NewReplaySource(write("broken.json", mid), nil)
	if err != nil {
		return // rejected up front: fine too
	}
	defer src.Close()
	bm, _ := New(src, DefaultOptions())
	quit := drive(t, bm, runCmd(bm.Init())...)
	if !quit || bm.Err() == nil {
		t.Fatalf("broken trace: quit %v err %v", quit, bm.Err())
	}
	if errors.Is(bm.Err(), trace.ErrTruncated) || strings.Contains(bm.Err().Error(), "\n") {
		t.Errorf("error %q", bm.Err())
	}
}

// prepSource is a replay-like source whose indexing the test controls.
type prepSource struct {
	*fakeSource
	release chan struct{}
}

func (p *prepSource) Prepare(progress func(done, total int64)) error {
	progress(50, 100)
	<-p.release
	return nil
}

// TestIndexingProgress checks the progress screen while a replay indexes,
// then the first event once it is done.
func TestIndexingProgress(t *testing.T) {
	src := &prepSource{fakeSource: newFake(defaultRun()), release: make(chan struct{})}
	src.info.Path = "big.json"
	m, err := New(src, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	batch, ok := m.Init()().(tea.BatchMsg)
	if !ok || len(batch) != 2 {
		t.Fatalf("Init: %T", batch)
	}
	prepared := make(chan tea.Msg)
	go func() { prepared <- batch[0]() }()
	m.Update(batch[1]()) // the first progress report (its follow-up waits for more)
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "indexing big.json") || !strings.Contains(v, " 50%") {
		t.Fatalf("progress screen:\n%s", v)
	}
	// Keys wait for the index (a step would read the source meanwhile);
	// q still quits.
	if _, cmd := m.Update(keys("s")[0]); cmd != nil || m.running {
		t.Error("s while indexing started a motion")
	}
	if _, cmd := m.Update(keys("q")[0]); cmd == nil {
		t.Error("q while indexing does not quit")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q while indexing does not quit")
	}
	close(src.release)
	drive(t, m, <-prepared)
	if m.preparing || where(m.cur(t)) != "ExecutionStarted" {
		t.Errorf("after indexing: preparing %v, at %s", m.preparing, where(m.cur(t)))
	}
}

// TestReplayMemoryBounded replays a large trace to its last event (G)
// and checks what the debugger holds: a compact summary per event, not
// the events — the heap grows by a small fraction of the file (a 1 GB
// trace must not need 1 GB of RAM) — and the indexing pass reported its
// progress along the way.
func TestReplayMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes an 8 MB trace")
	}
	r := defaultRun()
	r.gen = make([]string, 200)
	for i := range r.gen {
		r.gen[i] = "▁x"
	}
	path := filepath.Join(t.TempDir(), "big.json")
	jw, err := trace.CreateJSONFile(path, trace.Header{Model: trace.ModelInfo{Name: "stories260K", NumLayers: r.nLayer}})
	if err != nil {
		t.Fatal(err)
	}
	evs := r.events()
	n := len(evs)
	for _, ev := range evs {
		if err := jw.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := jw.Close(trace.Summary{Status: trace.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	evs = nil
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	m, calls := newReplayModelCount(t, path, DefaultOptions())
	drive(t, m, keys("G")...)
	if m.h.Len() != n || where(m.cur(t)) != "ExecutionSucceeded" {
		t.Fatalf("G: %d of %d events, at %s", m.h.Len(), n, where(m.cur(t)))
	}
	_ = m.View()
	grown := int64(heap()) - int64(before)
	runtime.KeepAlive(m)
	t.Logf("%d events, %.1f MB file: heap +%.2f MB (%.0f B/event), %d progress reports",
		n, float64(st.Size())/1e6, float64(grown)/1e6, float64(grown)/float64(n), calls)
	// ~100 B/event (node, index entry, timeline row, slice slack) against
	// 680 B/event of file here and ~900 B/event in a real stories260K trace.
	if grown > st.Size()/4 || grown > 160*int64(n) {
		t.Errorf("replaying a %d-byte trace of %d events grew the heap by %d bytes (> 1/4 of the file or > 160 B/event)", st.Size(), n, grown)
	}
	if want := int(st.Size() / (4 << 20)); calls < want {
		t.Errorf("%d progress reports for %d bytes, want at least %d (one per 4 MB)", calls, st.Size(), want)
	}
}

// TestTensorSearchFromNodes: the tensor-name search answers from the
// compact nodes exactly as from the events' displayed names, and says when
// only the event can tell.
func TestTensorSearchFromNodes(t *testing.T) {
	s := stats.Compute([]float32{1, 2})
	cases := []struct {
		keys  []string
		layer int
		stats bool
		ok    bool
	}{
		{[]string{"ffn_out", "ffn_gate"}, 3, false, true},
		{[]string{"q_rope", "attn_residual"}, 0, false, true},
		{[]string{"logits", "output_norm"}, trace.NoLayer, false, true},
		{[]string{"embed"}, trace.NoLayer, false, true},
		{[]string{"blk.3.ffn_out"}, 3, false, true},
		{[]string{"blk.2.ffn_out"}, 3, false, false}, // not the event's layer
		{[]string{"blk.x.ffn_out"}, 3, false, false},
		{[]string{"ffn_out"}, trace.NoLayer, false, true}, // shown as plain ffn_out
		{[]string{"mystery"}, 1, false, false},
		{nil, 1, true, false}, // stats only: shown as output
	}
	queries := []string{"ffn", "ffn_out", "blk.3.ffn", "blk.3.ffn_out", "blk.2", "rope", "q_", "logits", "put", "out", "embed", "mystery", "zzz", "blk."}
	for _, tc := range cases {
		p := &trace.Payload{Layer: tc.layer, Tensors: map[string]*stats.Summary{}}
		for _, k := range tc.keys {
			p.Tensors[k] = &s
		}
		if tc.stats {
			p.Stats = &s
		}
		ev := trace.Event{Type: trace.TaskStateExited, State: trace.FFN, Payload: p}
		n := summarize(&ev)
		for _, q := range queries {
			want := false
			for _, ts := range orderedTensors(p) {
				want = want || strings.Contains(strings.ToLower(ts.name), q)
			}
			got, ok := n.tensorNamesMatch(q)
			if ok != tc.ok {
				t.Fatalf("%v layer %d: ok %v, want %v", tc.keys, tc.layer, ok, tc.ok)
			}
			if ok && got != want {
				t.Errorf("%v layer %d /%s: node says %v, names say %v", tc.keys, tc.layer, q, got, want)
			}
		}
	}
}

// readCounter counts the events a replay re-reads from disk.
type readCounter struct {
	Source
	reads int
}

func (c *readCounter) EventAt(i int) (trace.Event, error) {
	c.reads++
	return c.Source.(RandomAccess).EventAt(i)
}

func (c *readCounter) Prepare(progress func(done, total int64)) error {
	return c.Source.(Preparer).Prepare(progress)
}

// TestReplaySearchReadsNoEvents: a tensor search over a replay's recorded
// events answers from memory; re-reading thousands of events from disk on
// the UI goroutine would freeze the screen.
func TestReplaySearchReadsNoEvents(t *testing.T) {
	r := defaultRun()
	r.gen = make([]string, 40)
	for i := range r.gen {
		r.gen[i] = "▁x"
	}
	inner, err := NewReplaySource(writeTrace(t, r), nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &readCounter{Source: inner}
	defer src.Close()
	m, err := New(src, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	drive(t, m, runCmd(m.Init())...)
	drive(t, m, keys("G", "g")...)
	if m.h.Len() < 2000 {
		t.Fatalf("only %d events", m.h.Len())
	}
	for _, q := range []string{"blk.4.ffn_out", "no_such_tensor", "logits"} {
		before := src.reads
		drive(t, m, keys("/")...)
		m.Update(typed(q)[0])
		for _, msg := range typed(q)[1:] {
			drive(t, m, msg)
		}
		if n := src.reads - before; n > 0 {
			t.Errorf("/%s re-read %d events from disk", q, n)
		}
	}
	if !strings.Contains(m.message, "/logits: event") {
		t.Errorf("last search: %q", m.message)
	}
}
