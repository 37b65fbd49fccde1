package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infertrace/infertrace/stats"
	"pgregory.net/rapid"
)

func testHeader() Header {
	return Header{Format: Format, Version: "test", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Model: ModelInfo{Path: "m.gguf", Name: "stories260K", Architecture: "llama", NumLayers: 5, HiddenDim: 64,
			VocabSize: 512, NumHeads: 8, NumKVHeads: 4, QuantType: "F32", FileSHA256: "ab"},
		Run: RunInfo{Prompt: "Once upon", NPredict: 4, Threads: 2, Steps: AllSteps.Names(), Injections: []string{"nan@embed"}}}
}

func encode(t interface{ Fatalf(string, ...any) }, h Header, evs []Event, s Summary) []byte {
	var buf bytes.Buffer
	w, err := NewJSONWriter(&buf, h)
	if err != nil {
		t.Fatalf("NewJSONWriter: %v", err)
	}
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(s); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		evs := genEvents().Draw(t, "events")
		sum := Summary{Status: StatusSucceeded, ErrorCount: 1, WarningCount: 2, PromptTokens: 3, GeneratedTokens: 4, WallMS: 5}
		doc := encode(t, testHeader(), evs, sum)
		if !json.Valid(doc) {
			t.Fatalf("writer produced invalid JSON:\n%s", doc)
		}
		h, got, gs, err := ReadAll(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		if err := deepEqual(testHeader(), h); err != nil {
			t.Fatalf("header: %v", err)
		}
		if len(got) != len(evs) {
			t.Fatalf("got %d events, want %d", len(got), len(evs))
		}
		for i := range evs {
			if err := deepEqual(evs[i], got[i]); err != nil {
				t.Fatalf("event %d: %v", i+1, err)
			}
		}
		if gs == nil || *gs != sum {
			t.Fatalf("summary %+v, want %+v", gs, sum)
		}

		// Any prefix of the document reads as a prefix of the events and
		// then fails with ErrTruncated; it never panics.
		cut := rapid.IntRange(0, len(doc)-1).Draw(t, "cut")
		// Trailing whitespace is not a truncation.
		if strings.TrimSpace(string(doc[cut:])) == "" {
			return
		}
		_, pre, _, err := ReadAll(bytes.NewReader(doc[:cut]))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: err = %v, want ErrTruncated", cut, len(doc), err)
		}
		if len(pre) > len(evs) {
			t.Fatalf("cut at %d: %d events from a %d-event trace", cut, len(pre), len(evs))
		}
		for i := range pre {
			if err := deepEqual(evs[i], pre[i]); err != nil {
				t.Fatalf("cut at %d: event %d: %v", cut, i+1, err)
			}
		}
		// Every event that ends before the cut is returned.
		complete := 0
		for i := range evs {
			b, _ := json.Marshal(evs[i])
			end := bytes.Index(doc, b) + len(b)
			if end <= cut {
				complete = i + 1
			}
		}
		if len(pre) != complete {
			t.Fatalf("cut at %d: got %d events, %d were complete", cut, len(pre), complete)
		}
	})
}

func TestNoNonFiniteNumbers(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	s := stats.Compute([]float32{nan, inf})
	p := &Payload{Layer: NoLayer, Stats: &s, Values: map[string][]float32{"x": {1, nan, inf, -inf}},
		TopKLogits: []TokenScore{{1, math.Inf(-1), "a"}}, SampledProb: math.NaN(), DurationUS: math.Inf(1),
		Profile: &Profile{Coverage: math.NaN(), Bricks: []BrickStat{{Name: "RmsNorm", GFLOPS: math.Inf(1)}}}}
	doc := encode(t, testHeader(), []Event{{Type: TaskStateExited, State: Embed, Payload: p}}, Summary{Status: StatusSucceeded})
	if !json.Valid(doc) {
		t.Fatalf("invalid JSON:\n%s", doc)
	}
	for _, bad := range []string{"NaN", "Inf"} {
		// Only the summary key names "nan"/"inf" may appear, lower-case.
		if bytes.Contains(doc, []byte(bad)) {
			t.Errorf("document contains %q:\n%s", bad, doc)
		}
	}
	_, evs, _, err := ReadAll(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	v := evs[0].Payload.Values["x"]
	if v[0] != 1 || !math.IsNaN(float64(v[1])) || !math.IsNaN(float64(v[2])) {
		t.Errorf("values read back as %v, want [1 NaN NaN NaN]", v)
	}
	if !math.IsNaN(evs[0].Payload.TopKLogits[0].Score) {
		t.Errorf("-Inf score read back as %v, want NaN (null)", evs[0].Payload.TopKLogits[0].Score)
	}
}

func TestWriterAssignsIDsAndAbortIsIdempotent(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewJSONWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{{Type: ExecutionStarted}, {Type: TaskStateEntered, State: Tokenize, Payload: &Payload{Layer: NoLayer}}} {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 2)
	go func() { done <- w.Abort("interrupt") }()
	go func() { done <- w.Abort("interrupt") }()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(Summary{Status: StatusSucceeded}); err != nil {
		t.Fatalf("Close after Abort: %v", err)
	}
	if err := w.Write(Event{Type: TaskStateExited}); err == nil {
		t.Error("Write after close succeeded")
	}
	h, evs, sum, err := ReadAll(&buf)
	if err != nil {
		t.Fatalf("ReadAll: %v\n%s", err, buf.String())
	}
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4 (started, entered, the open state exited, aborted)", len(evs))
	}
	if ex := evs[2]; ex.Type != TaskStateExited || ex.State != Tokenize || ex.Payload == nil || ex.Payload.Layer != NoLayer {
		t.Errorf("event 3 %+v, want TOKENIZE exited by the abort", ex)
	}
	var v Validator
	for _, ev := range evs {
		v.Check(ev)
	}
	if vs := v.Finish(); len(vs) > 0 {
		t.Errorf("the aborted document does not validate: %v", vs)
	}
	for i, ev := range evs {
		if ev.ID != int64(i+1) || ev.PreviousID != int64(i) {
			t.Errorf("event %d: id %d prev %d", i, ev.ID, ev.PreviousID)
		}
	}
	if evs[0].Run == nil || evs[0].Run.Prompt != h.Run.Prompt {
		t.Errorf("ExecutionStarted input = %+v, want the header's run info", evs[0].Run)
	}
	if evs[3].Type != ExecutionAborted || evs[3].Cause != "interrupt" {
		t.Errorf("last event %+v, want ExecutionAborted", evs[3])
	}
	if sum == nil || sum.Status != StatusAborted {
		t.Errorf("summary %+v, want ABORTED", sum)
	}
}

func TestTally(t *testing.T) {
	out := stats.Compute([]float32{float32(math.NaN())})
	is := NumericalIssue("embed", Embed, NoLayer, 0, out)
	warn := GarbageOutput("\uFFFD\uFFFD")
	evs := []Event{
		{Type: ExecutionStarted},
		{Type: TaskStateExited, State: Tokenize, Payload: &Payload{TokenIDs: []int{1, 2, 3}}},
		{Type: TaskStateExited, State: Decode, Payload: &Payload{Issues: []Issue{*warn}}},
		{Type: TaskStateExited, State: Decode, Payload: &Payload{}},
		{Type: TaskStateExited, State: Embed, Payload: &Payload{Issues: []Issue{is}}},
		{Type: ExecutionFailed, Error: CodeNaN},
	}
	var tl Tally
	for _, ev := range evs {
		tl.Add(ev)
	}
	got := tl.Summary(1500 * time.Millisecond)
	want := Summary{Status: StatusFailed, ErrorCount: 1, WarningCount: 1, PromptTokens: 3, GeneratedTokens: 2, WallMS: 1500}
	if got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
}

func TestReaderErrors(t *testing.T) {
	good := encode(t, testHeader(), []Event{{Type: ExecutionStarted}}, Summary{Status: StatusSucceeded})
	huge := append([]byte(`{"format":"infertrace/v1","events":[{"id":1,"x":"`), bytes.Repeat([]byte("a"), 1<<16)...)
	tests := []struct {
		name, doc, want string
		truncated       bool
	}{
		{"empty", "", "truncated at byte 0 after 0 events", true},
		{"array", "[1,2]", "not an infertrace trace: the document is not a JSON object", false},
		{"other format", `{"format":"x/v9","events":[]}`, `format is "x/v9"`, false},
		{"no format", `{"events":[]}`, `no "format" member`, false},
		{"garbage", "\x00\x01", "invalid trace at byte", false},
		{"event not object", `{"format":"infertrace/v1","events":[1]}`, "event 1 is not an object", false},
		{"bad payload", `{"format":"infertrace/v1","events":[{"id":1,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"EMBED","input":"{"}}]}`, "event 1 payload", false},
		{"cut", string(good[:len(good)-20]), "truncated at byte", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ReadAll(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if errors.Is(err, ErrTruncated) != tc.truncated {
				t.Errorf("errors.Is(ErrTruncated) = %v, want %v", !tc.truncated, tc.truncated)
			}
		})
	}
	t.Run("event too large", func(t *testing.T) {
		rd, err := openReader(bytes.NewReader(huge), "big.json", 1<<12)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rd.Next()
		if err == nil || !strings.Contains(err.Error(), "big.json: reading an event: a value at byte") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestIndex(t *testing.T) {
	evs := []Event{{Type: ExecutionStarted}}
	for i := range 10 {
		evs = append(evs, Event{Type: TaskStateEntered, State: Embed, Payload: &Payload{Iteration: i, Layer: NoLayer}})
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	w, err := CreateJSONFile(path, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(Summary{}); err != nil {
		t.Fatal(err)
	}
	var calls int
	ix, err := BuildIndex(path, func(done, total int64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Len() != len(evs) || calls == 0 {
		t.Fatalf("Len = %d (want %d), progress calls %d", ix.Len(), len(evs), calls)
	}
	for _, i := range []int{7, 0, 10, 3} {
		ev, err := ix.ReadEventAt(i)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID != int64(i+1) || (i > 0 && ev.Payload.Iteration != i-1) {
			t.Errorf("ReadEventAt(%d) = id %d %+v", i, ev.ID, ev.Payload)
		}
	}
	if _, err := ix.ReadEventAt(11); err == nil {
		t.Error("ReadEventAt past the end succeeded")
	}
	if s, ok := ix.Summary(); !ok || s.Status != StatusAborted {
		t.Errorf("summary %+v %v: a run without a final event is ABORTED", s, ok)
	}

	// A truncated file indexes its complete events and reports the cut.
	data, _ := os.ReadFile(path)
	cutPath := filepath.Join(dir, "cut.json")
	os.WriteFile(cutPath, data[:len(data)/2], 0o644)
	ix2, err := BuildIndex(cutPath, nil)
	if !errors.Is(err, ErrTruncated) || ix2 == nil || ix2.Len() == 0 {
		t.Fatalf("BuildIndex(cut) = %v, %v", ix2, err)
	}
	defer ix2.Close()
	if _, err := ix2.ReadEventAt(ix2.Len() - 1); err != nil {
		t.Errorf("last complete event: %v", err)
	}
}

// TestIndexMatchesReaderProperty checks the structural index against the
// decoding reader on random traces, compact and indented, whole and cut.
func TestIndexMatchesReaderProperty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	rapid.Check(t, func(t *rapid.T) {
		evs := genEvents().Draw(t, "events")
		doc := encode(t, testHeader(), evs, Summary{Status: StatusFailed, ErrorCount: 2})
		if rapid.Bool().Draw(t, "indent") {
			var ind bytes.Buffer
			if err := json.Indent(&ind, doc, "", "\t"); err != nil {
				t.Fatal(err)
			}
			doc = ind.Bytes()
		}
		if rapid.Bool().Draw(t, "cut?") {
			doc = doc[:rapid.IntRange(0, len(doc)).Draw(t, "cut")]
		}
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		// Reference: the decoder's offsets.
		var offs []int64
		var lens []int
		rd, rerr := OpenReader(bytes.NewReader(doc))
		if rerr == nil {
			for {
				raw, off, err := rd.nextRaw()
				if err != nil {
					if err != io.EOF {
						rerr = err
					}
					break
				}
				offs, lens = append(offs, off), append(lens, len(raw))
			}
		}
		ix, ierr := BuildIndex(path, nil)
		if (rerr == nil) != (ierr == nil) || errors.Is(rerr, ErrTruncated) != errors.Is(ierr, ErrTruncated) {
			t.Fatalf("reader error %v, index error %v", rerr, ierr)
		}
		if ix == nil {
			return
		}
		defer ix.Close()
		if ix.Len() != len(offs) {
			t.Fatalf("index has %d events, reader %d (errors %v / %v)", ix.Len(), len(offs), ierr, rerr)
		}
		for i := range offs {
			if ix.offsets[i] != offs[i] || int(ix.lengths[i]) != lens[i] {
				t.Fatalf("event %d at %d+%d, reader %d+%d", i, ix.offsets[i], ix.lengths[i], offs[i], lens[i])
			}
			ev, err := ix.ReadEventAt(i)
			if err != nil {
				t.Fatal(err)
			}
			if err := deepEqual(evs[i], ev); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
		if rerr == nil {
			rs, rok := rd.Summary()
			is, iok := ix.Summary()
			if rok != iok || rs != is {
				t.Fatalf("summary %+v %v, reader %+v %v", is, iok, rs, rok)
			}
		}
	})
}

func TestNullSummary(t *testing.T) {
	doc := `{"format":"infertrace/v1","events":[],"summary":null}`
	rd, err := OpenReader(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want EOF", err)
	}
	if s, ok := rd.Summary(); ok {
		t.Errorf("null summary read as %+v", s)
	}
}

// TestAppendJSONStringProperty: the hand-written string escaping reads back
// as encoding/json's own encoding does, for any bytes (control characters,
// quotes, HTML characters, U+2028, invalid UTF-8).
func TestAppendJSONStringProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringOf(rapid.SampledFrom([]rune{'"', '\\', '<', '&', '\n', '\x00', '\x1f', '\u2028', '\u2029', 'é', 'a'})),
			rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) })).Draw(t, "s")
		got := appendJSONString([]byte("x"), s)[1:]
		if !json.Valid(got) {
			t.Fatalf("%q encodes as invalid JSON %s", s, got)
		}
		want, _ := json.Marshal(s)
		var g, w string
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if g != w {
			t.Fatalf("%q reads back as %q, encoding/json's as %q", s, g, w)
		}
	})
}

// TestNullTensorReadsAsEmpty: a null entry of "tensors" reads back as a
// summary of no finite values (NaN floats), never as a nil pointer that a
// consumer would dereference.
func TestNullTensorReadsAsEmpty(t *testing.T) {
	var p Payload
	if err := json.Unmarshal([]byte(`{"iteration":0,"layer":-1,"parent":0,"tensors":{"x":null,"y":{"n":2,"min":1,"max":2,"mean":1.5,"std":0.5,"l2":2.23606797749979,"absmax":2,"nan":0,"inf":0,"zero":0}}}`), &p); err != nil {
		t.Fatal(err)
	}
	x, y := p.Tensors["x"], p.Tensors["y"]
	if x == nil || y == nil {
		t.Fatalf("tensors %v", p.Tensors)
	}
	if x.N != 0 || !math.IsNaN(x.Min) || !math.IsNaN(x.AbsMax) {
		t.Errorf("null read as %+v, want no values and NaN floats", *x)
	}
	if y.N != 2 || y.Max != 2 {
		t.Errorf("y read as %+v", *y)
	}
}
