package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/trace"
)

// TestSplitSummariesMatchSerial: the summaries flushSums deals to the
// pool's workers (every flush split, at 2 and 3 threads) equal those
// computed serially on the engine goroutine, event for event, and the
// top-k ranked on a worker is the serial one; with KERNEL_LAUNCH (a flush
// before every launch), verbose values and an injected NaN too.
func TestSplitSummariesMatchSerial(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	defer func(v int) { flushMin = v }(flushMin)
	for _, tc := range []struct {
		name    string
		cfg     trace.Config
		threads int
		inject  string
	}{
		{"all states t2", trace.Config{Steps: trace.AllSteps, TopK: 5}, 2, ""},
		{"kernels verbose t3", trace.Config{Steps: trace.AllSteps.With(trace.KernelLaunch), TopK: 5, Verbose: true}, 3, ""},
		{"blocks only", trace.Config{Steps: trace.Steps(0).With(trace.TransformerBlock).With(trace.LMHead)}, 2, ""},
		{"nan continued", trace.Config{Steps: trace.AllSteps, OnError: trace.Continue}, 2, "nan@blk.1.ffn_up:iteration=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(min int) []string {
				flushMin = min
				cfg := tc.cfg
				opts := Options{MaxTokens: 4, Threads: tc.threads, Trace: &cfg}
				if tc.inject != "" {
					in, err := trace.ParseInjection(tc.inject)
					if err != nil {
						t.Fatal(err)
					}
					opts.Injections = []trace.Injection{in}
				}
				evs, _ := collect(t, m, "Once upon a time", opts)
				var out []string
				for _, ev := range evs {
					out = append(out, describe(ev))
				}
				return out
			}
			split, serial := run(0), run(1<<30)
			if len(split) != len(serial) {
				t.Fatalf("%d events split, %d serial", len(split), len(serial))
			}
			summaries := 0
			for i := range split {
				if split[i] != serial[i] {
					t.Fatalf("event %d differs:\nsplit  %s\nserial %s", i, split[i], serial[i])
				}
				summaries += strings.Count(split[i], "N:")
			}
			if summaries == 0 {
				t.Fatal("no summaries recorded")
			}
		})
	}
}

// describe is ev's recorded statistics, top-k and issues as text.
func describe(ev trace.Event) string {
	p := ev.Payload
	if p == nil {
		return string(ev.Type)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %d %d", ev.Type, ev.State, p.Iteration, p.Layer)
	if p.Stats != nil {
		fmt.Fprintf(&b, " stats %+v", *p.Stats)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Tensors)) {
		fmt.Fprintf(&b, " %s %+v", k, *p.Tensors[k])
	}
	for _, k := range slices.Sorted(maps.Keys(p.Values)) {
		fmt.Fprintf(&b, " %s %v", k, p.Values[k])
	}
	fmt.Fprintf(&b, " top %v issues %v", p.TopKLogits, p.Issues)
	return b.String()
}
