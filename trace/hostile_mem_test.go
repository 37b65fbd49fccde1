package trace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hostileTrace is a broken or adversarial trace document with a fragment
// of the one-line error the streaming reader must give ("" for documents
// that read without error: they are hostile only in size or shape) and
// its number of events (0 counts as 1).
type hostileTrace struct {
	name, doc, err string
	events         int
}

// hostileTraces lists the documents of TestHostileTraceMemory.
func hostileTraces() []hostileTrace {
	const h = `{"format":"infertrace/v1","events":[`
	entered := func(i int, input string) string {
		return fmt.Sprintf(`{"id":%d,"previousEventId":%d,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"EMBED","input":%q}}`, i, i-1, input)
	}
	var nested strings.Builder // 5000 open states: the validator's stack
	nested.WriteString(h + `{"id":1,"previousEventId":0,"type":"ExecutionStarted"}`)
	for i := 2; i <= 5000; i++ {
		nested.WriteString("," + entered(i, `{"layer":-1}`))
	}
	nested.WriteString("]}")
	var tiny strings.Builder // 20000 empty events: the index's per-event cost
	tiny.WriteString(h)
	for i := range 20000 {
		if i > 0 {
			tiny.WriteByte(',')
		}
		tiny.WriteString("{}")
	}
	tiny.WriteString(`],"summary":{"status":"SUCCEEDED"}}`)
	return []hostileTrace{
		{"empty", "", "trace truncated at byte 0", 1},
		{"not JSON", "hello", "invalid character 'h'", 1},
		{"array", "[1,2]", "not an infertrace trace", 1},
		{"header 100000 deep", `{"format":"infertrace/v1","model":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `,"events":[]}`, "exceeded max depth", 1},
		{"event 100000 deep", h + strings.Repeat("[", 100000), "exceeded max depth", 1},
		{"events array 100000 deep in an event", h + `{"id":1,"x":` + strings.Repeat("[", 100000), "exceeded max depth", 1},
		{"event not an object", h + "7,8]}", "event 1 is not an object", 1},
		{"id a string", h + `{"id":"one","type":"ExecutionStarted"}]}`, "event 1", 1},
		{"payload not JSON", h + entered(1, "not json") + "]}", "event 1 payload", 1},
		{"payload nested 100000 deep", h + entered(1, strings.Repeat("[", 100000)) + "]}", "event 1 payload", 1},
		{"value beyond float32", h + entered(1, `{"values":{"x":[1e39]}}`) + "]}", "event 1 payload", 1},
		{"1 MB string", h + entered(1, `{"text":"`+strings.Repeat("a", 1<<20)+`"}`) + "]}", "", 1},
		{"shape of 50000 dims", h + entered(1, `{"shape":[`+strings.Repeat("1,", 50000)+`1]}`) + "]}", "", 1},
		{"unterminated 1 MB string", h + `{"id":1,"type":"` + strings.Repeat("a", 1<<20), "trace truncated", 1},
		{"data after the document", `{"format":"infertrace/v1","events":[],"summary":{"status":"SUCCEEDED"}}garbage`, "after the end of the document", 1},
		{"a second document", `{"format":"infertrace/v1","events":[]} {"format":"infertrace/v1","events":[]}`, "after the end of the document", 1},
		{"data after a document without events", `{"format":"infertrace/v1"}[]`, "after the end of the document", 1},
		{"white space after the document", "{\"format\":\"infertrace/v1\",\"events\":[]}\n\t \n", "", 1},
		{"5000 open states", nested.String(), "", 5000},
		{"20000 empty events", tiny.String(), "", 20000},
	}
}

// TestHostileTraceMemory reads each hostile trace through every entry
// point (ReadAll, Validate, BuildIndex + ReadEventAt, PrintText) and
// bounds what each allocates by a multiple of the document's size: no
// count, depth or length in a trace can make a reader allocate more than
// the file could describe. Errors are one line naming the file.
func TestHostileTraceMemory(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileTraces() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "hostile.json")
			if err := os.WriteFile(path, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			// Decoding a trace event costs several times its bytes (the
			// decoder's buffer, the wire form) plus a fixed amount however
			// small it is (its Event and Payload, the index entry); 2 MB
			// covers the fixed costs (buffers, the text sink).
			limit := 48*uint64(len(c.doc)) + 1024*uint64(max(c.events, 1)) + 2<<20
			check := func(what string, err error, alloc uint64) {
				t.Helper()
				if alloc > limit {
					t.Errorf("%s: %d bytes allocated for a %d-byte trace (limit %d)", what, alloc, len(c.doc), limit)
				}
				if err == nil {
					return
				}
				if msg := err.Error(); strings.Contains(msg, "\n") || (c.err != "" && !strings.Contains(msg, c.err)) {
					t.Errorf("%s: error %q, want one line containing %q", what, msg, c.err)
				}
			}

			var err error
			check("ReadAll", err, bytesAllocatedBy(func() { _, _, _, err = ReadAll(strings.NewReader(c.doc)) }))
			if c.err != "" && err == nil {
				t.Errorf("ReadAll: no error, want one containing %q", c.err)
			}

			var vs []Violation
			check("Validate", err, bytesAllocatedBy(func() {
				var rd *Reader
				if rd, err = OpenFile(path); err == nil {
					vs = Validate(rd)
					rd.Close()
				}
			}))
			if err == nil && c.err != "" && !hasViolation(vs, "read", c.err) {
				t.Errorf("Validate: violations %v, want a read violation containing %q", vs, c.err)
			}

			check("BuildIndex", nil, bytesAllocatedBy(func() {
				var ix *Index
				ix, err = BuildIndex(path, nil)
				if ix == nil {
					return
				}
				for i := range ix.Len() {
					if _, rerr := ix.ReadEventAt(i); rerr != nil && err == nil {
						err = rerr
					}
				}
				ix.Close()
			}))
			// The index scans structure only; its messages differ.
			if c.err != "" && err == nil {
				t.Error("BuildIndex + ReadEventAt: no error")
			}
			if err != nil && !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("BuildIndex + ReadEventAt: error %q does not name the file", err)
			}

			check("PrintText", nil, bytesAllocatedBy(func() { err = PrintText(path, io.Discard) }))
			if err != nil && (!strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n")) {
				t.Errorf("PrintText: error %q, want one line naming the file", err)
			}
		})
	}
}

func hasViolation(vs []Violation, rule, fragment string) bool {
	for _, v := range vs {
		if v.Rule == rule && strings.Contains(v.Message, fragment) {
			return true
		}
	}
	return false
}

// bytesAllocatedBy returns the bytes fn allocates (cumulative, so a buffer freed
// before the end still counts).
func bytesAllocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
