package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/tensor"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspectStories260K(t *testing.T) {
	p := refdata.Path(t, "stories260K", "stories260K.gguf")
	code, out, errs := runCLI(t, "inspect", "--tensors", p)
	if code != ExitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	// Values from ../shared/models/stories260K/README.md.
	for _, want := range []string{
		"(1,185,376 bytes)",
		"GGUF v3, alignment 32, data offset 14176",
		"n_embd 64, n_layer 5, n_head 8, n_head_kv 4, head_dim 8, n_ff 172, n_vocab 512, n_ctx 2048",
		"rope norm, dim 8, base 10000; rms_eps 1e-05; output: separate output.weight",
		`llama, 512 tokens, BOS 1 "<s>", EOS 2 "</s>"`,
		"48, 292,800 parameters",
		"metadata (19 keys)",
		"tokenizer.ggml.seperator_token_id       u32            4294967295",
		`["<unk>", "<s>", "</s>", ... (512 items)]`,
		"tensors (48)",
		"blk.4.ffn_down.weight     F32   [172 64]  44032",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestInspectStatsJSON checks --stats --json against gguf-py's dequantized
// blk.0.attn_k.weight of each tiny file.
func TestInspectStatsJSON(t *testing.T) {
	dir := refdata.Path(t, "tiny", "reference", "dequant")
	for _, name := range []string{"tiny-llama-f16", "tiny-llama-q8_0", "tiny-llama-q4_k", "tiny-llama-q2_k"} {
		t.Run(name, func(t *testing.T) {
			model := refdata.Path(t, "tiny", name+".gguf")
			code, out, errs := runCLI(t, "inspect", "--stats", "--json", model)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var rep struct {
				Format  string `json:"format"`
				Version int    `json:"version"`
				Config  struct {
					NEmbd   int  `json:"n_embd"`
					NLayer  int  `json:"n_layer"`
					NHead   int  `json:"n_head"`
					NHeadKV int  `json:"n_head_kv"`
					NFF     int  `json:"n_ff"`
					NVocab  int  `json:"n_vocab"`
					Tied    bool `json:"tied_output"`
				} `json:"config"`
				Metadata []struct {
					Key string `json:"key"`
					Len *int   `json:"len"`
				} `json:"metadata"`
				Tensors []struct {
					Name  string        `json:"name"`
					Shape []int         `json:"shape"`
					Stats stats.Summary `json:"stats"`
				} `json:"tensors"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("not one JSON document: %v", err)
			}
			c := rep.Config
			// ../shared/models/README.md: n_embd 256, 2 layers, 4/2 heads, n_ff 768, separate output.
			if rep.Format != "gguf" || c.NEmbd != 256 || c.NLayer != 2 || c.NHead != 4 || c.NHeadKV != 2 || c.NFF != 768 || c.NVocab != 512 || c.Tied {
				t.Errorf("config %+v", c)
			}
			ref, err := os.ReadFile(filepath.Join(dir, name+".blk.0.attn_k.weight.f32"))
			if err != nil {
				t.Fatal(err)
			}
			xs := make([]float32, len(ref)/4)
			for i := range xs {
				xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(ref[4*i:]))
			}
			want := stats.Compute(xs)
			found := false
			for _, tn := range rep.Tensors {
				if tn.Name != "blk.0.attn_k.weight" {
					continue
				}
				found = true
				s := tn.Stats
				tol := 1e-6 * want.AbsMax
				if s.N != want.N || s.NaN != 0 || s.Inf != 0 || math.Abs(s.Min-want.Min) > tol || math.Abs(s.Max-want.Max) > tol ||
					math.Abs(s.Mean-want.Mean) > tol || math.Abs(s.Std-want.Std) > tol {
					t.Errorf("stats %+v\nwant (gguf-py) %+v", s, want)
				}
			}
			// token_embd, output_norm, output, and 9 tensors per layer.
			if !found || len(rep.Tensors) != 3+2*9 {
				t.Errorf("%d tensors, attn_k found %v", len(rep.Tensors), found)
			}
		})
	}
}

func TestInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	// Valid magic and version, then a tensor count of 2^63.
	b := append([]byte("GGUF"), 3, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, 1<<63)
	b = binary.LittleEndian.AppendUint64(b, 0)
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"hostile gguf", []string{"inspect", bad}, bad + ": tensor count is 9223372036854775808"},
		{"hostile gguf json", []string{"inspect", "--json", "--stats", bad}, bad + ": tensor count"},
		{"missing file", []string{"inspect", filepath.Join(dir, "nope.gguf")}, "nope.gguf: cannot open: no such file or directory"},
		{"not a model", []string{"inspect", "inspect.go"}, "inspect.go: not a GGUF or safetensors file"},
		{"empty dir", []string{"inspect", dir + "/"}, "directory has neither model.safetensors"},
		{"no model", []string{"inspect"}, "inspect: missing MODEL"},
		{"model and demo", []string{"inspect", "--demo", bad}, "not both"},
		{"two models", []string{"inspect", bad, bad}, "accepts at most 1 arg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != ExitInput {
				t.Errorf("exit %d, want %d", code, ExitInput)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.HasPrefix(errs, "infertrace: ") || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.msg) {
				t.Errorf("stderr %q: want one line containing %q", errs, c.msg)
			}
		})
	}
}

func TestInspectDemoAndHelp(t *testing.T) {
	code, out, errs := runCLI(t, "inspect", "--demo", "--tensors")
	if code != ExitOK || !strings.Contains(out, `name "infertrace-demo"`) || !strings.Contains(out, "token_embd.weight") {
		t.Errorf("demo: exit %d, stderr %q\n%s", code, errs, out)
	}
	code, out, _ = runCLI(t, "inspect", "--help")
	for _, want := range []string{"Examples:", "infertrace inspect --demo", "--stats", "--tensors", "--json"} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("help lacks %q (exit %d)", want, code)
		}
	}
}

// TestInspectSafetensorsDir inspects a hand-written Hugging Face directory:
// names mapped to GGUF, dims reversed, stats of the values written.
func TestInspectSafetensorsDir(t *testing.T) {
	dir := t.TempDir()
	vals := []float32{-2, 0.5, 1, 3, 4, -1} // HF shape [3, 2]; mean 11/12, std sqrt(26.208/6) = 2.090
	h := `{"__metadata__":{"format":"pt"},"model.embed_tokens.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}}`
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	b = append(b, h...)
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	cfg := `{"architectures":["Qwen2ForCausalLM"],"hidden_size":2,"num_hidden_layers":1,"num_attention_heads":1,
"intermediate_size":4,"vocab_size":3,"rope_theta":1000000.0,"rms_norm_eps":1e-06,"tie_word_embeddings":true}`
	for name, data := range map[string][]byte{"model.safetensors": b, "config.json": []byte(cfg), "tokenizer.json": []byte("{}")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := runCLI(t, "inspect", "--stats", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"safetensors, data offset " + strconv.Itoa(8+len(h)),
		"qwen2, name",
		"n_embd 2, n_layer 1, n_head 1, n_head_kv 1, head_dim 2, n_ff 4, n_vocab 3",
		"rope neox, dim 2, base 1e+06; rms_eps 1e-06; output: tied",
		filepath.Join(dir, "tokenizer.json") + " (huggingface)",
		"qwen2.rope.freq_base",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// name, type, shape (2 fields), bytes, offset, min, max, mean, std, NaN, Inf
	wantRow := strings.Fields("token_embd.weight F32 [2 3] 24 " + strconv.Itoa(8+len(h)) + " -2 4 0.9167 2.09 0 0")
	found := false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "token_embd.weight" {
			found = true
			if strings.Join(f, " ") != strings.Join(wantRow, " ") {
				t.Errorf("row %q, want %q", strings.Join(f, " "), strings.Join(wantRow, " "))
			}
		}
	}
	if !found {
		t.Errorf("no token_embd.weight row:\n%s", out)
	}
}

// TestInspectEverySharedGGUF: inspect, text and JSON, succeeds on every
// .gguf under ../shared/models (real llama.cpp files, vocab-only ones
// included).
func TestInspectEverySharedGGUF(t *testing.T) {
	root := refdata.Dir(t)
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil || len(paths) < 20 {
		t.Fatalf("found %d .gguf files under %s (%v)", len(paths), root, err)
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		t.Run(rel, func(t *testing.T) {
			code, out, errs := runCLI(t, "inspect", "--tensors", p)
			if code != ExitOK || errs != "" || !strings.Contains(out, "GGUF v") {
				t.Errorf("inspect: exit %d, stderr %q", code, errs)
			}
			code, out, errs = runCLI(t, "inspect", "--json", p)
			var doc struct {
				Format   string            `json:"format"`
				Metadata []json.RawMessage `json:"metadata"`
			}
			if code != ExitOK || errs != "" || json.Unmarshal([]byte(out), &doc) != nil || doc.Format != "gguf" || len(doc.Metadata) == 0 {
				t.Errorf("inspect --json: exit %d, stderr %q, format %q, %d keys", code, errs, doc.Format, len(doc.Metadata))
			}
		})
	}
}

// BenchmarkInspect times `infertrace inspect MODEL` (no --stats) on files
// generated by fixtures: the tiny preset (≈6 MB) and the 110m preset in
// Q8_0 (≈117 MB) and F32 (≈440 MB). Inspect reads the header only, so the
// two 110m files (same header, 3.8x the bytes) take the same time (issue 2:
// under 50 ms for the 110m F32 file). Measured with -benchtime=40x
// -count=3 at load average 20 on 2 cores: 110m F32 10-37 ms, 110m Q8_0
// 13-31 ms, tiny 0.2-0.6 ms (its vocabulary is 60x smaller). Writing the 440 MB file takes a few seconds; run with
// -benchtime=20x on a shared machine.
func BenchmarkInspect(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name, preset string
		typ          tensor.Type
	}{
		{"tiny-F32", "tiny", tensor.F32},
		{"110m-Q8_0", "110m", tensor.Q8_0},
		{"110m-F32", "110m", tensor.F32},
	} {
		spec, err := fixtures.Preset(c.preset)
		if err != nil {
			b.Fatal(err)
		}
		spec.Type = c.typ
		path := filepath.Join(dir, c.name+".gguf")
		if err := fixtures.WriteGGUFFile(path, spec); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if code := Execute([]string{"inspect", path}, io.Discard, io.Discard); code != ExitOK {
					b.Fatalf("inspect exit %d", code)
				}
			}
			b.ReportMetric(float64(st.Size())/1e6, "file-MB")
		})
	}
}

// TestHostileFilesExit2: the four hostile files of issue 2 give a one-line
// error naming the file and the problem, and exit 2, from every command
// that opens a model.
func TestHostileFilesExit2(t *testing.T) {
	dir := t.TempDir()
	spec, err := fixtures.Preset("demo")
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.gguf")
	if err := fixtures.WriteGGUFFile(good, spec); err != nil {
		t.Fatal(err)
	}
	valid, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The type id of the first tensor info: after its name (u64 length +
	// bytes) and its dims (u32 count + two u64).
	name := "token_embd.weight"
	at := bytes.Index(valid, append(binary.LittleEndian.AppendUint64(nil, uint64(len(name))), name...))
	if at < 0 {
		t.Fatal("no token_embd.weight tensor info")
	}
	typeAt := at + 8 + len(name) + 4 + 2*8
	unknown := bytes.Clone(valid)
	binary.LittleEndian.PutUint32(unknown[typeAt:], 77)
	magic := bytes.Clone(valid)
	copy(magic, "GGML")
	for _, c := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"wrong-magic", magic, `not a GGUF or safetensors file`},
		{"truncated-header", valid[:20], "(file is 20 bytes)"},
		{"data-past-eof", valid[:len(valid)-1], "lies past the end of the file"},
		{"unknown-type", unknown, `"token_embd.weight" has unknown type id 77`},
	} {
		p := filepath.Join(dir, c.name+".gguf")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"inspect", p}, {"inspect", "--json", "--stats", p}, {"eval", "-m", p}, {"tokenize", "-m", p, "-p", "a"}, {"run", "-m", p, "-n", "1"}} {
			t.Run(c.name+"/"+args[0]+"/"+args[1], func(t *testing.T) {
				code, out, errs := runCLI(t, args...)
				if code != ExitInput || out != "" {
					t.Errorf("%v: exit %d, stdout %q; want exit 2 and no output", args, code, out)
				}
				if !strings.HasPrefix(errs, "infertrace: "+p+": ") || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.msg) {
					t.Errorf("%v: stderr %q, want one line naming the file and containing %q", args, errs, c.msg)
				}
			})
		}
	}
}
