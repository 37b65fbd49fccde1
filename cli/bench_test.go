package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
)

// demoFile writes the built-in demo model to a temporary GGUF file.
func demoFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.gguf")
	if err := os.WriteFile(path, fixtures.Demo(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileGenBytes is an independent estimate of the bytes one generated token
// reads, from the file's tensor list: every 2-D weight in full except the
// embedding (one row, plus all of it again when it is the tied LM head),
// every 1-D weight, and the mean KV cache of an n-token generation.
func fileGenBytes(t *testing.T, path string, n int) float64 {
	t.Helper()
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	tied := true
	for _, ten := range f.Tensors {
		switch {
		case ten.Name == "output.weight":
			tied = false
			total += float64(len(ten.Data))
		case ten.Name == "token_embd.weight":
			total += float64(len(ten.Data)) / float64(ten.Rows())
		default:
			total += float64(len(ten.Data))
		}
	}
	if tied {
		e, _ := f.Tensor("token_embd.weight")
		total += float64(len(e.Data))
	}
	kv := 2 * float64(c.NLayer*c.NHeadKV*c.HeadDim) * 4 * float64(n+1) / 2
	return total + kv
}

func TestBenchJSON(t *testing.T) {
	path := demoFile(t)
	defer func(n int) { rooflineBytes = n }(rooflineBytes)
	rooflineBytes = 8 << 20
	var out, errb bytes.Buffer
	code := Execute([]string{"bench", "-m", path, "-p", "8", "-n", "4", "-t", "2", "-r", "2", "--json", "--roofline",
		"--compare-llamacpp", "--kernels", "go"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rs []BenchResult
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out.String())
	}
	if len(rs) != 2 || rs[0].Test != "pp8" || rs[1].Test != "tg4" {
		t.Fatalf("want pp8 then tg4, got %+v", rs)
	}
	for _, r := range rs {
		if !(r.TPS > 0) || math.IsInf(r.TPS, 0) || r.StdDev < 0 || math.IsNaN(r.StdDev) {
			t.Errorf("%s: tps %v ± %v", r.Test, r.TPS, r.StdDev)
		}
		if r.Threads != 2 || r.Kernels != "go" || r.Type == "" || r.Model == "" {
			t.Errorf("%s: fields %+v", r.Test, r)
		}
		if r.LlamaCppTPS != 0 {
			t.Errorf("%s: the demo model is not the 110m shape but got a llama.cpp figure %v", r.Test, r.LlamaCppTPS)
		}
	}
	if rs[0].BytesPerToken != 0 {
		t.Errorf("pp has a roofline: %+v", rs[0])
	}
	tg := rs[1]
	want := fileGenBytes(t, path, 4)
	if math.Abs(tg.BytesPerToken-want) > 0.01*want {
		t.Errorf("bytes per token %.0f, the file's tensors give %.0f", tg.BytesPerToken, want)
	}
	if !(tg.BandwidthGBs > 0) || math.Abs(tg.BandwidthShare-tg.BytesPerToken*tg.TPS/(tg.BandwidthGBs*1e9)) > 1e-9 {
		t.Errorf("roofline fields inconsistent: %+v", tg)
	}
}

func TestBenchTable(t *testing.T) {
	path := demoFile(t)
	var out, errb bytes.Buffer
	code := Execute([]string{"bench", "-m", path, "-p", "4", "-n", "2", "-t", "1", "-r", "1", "--json=false",
		"--roofline=false", "--compare-llamacpp=false", "--kernels", ""}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"model", "t/s", "pp4", "tg2", "±"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if lines := strings.Count(strings.TrimSpace(s), "\n") + 1; lines != 3 {
		t.Errorf("want a header and 2 rows, got %d lines:\n%s", lines, s)
	}
}

func TestBenchBadInput(t *testing.T) {
	path := demoFile(t)
	missing := filepath.Join(t.TempDir(), "nope.gguf")
	junk := filepath.Join(t.TempDir(), "junk.gguf")
	if err := os.WriteFile(junk, []byte("not a gguf file"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := func(m string, extra ...string) []string {
		return append([]string{"bench", "-m", m, "-p", "4", "-n", "2", "-t", "1", "-r", "1", "--kernels", "", "--json=false"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no model", base(""), "-m MODEL is required"},
		{"missing file", base(missing), "nope.gguf"},
		{"not gguf", base(junk), "junk.gguf"},
		{"zero reps", base(path, "-r", "0"), "-r 0"},
		{"negative prompt", base(path, "-p", "-1"), "-p -1"},
		{"nothing to run", base(path, "-p", "0", "-n", "0"), "nothing to measure"},
		{"zero threads", base(path, "-t", "0"), "-t 0"},
		{"unknown kernels", base(path, "--kernels", "sse9"), "sse9"},
		{"bad flag", base(path, "--frobnicate"), "frobnicate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Execute(c.args, &out, &errb)
			msg := errb.String()
			if code != ExitInput || !strings.HasPrefix(msg, "infertrace: ") || !strings.Contains(msg, c.msg) ||
				strings.Count(msg, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit %d and one line naming %q", code, msg, ExitInput, c.msg)
			}
		})
	}
}

// TestBenchRooflineTable: the table's roofline columns and the bandwidth
// line, which names the buffer, the passes and the read loop that won;
// --cpuprofile writes a profile.
func TestBenchRooflineTable(t *testing.T) {
	path := demoFile(t)
	defer func(n int) { rooflineBytes = n }(rooflineBytes)
	rooflineBytes = 8 << 20
	var out, errb bytes.Buffer
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	code := Execute([]string{"bench", "-m", path, "-p", "0", "-n", "2", "-t", "2", "-r", "1", "--json=false",
		"--roofline", "--compare-llamacpp=false", "--kernels", "", "--cpuprofile", prof}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("--cpuprofile %s: %v", prof, err)
	}
	s := out.String()
	for _, want := range []string{"MB/token", "share of BW", "tg2", "%",
		"memory read bandwidth (2 threads, 8 MiB, best of 5 passes per loop): ", " GB/s (", "scalar"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// TestBenchFlagsReset: flags of one in-process run (including a profile
// path) do not leak into the next one.
func TestBenchFlagsReset(t *testing.T) {
	path := demoFile(t)
	gone := filepath.Join(t.TempDir(), "missing-dir", "cpu.prof")
	var out, errb bytes.Buffer
	if code := Execute([]string{"bench", "-m", path, "-p", "0", "-n", "1", "-r", "1", "--json", "--cpuprofile", gone}, &out, &errb); code != ExitInput {
		t.Fatalf("unwritable --cpuprofile: exit %d, want %d", code, ExitInput)
	}
	out.Reset()
	errb.Reset()
	if code := Execute([]string{"bench", "-m", path, "-p", "2", "-n", "1", "-r", "1"}, &out, &errb); code != ExitOK {
		t.Fatalf("second run: exit %d: %s", code, errb.String())
	}
	if strings.HasPrefix(strings.TrimSpace(out.String()), "[") {
		t.Errorf("--json of the first run stayed set:\n%s", out.String())
	}
}

// TestLlamaCppRef: a ratio only for the tests llama.cpp was measured on
// (pp64, tg32, 2 threads) and the types it has figures for.
func TestLlamaCppRef(t *testing.T) {
	for _, tc := range []struct {
		typ, test string
		threads   int
		want      float64
		ok        bool
	}{
		{"Q8_0", "pp64", 2, 530, true},
		{"Q8_0", "tg32", 2, 157, true},
		{"F32", "tg32", 2, 57, true},
		{"Q4_0", "pp64", 2, 678, true},
		{"Q8_0", "pp16", 2, 0, false},
		{"Q8_0", "tg8", 2, 0, false},
		{"Q8_0", "tg32", 1, 0, false},
		{"Q5_1", "tg32", 2, 0, false},
	} {
		got, ok := llamaCppRef(tc.typ, tc.test, tc.threads)
		if got != tc.want || ok != tc.ok {
			t.Errorf("llamaCppRef(%s, %s, %d) = %v, %v; want %v, %v", tc.typ, tc.test, tc.threads, got, ok, tc.want, tc.ok)
		}
	}
}
