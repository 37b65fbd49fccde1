package trace

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>; these adds cover the
// shapes the corpus files do not.

func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"format":"infertrace/v1","events":[],"summary":{"status":"SUCCEEDED"}}`))
	f.Add([]byte(`{"format":"infertrace/v1","events":[{"id":1,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"EMBED","input":"{\"values\":{\"x\":[1,null]}}"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, evs, _, err := ReadAll(bytes.NewReader(data))
		// Whatever was read prints and validates without panicking.
		ts := NewTextSink(io.Discard, Config{Verbose: true}, nil)
		for _, ev := range evs {
			ts.Write(ev)
		}
		ts.Close(Summary{})
		if rd, oerr := OpenReader(bytes.NewReader(data)); oerr == nil {
			Validate(rd)
		}
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		// A readable trace re-encodes into one that reads back with the
		// same number of events.
		var buf bytes.Buffer
		w, werr := NewJSONWriter(&buf, Header{})
		if werr != nil {
			t.Fatal(werr)
		}
		for _, ev := range evs {
			if err := w.Write(ev); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
		}
		w.Close(Summary{})
		_, again, _, err := ReadAll(&buf)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("re-read %d of %d events: %v", len(again), len(evs), err)
		}
	})
}

func FuzzParseSteps(f *testing.F) {
	for _, s := range []string{"", "all", "ln,attn", "KERNEL", "x", "embed,,ffn"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSteps(spec)
		if err != nil {
			return
		}
		if s == 0 {
			t.Fatalf("ParseSteps(%q) selected nothing without an error", spec)
		}
		back, err := ParseSteps(s.String())
		if err != nil || back != s {
			t.Fatalf("ParseSteps(%q) = %v; its String %q parses to %v, %v", spec, s, s.String(), back, err)
		}
	})
}

func FuzzParseInjection(f *testing.F) {
	for _, s := range []string{"nan@blk.3.ffn_out", "scale=1e30@embed:iteration=2:index=5", "-inf@logits", "zero@", "@", "scale=@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		in, err := ParseInjection(spec)
		if err != nil {
			if !strings.Contains(err.Error(), "injection") {
				t.Fatalf("error %q does not say it is about the injection", err)
			}
			return
		}
		if !in.Matches(in.Stage, max(in.Layer, 0), max(in.Iteration, 0)) {
			t.Fatalf("%+v does not match its own stage", in)
		}
		back, err := ParseInjection(in.String())
		if err != nil || back != in {
			t.Fatalf("ParseInjection(%q) = %+v; String %q parses to %+v, %v", spec, in, in.String(), back, err)
		}
		x := []float32{1, 2}
		in.Apply(x)
	})
}

func FuzzIndex(f *testing.F) {
	f.Add([]byte(`{"format":"infertrace/v1","events":[{"id":1,"s":"}\"{"}],"summary":{"status":"SUCCEEDED"}}`))
	f.Add([]byte(`{"format":"infertrace/v1","events":[{},{}`))
	path := filepath.Join(f.TempDir(), "t.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, err := BuildIndex(path, func(done, total int64) {})
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
		if ix == nil {
			return
		}
		defer ix.Close()
		// Every indexed range is one balanced JSON object; reading it
		// decodes it or fails with an error, never a panic.
		for i := range ix.Len() {
			b := data[ix.offsets[i] : ix.offsets[i]+int64(ix.lengths[i])]
			if b[0] != '{' || b[len(b)-1] != '}' {
				t.Fatalf("event %d is %q", i, b)
			}
			ix.ReadEventAt(i)
		}
	})
}
