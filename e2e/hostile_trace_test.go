package e2e

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileTraceCLI gives broken and hostile JSON traces to validate and
// replay --print: a file that is not trace JSON is bad input (one line,
// exit 2, no panic, bounded memory); a truncated one is a readable but
// invalid trace (validate: violations, exit 1; replay --print: the valid
// prefix and where it was cut, exit 0, so a killed run's trace stays
// usable).
func TestHostileTraceCLI(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if r := runBinary(t, "run", "-n", "2", "--temp", "0", "--trace-output", good); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	g, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	evStart := bytes.Index(g, []byte(`"events":[`)) + len(`"events":[`)
	if evStart < len(`"events":[`) {
		t.Fatal(`no "events":[ in the trace`)
	}
	header := string(g[:evStart]) // everything up to the first event
	noise := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	noise[0] = 0xAE // not a JSON value's first byte

	bad := []struct{ name, doc, want string }{
		{"empty", "", "trace truncated at byte 0"},
		{"not JSON", "hello", "invalid character 'h'"},
		{"binary noise", string(noise), "invalid trace at byte 1"},
		{"a JSON array", "[1,2]", "not an infertrace trace"},
		{"no format", `{"events":[]}`, "not an infertrace trace"},
		{"cut inside the header", header[:len(header)/2], "trace truncated at byte"},
		{"header nested 100000 deep", `{"format":"infertrace/v1","model":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `,"events":[]}`,
			"exceeded max depth"},
		{"event nested 100000 deep", header + strings.Repeat("[", 100000), "exceeded max depth"},
		{"event not an object", header + "7,8]}", "event 1 is not an object"},
		{"id a string", header + `{"id":"one","type":"ExecutionStarted"}]}`, "event 1"},
		{"id 1e400", header + `{"id":1e400,"type":"ExecutionStarted"}]}`, "1e400"},
		{"payload not JSON", header + `{"id":1,"previousEventId":0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"EMBED","input":"not json"}}]}`,
			"event 1 payload"},
		{"payload value beyond float32", header + `{"id":1,"previousEventId":0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"EMBED","input":"{\"values\":{\"x\":[1e39]}}"}}]}`,
			"event 1 payload"},
		{"data after the document", string(g) + "{}", "after the end of the document"},
		{"garbage between events", string(g[:bytes.Index(g, []byte("\n{\"id\":3,"))]) + "@@@" + string(g[bytes.Index(g, []byte("\n{\"id\":3,")):]),
			"invalid character '@'"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".json")
			if err := os.WriteFile(p, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"validate", p}, {"replay", "--print", p}} {
				r := runBinary(t, args...)
				checkOneLine(t, r, 2, "infertrace: "+p+": ", c.want)
			}
		})
	}

	// Cut after the header, at event boundaries and inside events.
	for _, n := range []int{evStart, evStart + 1, len(g) / 3, len(g) / 2, len(g) - 2} {
		p := filepath.Join(dir, "cut.json")
		if err := os.WriteFile(p, g[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		r := runBinary(t, "validate", p)
		checkOneLine(t, r, 1, "infertrace: "+p+": trace is invalid")
		if !strings.Contains(r.stdout, p+": read: trace truncated at byte") {
			t.Errorf("cut at %d: validate does not report the truncation:\n%s", n, r.stdout)
		}
		// replay --print shows the readable prefix, then fails as bad input.
		r = runBinary(t, "replay", "--print", p)
		if !strings.Contains(r.stdout, "── "+p+": trace truncated at byte") {
			t.Errorf("cut at %d: replay --print stdout ends %q", n, tail(r.stdout, 200))
		}
		checkOneLine(t, r, 2, "infertrace: "+p+": trace truncated at byte")
		if r.maxRSS > maxHostileRSS {
			t.Errorf("cut at %d: peak RSS %d MB", n, r.maxRSS>>20)
		}
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string { return s[max(0, len(s)-n):] }
