package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/infertrace/infertrace/stats"
	"pgregory.net/rapid"
)

// referenceMarshal is the straightforward encoding the encoder must match
// byte for byte (Event.MarshalJSON before the encoder): the payload
// marshalled on its own, then escaped as a string.
func referenceMarshal(ev Event) ([]byte, error) {
	var p []byte // the payload, encoded first to size the buffer
	if ev.Payload != nil && (ev.Type == TaskStateEntered || ev.Type == TaskStateExited || ev.Type == ExecutionSucceeded) {
		var err error
		if p, err = ev.Payload.MarshalJSON(); err != nil {
			return nil, fmt.Errorf("event %d payload: %w", ev.ID, err)
		}
	}
	b := make([]byte, 0, 256+len(p)+len(p)/4) // escaping adds a backslash per quote
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, ev.ID, 10)
	b = append(b, `,"previousEventId":`...)
	b = strconv.AppendInt(b, ev.PreviousID, 10)
	b = append(b, `,"timestamp":"`...)
	b = ev.Time.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","type":`...)
	b = appendJSONString(b, string(ev.Type))
	payload := func(b []byte, key string) []byte {
		if p == nil {
			return b
		}
		b = appendMember(b, key)
		return appendJSONString(b, string(p))
	}
	switch ev.Type {
	case ExecutionStarted:
		b = append(b, `,"executionStartedEventDetails":{`...)
		if ev.Run != nil {
			run, merr := json.Marshal(ev.Run)
			if merr != nil {
				return nil, merr
			}
			b = appendMember(b, "input")
			b = appendJSONString(b, string(run))
		}
		b = append(b, '}')
	case TaskStateEntered, TaskStateExited:
		key, field := "stateEnteredEventDetails", "input"
		if ev.Type == TaskStateExited {
			key, field = "stateExitedEventDetails", "output"
		}
		b = appendMember(b, key)
		b = append(b, '{')
		if ev.State != "" {
			b = appendMember(b, "name")
			b = appendJSONString(b, string(ev.State))
		}
		b = payload(b, field)
		b = append(b, '}')
	case ExecutionSucceeded:
		b = append(b, `,"executionSucceededEventDetails":{`...)
		b = payload(b, "output")
		b = append(b, '}')
	case ExecutionFailed, ExecutionAborted:
		key := "executionFailedEventDetails"
		if ev.Type == ExecutionAborted {
			key = "executionAbortedEventDetails"
		}
		b = appendMember(b, key)
		b = append(b, `{"error":`...)
		b = appendJSONString(b, ev.Error)
		b = append(b, `,"cause":`...)
		b = appendJSONString(b, ev.Cause)
		if ev.Hint != "" {
			b = append(b, `,"hint":`...)
			b = appendJSONString(b, ev.Hint)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// checkEncoder encodes evs with one caching encoder (as a JSONWriter does)
// and with a fresh one each (as Event.MarshalJSON does), and holds both to
// referenceMarshal's bytes.
func checkEncoder(t fataler, evs []Event) {
	t.Helper()
	e := encoder{cache: new([summaryCacheSize]cachedSummary)}
	for i, ev := range evs {
		want, werr := referenceMarshal(ev)
		got, err := e.appendEvent(nil, ev)
		one, oerr := ev.MarshalJSON()
		if (err != nil) != (werr != nil) || (oerr != nil) != (werr != nil) {
			t.Fatalf("event %d: errors %v / %v, reference %v", i, err, oerr, werr)
		}
		if !bytes.Equal(got, want) || !bytes.Equal(one, want) {
			t.Fatalf("event %d (%s %s):\n got %s\n one %s\nwant %s", i, ev.Type, ev.State, got, one, want)
		}
	}
}

// TestEncoderMatchesReference: the encoder writes the bytes of the plain
// encoding for the sample run, a block exit, and every payload of the
// property generators (plain ones, those with other members), repeated
// and interleaved so that cached summaries are reused and evicted.
func TestEncoderMatchesReference(t *testing.T) {
	evs := append(sampleRun(), blockExit())
	checkEncoder(t, append(evs, evs...))
	rapid.Check(t, func(rt *rapid.T) {
		var evs []Event
		for i := range rapid.IntRange(1, 12).Draw(rt, "n") {
			p := genPayload().Draw(rt, "payload")
			if rapid.Bool().Draw(rt, "plain") {
				p = Payload{Iteration: p.Iteration, Layer: p.Layer, Parent: p.Parent, Shape: p.Shape, DurationUS: p.DurationUS,
					Stats: p.Stats, Tensors: p.Tensors}
				p.DurationUS = rapid.SampledFrom([]float64{0, 1e-7, 1.5e-7, 3e21, 123.456, math.NaN(), math.Inf(-1), -2.5e-9}).Draw(rt, "dur")
			}
			typ := rapid.SampledFrom([]EventType{TaskStateEntered, TaskStateExited, ExecutionSucceeded}).Draw(rt, "type")
			evs = append(evs, Event{ID: int64(i + 1), PreviousID: int64(i), Time: time.Unix(int64(i), 0), Type: typ, State: FFN, Payload: &p})
			if len(evs) > 1 && rapid.Bool().Draw(rt, "repeat") {
				evs = append(evs, evs[rapid.IntRange(0, len(evs)-1).Draw(rt, "which")])
			}
		}
		checkEncoder(rt, evs)
	})
}

// TestEncoderEscapes: tensor names and strings with characters JSON
// escapes (twice, inside the payload string), and invalid UTF-8, come out
// as the reference writes them.
func TestEncoderEscapes(t *testing.T) {
	s := stats.Compute([]float32{1, -2, 3.5})
	var evs []Event
	for _, name := range []string{`a"b`, `back\slash`, "<tag>&", "line\nbreak\u2028", "\xff\xfe bad", "tab\there", "ctl\x01"} {
		evs = append(evs,
			Event{ID: 1, Type: TaskStateExited, State: Attention, Payload: &Payload{Layer: 2, Tensors: map[string]*stats.Summary{name: &s, "q": &s}, Stats: &s}},
			Event{ID: 2, Type: TaskStateExited, State: Decode, Payload: &Payload{Layer: NoLayer, Piece: name, TextAdded: name}},
			Event{ID: 3, Type: ExecutionFailed, Error: name, Cause: name, Hint: name})
	}
	checkEncoder(t, evs)
}

// TestAppendJSONFloat: durations are written as encoding/json writes a
// float64.
func TestAppendJSONFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 123.456, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 1.2345e22, -3e-9,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1234567.125, 5e-324} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("%v: %s, encoding/json %s", f, got, want)
		}
	}
}

// TestJSONWriterAllocs: once its buffers have grown, writing a block's
// exit allocates nothing.
func TestJSONWriterAllocs(t *testing.T) {
	w, err := NewJSONWriter(io.Discard, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	ev := blockExit()
	ev.ID = 0
	w.Write(ev)
	if n := testing.AllocsPerRun(50, func() {
		ev.ID = 0
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("JSONWriter.Write(block exit): %v allocations", n)
	}
}

// fataler is what checkEncoder needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// TestEncoderCacheCollisions: many distinct summaries of one length (more
// than the cache holds, so slots are shared and overwritten), each written
// a few times, some differing only in the histogram or a count.
func TestEncoderCacheCollisions(t *testing.T) {
	var evs []Event
	xs := make([]float32, 16)
	for i := range 300 {
		for j := range xs {
			xs[j] = float32((i*7+j*13)%29) - 14
		}
		s := stats.Compute(xs)
		twin := s
		twin.Hist[0]++ // same hash, other bytes
		twin.Zero++
		p := &Payload{Layer: i % 12, Stats: &s, Tensors: map[string]*stats.Summary{"a": &s, "b": &twin}}
		evs = append(evs, Event{ID: int64(i + 1), Type: TaskStateExited, State: FFN, Payload: p})
		if i%3 == 0 {
			evs = append(evs, Event{ID: int64(i + 1), Type: TaskStateEntered, State: LayerNorm, Payload: &Payload{Layer: i % 12, Stats: &twin}})
		}
	}
	checkEncoder(t, evs)
}

// TestAppendTimestamp: event times are written as time's layout writes
// them, in and outside the years the hand-written path takes.
func TestAppendTimestamp(t *testing.T) {
	zone := time.FixedZone("x", -7*3600-30*60)
	for _, tm := range []time.Time{time.Date(2026, 11, 25, 23, 59, 59, 999999999, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1e6, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 67e6, zone), {}, time.Unix(1764000000, 123456789)} {
		if got, want := string(appendTimestamp(nil, tm)), tm.UTC().Format(timeLayout); got != want {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
}

// TestEncoderNonFinite: payloads whose scalars encoding/json cannot write
// (NaN, ±Inf durations, probabilities, sampler settings, profile rates)
// and profiles with nil slices come out as the reference writes them.
func TestEncoderNonFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	id := 3
	prof := &Profile{WallNS: 5, Coverage: nan, Total: &Profile{Bricks: []BrickStat{{Name: "RmsNorm", GFLOPS: inf, GBps: 2}},
		Categories: []CategoryStat{{Name: "Norm", Share: -inf}}}}
	var evs []Event
	for _, p := range []Payload{
		{Layer: NoLayer, DurationUS: nan, SampledProb: inf, SampledID: &id, Sampler: &SamplerConfig{Temperature: nan, TopP: 0.9, MinP: inf, RepeatPenalty: 1}},
		{Layer: NoLayer, Kernel: &KernelInfo{Name: "k", DurationUS: -inf}},
		{Layer: NoLayer, Profile: prof},
		{Layer: NoLayer, Profile: &Profile{WallNS: 1}},
		{Layer: NoLayer, Profile: &Profile{WallNS: 1, Coverage: nan}},
		{Layer: 1, DurationUS: 1e-9, Values: map[string][]float32{"q": {1, float32(nan), 2.5}, "<k>": nil}, TopKLogits: []TokenScore{{ID: 1, Score: nan, Piece: "a<b"}}},
	} {
		p := p
		evs = append(evs, Event{ID: 1, Type: TaskStateExited, State: Sample, Payload: &p})
	}
	checkEncoder(t, evs)
}

// TestAppendJSONString: strings are escaped exactly as encoding/json
// escapes them (every ASCII byte, U+2028/9, invalid UTF-8, and random
// strings).
func TestAppendJSONString(t *testing.T) {
	check := func(t fataler, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
		if got := appendEscaped(nil, []byte(s)); string(got) != string(want[1:len(want)-1]) {
			t.Fatalf("appendEscaped(%q) = %s, encoding/json %s", s, got, want)
		}
	}
	for c := range 128 {
		check(t, "a"+string(rune(c))+"b")
	}
	for _, s := range []string{"\u2028\u2029", "\xff", "é\x00\xc3", "日本"} {
		check(t, s)
	}
	rapid.Check(t, func(rt *rapid.T) { check(rt, rapid.String().Draw(rt, "s")) })
}
