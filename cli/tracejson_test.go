package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/internal/refdata"
)

// The trace document is checked here as plain JSON, member by member, as
// a consumer that never saw this code would read it (not through the
// trace package's own reader).

// msTime is RFC 3339 in UTC with milliseconds.
var msTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

type jobj = map[string]any

// members fails unless o has every key of keys.
func members(t *testing.T, what string, o jobj, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := o[k]; !ok {
			t.Errorf("%s lacks %q: %v", what, k, o)
		}
	}
}

// runStories runs `infertrace run` on stories260K with args and returns
// stdout, stderr and the exit code.
func runStories(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	model := refdata.Path(t, "stories260K", "stories260K.gguf")
	var stdout, stderr bytes.Buffer
	code := Execute(append([]string{"run", "-m", model, "-p", "Once upon a time"}, args...), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// tracedEvent is one event of the document with its payload decoded.
type tracedEvent struct {
	ev      jobj
	typ     string
	state   string
	payload jobj
}

// readDoc reads a trace document as plain JSON and checks the shape every
// event shares: id/previousEventId contiguous, millisecond UTC timestamp,
// exactly one details member, input/output a JSON string holding an
// object with iteration, layer and parent.
func readDoc(t *testing.T, path string) (jobj, []tracedEvent) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc jobj
	if err := json.Unmarshal(b, &doc); err != nil { // rejects NaN/Inf literals
		t.Fatalf("%s is not valid JSON: %v", path, err)
	}
	evs, _ := doc["events"].([]any)
	var out []tracedEvent
	for i, raw := range evs {
		ev := raw.(jobj)
		id := int64(i + 1)
		if ev["id"] != float64(id) || ev["previousEventId"] != float64(id-1) {
			t.Fatalf("event %d: id %v previousEventId %v", id, ev["id"], ev["previousEventId"])
		}
		if ts, _ := ev["timestamp"].(string); !msTime.MatchString(ts) {
			t.Fatalf("event %d: timestamp %q is not RFC 3339 UTC with milliseconds", id, ev["timestamp"])
		}
		te := tracedEvent{ev: ev, typ: ev["type"].(string)}
		var details []string
		for k := range ev {
			if strings.HasSuffix(k, "EventDetails") {
				details = append(details, k)
			}
		}
		if len(details) != 1 {
			t.Fatalf("event %d (%s): details members %v, want one", id, te.typ, details)
		}
		d := ev[details[0]].(jobj)
		var field string
		switch te.typ {
		case "TaskStateEntered":
			field = "input"
		case "TaskStateExited":
			field = "output"
		case "ExecutionFailed", "ExecutionAborted":
			members(t, fmt.Sprintf("event %d %s", id, details[0]), d, "error", "cause")
		}
		if field != "" {
			te.state, _ = d["name"].(string)
			s, ok := d[field].(string)
			if !ok {
				t.Fatalf("event %d: %s.%s is %T, want a JSON string", id, details[0], field, d[field])
			}
			if err := json.Unmarshal([]byte(s), &te.payload); err != nil {
				t.Fatalf("event %d: %s does not hold a JSON object: %v", id, field, err)
			}
			members(t, fmt.Sprintf("event %d (%s %s) payload", id, te.typ, te.state), te.payload, "iteration", "layer", "parent")
		}
		out = append(out, te)
	}
	return doc, out
}

// TestTraceDocument runs the bar of issue 4 end to end: stories260K,
// "Once upon a time", -n 8 --temp 0 --trace --trace-output t.json. The
// document has every member the issue names; validate passes; every state
// appears the expected number of times; the greedy text equals the
// untraced run's; each stage's statistics at iteration 0, read from the
// file, agree with the independent numpy reference (math.json) within
// 1e-4 relative.
func TestTraceDocument(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	stdout, stderr, code := runStories(t, "-n", "8", "--temp", "0", "--trace", "--trace-output", path)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(stderr))
	}
	plain, _, _ := runStories(t, "-n", "8", "--temp", "0")
	if stdout != plain || !strings.HasPrefix(stdout, "Once upon a time, there was a little girl") {
		t.Errorf("traced text %q, untraced %q", stdout, plain)
	}

	// The text trace on stderr: one block per state with its step number,
	// layers, the top-k, the summary line.
	for _, want := range []string{"▶ ExecutionStarted", "[1] TOKENIZE  iter 0  shape [5]", "[2] EMBED  iter 0  shape [5 64]",
		"┌ [3] TRANSFORMER_BLOCK  layer 0  iter 0", "  [3] LAYER_NORM  layer 0  iter 0", "  [3] ATTENTION  layer 4  iter 7",
		"  [3] FFN  layer 2", "[4] LM_HEAD  iter 0", "top-10 logits", "[5] SAMPLE  iter 7", "→ sampled 432 ','", "[6] DECODE  iter 0",
		"[8] BRICK_PROFILE  iter 7", "coverage", "✓ ExecutionSucceeded", "── SUCCEEDED: 5 prompt + 8 generated tokens, 0 errors, 0 warnings"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("text trace lacks %q", want)
		}
	}
	if strings.Contains(stderr, "KERNEL_LAUNCH") || strings.Contains(stderr, "values ") {
		t.Error("text trace shows KERNEL_LAUNCH or tensor values without being asked")
	}

	var vout, verr bytes.Buffer
	if c := Execute([]string{"validate", path}, &vout, &verr); c != 0 || !strings.Contains(vout.String(), "OK") {
		t.Fatalf("validate exit %d: %s%s", c, vout.String(), verr.String())
	}

	doc, evs := readDoc(t, path)
	members(t, "document", doc, "format", "infertrace_version", "created", "model", "run", "events", "summary")
	if doc["format"] != "infertrace/v1" {
		t.Errorf("format %v", doc["format"])
	}
	if c, _ := doc["created"].(string); !msTime.MatchString(c) {
		t.Errorf("created %q is not RFC 3339 UTC with milliseconds", doc["created"])
	}
	model := doc["model"].(jobj)
	members(t, "model", model, "path", "name", "architecture", "num_layers", "hidden_dim", "vocab_size", "num_heads", "num_kv_heads", "quant_type", "file_sha256")
	file, err := os.ReadFile(refdata.Path(t, "stories260K", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file)
	if model["file_sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("file_sha256 %v, want %x", model["file_sha256"], sum)
	}
	for k, want := range map[string]any{"architecture": "llama", "num_layers": 5.0, "hidden_dim": 64.0, "vocab_size": 512.0, "num_heads": 8.0, "num_kv_heads": 4.0} {
		if model[k] != want {
			t.Errorf("model.%s = %v, want %v", k, model[k], want)
		}
	}
	run := doc["run"].(jobj)
	members(t, "run", run, "prompt", "n_predict", "sampler", "threads", "steps", "injections")
	members(t, "run.sampler", run["sampler"].(jobj), "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed")
	if run["threads"] != float64(runtime.GOMAXPROCS(0)) || run["prompt"] != "Once upon a time" || run["n_predict"] != 8.0 {
		t.Errorf("run %v", run)
	}
	if inj, ok := run["injections"].([]any); !ok || len(inj) != 0 {
		t.Errorf("run.injections %v, want []", run["injections"])
	}
	summary := doc["summary"].(jobj)
	members(t, "summary", summary, "status", "error_count", "warning_count", "prompt_tokens", "generated_tokens", "wall_ms")
	if summary["status"] != "SUCCEEDED" || summary["prompt_tokens"] != 5.0 || summary["generated_tokens"] != 8.0 || summary["error_count"] != 0.0 {
		t.Errorf("summary %v", summary)
	}

	// Counts, payload members per state, nesting, and the iteration-0
	// statistics.
	counts := map[string]int{}
	open := map[float64]string{} // Entered id → state
	got := map[string]jobj{}     // op → stats at iteration 0 (innermost states)
	for _, e := range evs {
		p := e.payload
		switch e.typ {
		case "TaskStateEntered":
			open[e.ev["id"].(float64)] = e.state
			if par := p["parent"].(float64); par != 0 {
				ps := open[par]
				okNest := (e.state == "TRANSFORMER_BLOCK" && ps == "") || ps == "TRANSFORMER_BLOCK"
				if !okNest {
					t.Errorf("event %v: %s nested in %q", e.ev["id"], e.state, ps)
				}
			} else if slices.Contains([]string{"LAYER_NORM", "ATTENTION", "FFN"}, e.state) {
				t.Errorf("event %v: %s at top level, want inside its TRANSFORMER_BLOCK", e.ev["id"], e.state)
			}
			if e.state == "TOKENIZE" && p["text"] != "Once upon a time" {
				t.Errorf("TOKENIZE input text %v", p["text"])
			}
			continue
		case "TaskStateExited":
		default:
			continue
		}
		counts[e.state]++
		what := fmt.Sprintf("%s exit (iteration %v layer %v)", e.state, p["iteration"], p["layer"])
		members(t, what, p, "duration_us")
		switch e.state {
		case "TOKENIZE":
			members(t, what, p, "token_ids", "pieces")
		case "EMBED", "LAYER_NORM", "ATTENTION", "FFN", "TRANSFORMER_BLOCK", "LM_HEAD":
			members(t, what, p, "shape", "stats", "tensors")
			if e.state == "LM_HEAD" {
				members(t, what, p, "top_k_logits")
				top := p["top_k_logits"].([]any)
				if len(top) != 10 {
					t.Errorf("%s: %d top logits, want 10 (--trace-top-k default)", what, len(top))
				}
				for _, x := range top {
					if arr, ok := x.([]any); !ok || len(arr) != 3 {
						t.Fatalf("%s: top_k_logits entry %v, want [id, logit, piece]", what, x)
					}
				}
			}
			if e.state != "TRANSFORMER_BLOCK" && p["iteration"] == 0.0 {
				for name, st := range p["tensors"].(jobj) {
					op := name
					if l := p["layer"].(float64); l >= 0 {
						op = fmt.Sprintf("blk.%d.%s", int(l), name)
					}
					got[op] = st.(jobj)
				}
			}
		case "SAMPLE":
			members(t, what, p, "sampler", "top_k_probs", "sampled_id", "sampled_prob", "sampled_rank")
		case "DECODE":
			members(t, what, p, "token_id", "piece", "text_added")
		case "BRICK_PROFILE":
			members(t, what, p, "profile")
			pr := p["profile"].(jobj)
			members(t, what+" profile", pr, "bricks", "categories", "wall_ns", "measured_ns", "coverage")
			for _, b := range pr["bricks"].([]any) {
				members(t, what+" brick", b.(jobj), "name", "total_ns", "count", "flops", "bytes", "gflops", "gbps")
			}
			var cats []string
			for _, c := range pr["categories"].([]any) {
				cats = append(cats, c.(jobj)["name"].(string))
			}
			if !slices.Equal(cats, []string{"Norm", "Attention", "FFN", "Other"}) {
				t.Errorf("%s: categories %v", what, cats)
			}
			if c := pr["coverage"].(float64); c <= 0 || c > 1 {
				t.Errorf("%s: coverage %v outside (0, 1]", what, c)
			}
		}
	}
	want := map[string]int{"TOKENIZE": 1, "EMBED": 8, "TRANSFORMER_BLOCK": 40, "LAYER_NORM": 80, "ATTENTION": 40, "FFN": 40,
		"LM_HEAD": 8, "SAMPLE": 8, "DECODE": 8, "BRICK_PROFILE": 8, "KERNEL_LAUNCH": 0}
	for st, n := range want {
		if counts[st] != n {
			t.Errorf("%s exited %d times, want %d", st, counts[st], n)
		}
	}

	checkMathStats(t, got)
}

// refStat is one entry of a math.json reference.
type refStat struct {
	Min, Max, Mean, Std, L2, AbsMax float64
	N                               int
}

// checkMathStats compares the iteration-0 statistics read from a trace
// (op → stats object) with stories260K's math.json, per-position entries
// pooled over the prompt.
func checkMathStats(t *testing.T, got map[string]jobj) {
	t.Helper()
	var ref struct {
		Positions []struct {
			Embed      refStat              `json:"embed"`
			Layers     []map[string]refStat `json:"layers"`
			OutputNorm refStat              `json:"output_norm"`
			Logits     refStat              `json:"logits"`
		} `json:"positions"`
	}
	b, err := os.ReadFile(refdata.Path(t, "stories260K", "reference", "once-upon-a-time.math.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	per := map[string][]refStat{}
	for _, p := range ref.Positions {
		per["embed"] = append(per["embed"], p.Embed)
		per["output_norm"] = append(per["output_norm"], p.OutputNorm)
		per["logits"] = append(per["logits"], p.Logits)
		for l, layer := range p.Layers {
			for name, st := range layer {
				op := fmt.Sprintf("blk.%d.%s", l, name)
				per[op] = append(per[op], st)
			}
		}
	}
	if len(got) != len(per) || len(per) != 3+5*13 {
		t.Errorf("the trace has %d stages at iteration 0, math.json %d", len(got), len(per))
	}
	for op, ps := range per {
		// Pool the positions: n-weighted mean, E[x²] for the std, sums of
		// squares for l2.
		var w refStat
		w.Min, w.Max = math.Inf(1), math.Inf(-1)
		var s1, s2, l2 float64
		for _, p := range ps {
			w.N += p.N
			s1 += p.Mean * float64(p.N)
			s2 += (p.Std*p.Std + p.Mean*p.Mean) * float64(p.N)
			l2 += p.L2 * p.L2
			w.Min, w.Max = math.Min(w.Min, p.Min), math.Max(w.Max, p.Max)
		}
		w.Mean = s1 / float64(w.N)
		w.Std = math.Sqrt(s2/float64(w.N) - w.Mean*w.Mean)
		w.L2, w.AbsMax = math.Sqrt(l2), math.Max(-w.Min, w.Max)
		g, ok := got[op]
		if !ok {
			t.Errorf("%s: not in the trace", op)
			continue
		}
		if g["n"] != float64(w.N) {
			t.Errorf("%s: n %v, want %d", op, g["n"], w.N)
		}
		for _, f := range []struct {
			key  string
			want float64
		}{{"min", w.Min}, {"max", w.Max}, {"mean", w.Mean}, {"std", w.Std}, {"l2", w.L2}, {"absmax", w.AbsMax}} {
			gv, _ := g[f.key].(float64)
			if d := math.Abs(gv-f.want) / math.Max(math.Abs(f.want), 1e-12); d > 1e-4 {
				t.Errorf("%s %s = %.7g, math.json %.7g (relative %.2g > 1e-4)", op, f.key, gv, f.want, d)
			}
		}
	}
}

// TestTraceOptions: --trace-top-k, --trace-verbose, --trace-steps,
// KERNEL_LAUNCH contents and the unknown-name error, from the command line.
func TestTraceOptions(t *testing.T) {
	dir := t.TempDir()
	t.Run("top-k and verbose", func(t *testing.T) {
		path := filepath.Join(dir, "v.json")
		_, stderr, code := runStories(t, "-n", "2", "--temp", "0", "--trace=lmhead,ffn", "--trace-verbose", "--trace-top-k", "3", "--trace-output", path)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, tail(stderr))
		}
		for _, want := range []string{"top-3 logits", "values  ffn_out", "values  layer_out", "[4] LM_HEAD", "[3] FFN  layer 4  iter 1"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("text trace lacks %q", want)
			}
		}
		if strings.Contains(stderr, "TRANSFORMER_BLOCK") || strings.Contains(stderr, "[5] SAMPLE") {
			t.Error("--trace=lmhead,ffn printed other states")
		}
		_, evs := readDoc(t, path)
		for _, e := range evs {
			if e.typ != "TaskStateExited" {
				continue
			}
			switch e.state {
			case "LM_HEAD":
				if n := len(e.payload["top_k_logits"].([]any)); n != 3 {
					t.Errorf("LM_HEAD: %d top logits, want 3", n)
				}
			case "FFN":
				vals, _ := e.payload["values"].(jobj)
				if v, _ := vals["ffn_out"].([]any); len(v) != 8 {
					t.Errorf("FFN verbose values of ffn_out: %v, want the first 8", vals["ffn_out"])
				}
			default:
				t.Errorf("state %s recorded; --trace=lmhead,ffn", e.state)
			}
		}
	})
	t.Run("trace-steps", func(t *testing.T) {
		_, stderr, code := runStories(t, "-n", "1", "--temp", "0", "--trace-steps", "decode,bricks")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, tail(stderr))
		}
		if !strings.Contains(stderr, "steps DECODE,BRICK_PROFILE") || !strings.Contains(stderr, "[6] DECODE") || strings.Contains(stderr, "[2] EMBED") {
			t.Errorf("--trace-steps decode,bricks printed:\n%s", tail(stderr))
		}
	})
	t.Run("kernels", func(t *testing.T) {
		path := filepath.Join(dir, "k.json")
		_, stderr, code := runStories(t, "-n", "1", "--temp", "0", "--trace=kernel", "--trace-output", path)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, tail(stderr))
		}
		_, evs := readDoc(t, path)
		n := 0
		for _, e := range evs {
			if e.typ != "TaskStateExited" {
				continue
			}
			if e.state != "KERNEL_LAUNCH" {
				t.Fatalf("state %s recorded with --trace=kernel", e.state)
			}
			n++
			k, _ := e.payload["kernel"].(jobj)
			members(t, "kernel", k, "name", "weight", "rows", "cols", "batch", "workers", "rows_per_worker", "strategy", "duration_us", "flops", "bytes_read")
			w, _ := k["weight"].(string)
			if l := e.payload["layer"].(float64); (l >= 0) != strings.HasPrefix(w, fmt.Sprintf("blk.%d.", int(l))) {
				t.Errorf("kernel on %s recorded at layer %v", w, l)
			}
			if k["batch"] != 5.0 || k["flops"] != 2*k["rows"].(float64)*k["cols"].(float64)*5 {
				t.Errorf("kernel %v: want batch 5 (the prompt) and 2·rows·cols·batch FLOPs", k)
			}
		}
		if n != 5*7+1 {
			t.Errorf("%d KERNEL_LAUNCH events, want %d (7 matrices × 5 layers + the LM head)", n, 5*7+1)
		}
	})
	t.Run("bad top-k", func(t *testing.T) {
		if _, stderr, code := runStories(t, "-n", "1", "--trace", "--trace-top-k", "0"); code != ExitInput || !strings.Contains(stderr, "--trace-top-k 0") {
			t.Errorf("exit %d, stderr %q; want exit 2 naming --trace-top-k", code, stderr)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		_, stderr, code := runStories(t, "-n", "1", "--trace=attn,softmax")
		if code != ExitInput || !strings.Contains(stderr, `unknown trace step "softmax"`) ||
			!strings.Contains(stderr, "BRICK_PROFILE (brick, brick_profile, profiler, bricks)") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want exit 2 and one line listing the states and aliases", code, stderr)
		}
	})
}
