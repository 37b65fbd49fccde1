package trace

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infertrace/infertrace/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// runBuilder assembles a well-formed history with parents filled in.
type runBuilder struct {
	evs  []Event
	open []int64
	t    time.Time
}

func (rb *runBuilder) add(ev Event) int64 {
	ev.ID, ev.PreviousID = int64(len(rb.evs)+1), int64(len(rb.evs))
	rb.t = rb.t.Add(time.Millisecond)
	ev.Time = rb.t
	rb.evs = append(rb.evs, ev)
	return ev.ID
}

func (rb *runBuilder) enter(st State, p Payload) {
	if len(rb.open) > 0 {
		p.Parent = rb.open[len(rb.open)-1]
	}
	rb.open = append(rb.open, rb.add(Event{Type: TaskStateEntered, State: st, Payload: &p}))
}

func (rb *runBuilder) exit(st State, p Payload) {
	rb.open = rb.open[:len(rb.open)-1]
	if len(rb.open) > 0 {
		p.Parent = rb.open[len(rb.open)-1]
	}
	rb.add(Event{Type: TaskStateExited, State: st, Payload: &p})
}

func sum(xs ...float32) *stats.Summary { s := stats.Compute(xs); return &s }
func ptr[T any](v T) *T                { return &v }

// sampleRun is one generated token through a one-layer model, with a kernel
// launch, a brick profile, an injected NaN (continued past) and a garbage
// warning.
func sampleRun() []Event {
	rb := &runBuilder{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	rb.add(Event{Type: ExecutionStarted, Run: &RunInfo{Prompt: "Once upon", NPredict: 1, Threads: 2,
		Sampler: SamplerConfig{Temperature: 0, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, Seed: 42},
		Steps:   append(AllSteps.Names(), string(KernelLaunch)), Injections: []string{"nan@blk.0.ffn_out:index=3"}}})
	rb.enter(Tokenize, Payload{Layer: NoLayer, Text: "Once upon"})
	rb.exit(Tokenize, Payload{Layer: NoLayer, TokenIDs: []int{1, 403, 407}, Pieces: []string{"<s>", "▁Once", "▁upon"}, DurationUS: 41.5})
	rb.enter(Embed, Payload{Layer: NoLayer, Shape: []int{3}})
	rb.exit(Embed, Payload{Layer: NoLayer, Shape: []int{3, 64}, DurationUS: 3.2,
		Tensors: map[string]*stats.Summary{"embed": sum(0.5, -0.25, 0, 1)},
		Values:  map[string][]float32{"embed": {0.5, -0.25, 0, 1, 2, 3, 4, 5, 6, 7}}})
	rb.enter(TransformerBlock, Payload{Layer: 0, Stats: sum(0.5, -0.25, 0, 1)})
	rb.enter(LayerNorm, Payload{Layer: 0})
	rb.exit(LayerNorm, Payload{Layer: 0, Shape: []int{3, 64}, DurationUS: 1.5, Tensors: map[string]*stats.Summary{"attn_norm": sum(1, -1, 2)}})
	rb.enter(Attention, Payload{Layer: 0})
	rb.enter(KernelLaunch, Payload{Layer: 0})
	rb.exit(KernelLaunch, Payload{Layer: 0, Kernel: &KernelInfo{Name: "matvec_f32_avx2", Weight: "blk.0.attn_q.weight",
		Rows: 64, Cols: 64, Batch: 3, Workers: 2, RowsPerWorker: 32, Strategy: "rows", DurationUS: 2, FLOPs: 24576, BytesRead: 16384}})
	rb.exit(Attention, Payload{Layer: 0, DurationUS: 20.25, Tensors: map[string]*stats.Summary{
		"q_rope": sum(0.1, 0.2), "k_rope": sum(0.3), "v": sum(-0.5, 0.5), "attn_heads": sum(0.25), "attn_out": sum(1, 2)}})
	rb.enter(LayerNorm, Payload{Layer: 0})
	rb.exit(LayerNorm, Payload{Layer: 0, DurationUS: 1.25, Tensors: map[string]*stats.Summary{"ffn_norm": sum(1, 2, 3)}})
	nanOut := stats.Compute([]float32{1, float32(math.NaN()), 2, 3})
	rb.enter(FFN, Payload{Layer: 0})
	rb.exit(FFN, Payload{Layer: 0, DurationUS: 30, Tensors: map[string]*stats.Summary{"ffn_out": &nanOut},
		Issues: []Issue{NumericalIssue("blk.0.ffn_out", FFN, 0, 0, nanOut)}})
	rb.exit(TransformerBlock, Payload{Layer: 0, DurationUS: 55.5, Tensors: map[string]*stats.Summary{"layer_out": &nanOut}})
	rb.enter(LMHead, Payload{Layer: NoLayer})
	rb.exit(LMHead, Payload{Layer: NoLayer, DurationUS: 8, Tensors: map[string]*stats.Summary{"output_norm": sum(1, 2), "logits": sum(9.5, 7.25, -3)},
		TopKLogits: []TokenScore{{403, 9.5, "▁Once"}, {13, 7.25, "\n"}, {2, -3, "</s>"}}})
	rb.enter(Sample, Payload{Layer: NoLayer})
	rb.exit(Sample, Payload{Layer: NoLayer, Sampler: &SamplerConfig{Temperature: 0, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, Seed: 42},
		TopKProbs: []TokenScore{{403, 0.9047, "▁Once"}, {13, 0.0953, "\n"}}, SampledID: ptr(403), SampledProb: 0.9047, SampledRank: 1})
	rb.enter(Decode, Payload{Layer: NoLayer})
	rb.exit(Decode, Payload{Layer: NoLayer, TokenID: ptr(403), Piece: "▁Once", TextAdded: " Once",
		Issues: []Issue{*GarbageOutput("\uFFFD\uFFFD\uFFFD x")}})
	pr := NewProfiler()
	pr.Start(0)
	pr.Add(RmsNorm, 2000, 400, 800)
	pr.Add(QkvProjection, 8000, 24576, 16384)
	pr.Add(DownProjection, 12000, 32768, 32768)
	prof := pr.Finish(25000)
	rb.enter(BrickProfile, Payload{Layer: NoLayer})
	rb.exit(BrickProfile, Payload{Layer: NoLayer, Profile: &prof})
	rb.add(Event{Type: ExecutionSucceeded})
	return rb.evs
}

func TestTextGolden(t *testing.T) {
	evs := sampleRun()
	for _, tc := range []struct {
		name    string
		verbose bool
		steps   string
	}{
		{"run", false, "all,kernel"},
		{"run_verbose", true, "all,kernel"},
		{"run_ffn_only", false, "ffn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := ParseSteps(tc.steps)
			if err != nil {
				t.Fatal(err)
			}
			var live bytes.Buffer
			ts := NewTextSink(&live, Config{Steps: steps, Verbose: tc.verbose}, nil)
			var tl Tally
			for _, ev := range evs {
				tl.Add(ev)
				if err := ts.Write(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := ts.Close(tl.Summary(62 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, live.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if live.String() != string(want) {
				t.Errorf("text differs from %s (run with -update after checking):\n%s", golden, live.String())
			}
		})
	}
}

// TestPrintTextMatchesLive checks that replay --print writes exactly what
// the live text sink wrote, through a real trace file.
func TestPrintTextMatchesLive(t *testing.T) {
	evs := sampleRun()
	h := testHeader()
	h.Run = *evs[0].Run
	path := filepath.Join(t.TempDir(), "run.json")
	jw, err := CreateJSONFile(path, h)
	if err != nil {
		t.Fatal(err)
	}
	var live bytes.Buffer
	cfg := ConfigFromHeader(h)
	cfg.TopK = 0
	sink := Tee(jw, NewTextSink(&live, cfg, nil))
	for _, ev := range evs {
		if err := sink.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(Summary{Status: StatusSucceeded, ErrorCount: 1, WarningCount: 1, PromptTokens: 3, GeneratedTokens: 1, WallMS: 62}); err != nil {
		t.Fatal(err)
	}
	var replay bytes.Buffer
	if err := PrintText(path, &replay); err != nil {
		t.Fatal(err)
	}
	if replay.String() != live.String() {
		t.Fatalf("replay text differs from live text\nlive:\n%s\nreplay:\n%s", live.String(), replay.String())
	}
	for _, want := range []string{"NaN produced by blk.0.ffn_out (FFN, layer 0, iteration 0): 1 of 4 values; inputs finite",
		"hint: check blk.0.ffn_down.weight", "id 403", "'▁Once'", "logit 9.5", "prob 0.9047", "GarbageOutput"} {
		if !strings.Contains(live.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}

	// A truncated trace prints its prefix and says where it was cut.
	data, _ := os.ReadFile(path)
	cut := filepath.Join(t.TempDir(), "cut.json")
	i := bytes.Index(data, []byte(`{"id":12,`))
	os.WriteFile(cut, data[:i+30], 0o644)
	var partial bytes.Buffer
	if err := PrintText(cut, &partial); !errors.Is(err, ErrTruncated) {
		t.Fatalf("PrintText(truncated) = %v, want ErrTruncated", err)
	}
	lines := strings.Split(strings.TrimSpace(partial.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "trace truncated at byte") || !strings.Contains(last, "after 11 events") {
		t.Errorf("last line %q does not say where the trace was cut", last)
	}
	if !strings.HasPrefix(live.String(), strings.Join(lines[:len(lines)-1], "\n")) {
		t.Errorf("truncated replay is not a prefix of the live text:\n%s", partial.String())
	}

	// Not a trace: an error wrapping ErrNotTrace.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("[]"), 0o644)
	if err := PrintText(bad, &partial); !errors.Is(err, ErrNotTrace) || !strings.Contains(err.Error(), bad) {
		t.Errorf("PrintText(not a trace) = %v", err)
	}
}

func TestTextFailureInsideState(t *testing.T) {
	rb := &runBuilder{}
	rb.add(Event{Type: ExecutionStarted})
	rb.enter(TransformerBlock, Payload{Layer: 2})
	rb.enter(FFN, Payload{Layer: 2, Iteration: 1, Shape: []int{1, 64}})
	out := stats.Compute([]float32{float32(math.Inf(1)), 1})
	is := NumericalIssue("blk.2.ffn_out", FFN, 2, 1, out)
	rb.add(Event{Type: ExecutionFailed, Error: is.Code, Cause: is.Message, Hint: is.Hint})
	var b bytes.Buffer
	ts := NewTextSink(&b, Config{}, nil)
	var tl Tally
	for _, ev := range rb.evs {
		tl.Add(ev)
		ts.Write(ev)
	}
	ts.SetColor(true)
	ts.Close(tl.Summary(0))
	want := "▶ ExecutionStarted\n" +
		"┌ [3] TRANSFORMER_BLOCK  layer 2  iter 0\n" +
		"  [3] FFN  layer 2  iter 1  shape [1 64]  (not exited)\n" +
		"✗ ExecutionFailed NumericalError.Inf: Inf produced by blk.2.ffn_out (FFN, layer 2, iteration 1): 1 of 2 values; inputs finite\n" +
		"  hint: check blk.2.ffn_down.weight for non-finite values (inspect --stats) and the activation range of ffn_act\n" +
		ansiRed + "── FAILED: 0 prompt + 0 generated tokens, 1 errors, 0 warnings, 0 ms" + ansiReset + "\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestTextHiddenChildKeepsLeaf(t *testing.T) {
	rb := &runBuilder{}
	rb.add(Event{Type: ExecutionStarted})
	rb.enter(FFN, Payload{Layer: 0})
	rb.enter(KernelLaunch, Payload{Layer: 0})
	rb.exit(KernelLaunch, Payload{Layer: 0, Kernel: &KernelInfo{Name: "k"}})
	rb.exit(FFN, Payload{Layer: 0, DurationUS: 2, Tensors: map[string]*stats.Summary{"ffn_out": sum(1)}})
	rb.add(Event{Type: ExecutionSucceeded})
	var b bytes.Buffer
	ts := NewTextSink(&b, Config{Steps: AllSteps}, nil) // AllSteps leaves KERNEL_LAUNCH out
	for _, ev := range rb.evs {
		ts.Write(ev)
	}
	want := "▶ ExecutionStarted\n" +
		"[3] FFN  layer 0  iter 0  2.0µs\n" +
		"  " + statsLine("ffn_out", *sum(1)) + "\n" +
		"✓ ExecutionSucceeded\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
