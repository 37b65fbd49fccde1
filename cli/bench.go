package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/infertrace/infertrace/internal/membw"
	"github.com/infertrace/infertrace/pipeline"
	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

func init() { Root.AddCommand(newBenchCmd()) }

// benchFlags are the options of `infertrace bench`.
type benchFlags struct {
	model      string
	nPrompt    int
	nGen       int
	threads    int
	reps       int
	asJSON     bool
	roofline   bool
	compare    bool
	kernelsCSV string
	cpuProfile string
}

// BenchResult is one row of the bench output (one element of --json).
type BenchResult struct {
	Model   string  `json:"model"`
	Type    string  `json:"type"`
	Kernels string  `json:"kernels"`
	Threads int     `json:"threads"`
	Test    string  `json:"test"`   // "pp64", "tg32"
	TPS     float64 `json:"tps"`    // mean tokens per second over the repetitions
	StdDev  float64 `json:"stddev"` // sample standard deviation of the tok/s
	// Filled for tg tests with --roofline.
	BytesPerToken  float64 `json:"bytes_per_token,omitempty"`
	BandwidthGBs   float64 `json:"bandwidth_gbs,omitempty"`
	BandwidthShare float64 `json:"bandwidth_share,omitempty"`
	// Filled with --compare-llamacpp when the model has the 110m shape.
	LlamaCppTPS float64 `json:"llamacpp_tps,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench -m MODEL [-p 64] [-n 32] [-t N] [-r 3] [--json] [--roofline]",
		Short: "Measure prompt (pp) and generation (tg) speed, like llama-bench",
		Long: `bench measures the engine on a model, as llama-bench does: ppP runs a
prompt of P random tokens as one batch; tgN generates N tokens one at a time
from a one-token prompt. Each test runs once to warm up, then r times; the
table gives the mean tok/s ± the standard deviation. Set -p 0 or -n 0 to
skip a test.

--roofline measures this machine's memory read bandwidth in-process: the
same number of threads each read its own share of a 512 MiB buffer, with a
scalar loop and (on AVX2) 32-byte loads from one or four streams per
thread; the best of 5 passes of the fastest loop counts. It then prints, for generation, the bytes read per token (weights plus
KV cache) and the share of that bandwidth achieved.

--compare-llamacpp prints the ratio to llama.cpp's published figures for
the synthetic 110M LLaMA (infertrace synth --preset 110m) when the model
has that shape.

--kernels go,avx2 repeats every test with each kernel set, side by side
(default: the active set; INFERTRACE_KERNELS=go forces the pure-Go one).`,
		Example: `  infertrace synth --preset 110m --type q4_0 -o 110m-q4_0.gguf
  infertrace bench -m 110m-q4_0.gguf -t 2 --roofline --compare-llamacpp
  infertrace bench -m 110m-q4_0.gguf -p 64 -n 32 -r 5 --json
  infertrace bench -m 110m-q4_0.gguf --kernels go,avx2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			return runBench(cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model: GGUF file or safetensors directory (required)")
	fl.IntVarP(&f.nPrompt, "n-prompt", "p", 64, "prompt tokens of the pp test (0: skip)")
	fl.IntVarP(&f.nGen, "n-gen", "n", 32, "generated tokens of the tg test (0: skip)")
	fl.IntVarP(&f.threads, "threads", "t", runtime.GOMAXPROCS(0), "matmul worker threads")
	fl.IntVarP(&f.reps, "repetitions", "r", 3, "repetitions of each test")
	fl.BoolVar(&f.asJSON, "json", false, "print a JSON array instead of the table")
	fl.BoolVar(&f.roofline, "roofline", false, "measure memory bandwidth and report generation's share of it")
	fl.BoolVar(&f.compare, "compare-llamacpp", false, "print the ratio to llama.cpp's figures for the 110m preset")
	fl.StringVar(&f.kernelsCSV, "kernels", "", "comma list of kernel sets to compare, e.g. go,avx2 (default: the active one)")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the runs to this file (go tool pprof)")
	// Root keeps flag values from one Execute to the next in one process
	// (tests): reset them after a run, --help and flag errors.
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		help(c, args)
		resetFlags(c)
	})
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		resetFlags(c)
		return BadInput(fmt.Errorf("%s: %w", c.CommandPath(), err))
	})
	return cmd
}

func (f benchFlags) validate() error {
	switch {
	case f.model == "":
		return fmt.Errorf("bench: -m MODEL is required")
	case f.nPrompt < 0 || f.nGen < 0:
		return fmt.Errorf("bench: -p %d, -n %d: want token counts >= 0", f.nPrompt, f.nGen)
	case f.nPrompt == 0 && f.nGen == 0:
		return fmt.Errorf("bench: -p 0 and -n 0 leave nothing to measure")
	case f.threads < 1:
		return fmt.Errorf("bench: -t %d: want at least 1 thread", f.threads)
	case f.reps < 1:
		return fmt.Errorf("bench: -r %d: want at least 1 repetition", f.reps)
	}
	return nil
}

func runBench(out io.Writer, f benchFlags) error {
	if err := f.validate(); err != nil {
		return BadInput(err)
	}
	kernels := []string{tensor.KernelName()}
	if f.kernelsCSV != "" {
		kernels = strings.Split(f.kernelsCSV, ",")
		for _, k := range kernels {
			if !contains(tensor.KernelNames(), strings.ToLower(k)) {
				return BadInput(fmt.Errorf("bench: --kernels %q: not available on this machine (have %s)", k, strings.Join(tensor.KernelNames(), ", ")))
			}
		}
	}
	m, err := pipeline.Load(f.model)
	if err != nil {
		return BadInput(err)
	}
	defer m.Close()
	// Tokens are passed as ids and an end-of-generation token must not cut
	// a tg run short, so the benchmark runs without the tokenizer.
	m.Vocab = nil
	p := m.Params
	if ctx := max(f.nPrompt, 1+f.nGen); p.NCtx > 0 && ctx > p.NCtx {
		return BadInput(fmt.Errorf("bench: %s: a test needs %d positions, the model's context is %d", f.model, ctx, p.NCtx))
	}
	info := describeModel(m, f.model)

	var bw membw.Result
	if f.roofline {
		bw = membw.Read(f.threads, rooflineBytes, rooflinePasses)
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return BadInput(fmt.Errorf("bench: --cpuprofile: %w", err))
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("bench: --cpuprofile %s: %w", f.cpuProfile, err)
		}
		defer pprof.StopCPUProfile()
	}
	active := tensor.KernelName()
	defer func() { _ = tensor.UseKernels(active) }() // restore: it was available
	var results []BenchResult
	for _, k := range kernels {
		if err := tensor.UseKernels(k); err != nil {
			return BadInput(fmt.Errorf("bench: %w", err))
		}
		tests := []struct {
			name   string
			prompt int
			gen    int
			tokens int // tokens the rate counts
		}{
			{fmt.Sprintf("pp%d", f.nPrompt), f.nPrompt, 1, f.nPrompt},
			{fmt.Sprintf("tg%d", f.nGen), 1, f.nGen, f.nGen},
		}
		for _, t := range tests {
			if t.tokens == 0 {
				continue
			}
			rates := make([]float64, 0, f.reps)
			for rep := -1; rep < f.reps; rep++ { // rep -1 warms up
				d, err := benchOnce(m, t.prompt, t.gen, f.threads, uint64(rep+2))
				if err != nil {
					return fmt.Errorf("bench %s: %w", t.name, err)
				}
				if rep >= 0 {
					rates = append(rates, float64(t.tokens)/d.Seconds())
				}
			}
			mean, sd := meanStd(rates)
			r := BenchResult{Model: info.name, Type: info.typ, Kernels: tensor.KernelName(), Threads: f.threads,
				Test: t.name, TPS: mean, StdDev: sd}
			if f.roofline && t.gen > 1 {
				r.BytesPerToken = info.weightBytes + kvBytesPerToken(p, t.gen)
				r.BandwidthGBs = bw.BytesPerSec / 1e9
				r.BandwidthShare = r.BytesPerToken * mean / bw.BytesPerSec
			}
			if f.compare && info.is110m {
				if ref, ok := llamaCppRef(info.typ, t.name, f.threads); ok {
					r.LlamaCppTPS = ref
					r.Ratio = mean / ref
				}
			}
			results = append(results, r)
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printBench(out, info, results, f, bw)
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// benchOnce runs one session of prompt random tokens generating gen tokens
// greedily and returns the time of the run (session set-up excluded).
func benchOnce(m *pipeline.Model, prompt, gen, threads int, seed uint64) (time.Duration, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6265_6e63_68))
	toks := make([]int, prompt)
	for i := range toks {
		toks[i] = rng.IntN(m.Params.NVocab)
	}
	s, err := m.NewSession("", pipeline.Options{Tokens: toks, MaxTokens: gen, Threads: threads,
		Sampler: trace.SamplerConfig{Temperature: 0}})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	t0 := time.Now()
	if err := s.Run(); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if is := s.Failure(); is != nil {
		return 0, fmt.Errorf("the run failed: %s", is.Message)
	}
	if got := len(s.Generated()); got != gen {
		return 0, fmt.Errorf("generated %d tokens, want %d", got, gen)
	}
	return d, nil
}

func meanStd(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

// modelInfo is what the table says about the model.
type modelInfo struct {
	name        string
	typ         string
	fileBytes   int64
	params      int64
	weightBytes float64 // bytes of every matrix one generated token reads
	is110m      bool
}

func describeModel(m *pipeline.Model, path string) modelInfo {
	p := m.Params
	var info modelInfo
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		info.fileBytes = st.Size()
	}
	w := m.W
	byType := map[tensor.Type]int64{}
	add := func(mx tensor.Matrix, read bool) {
		info.params += int64(mx.Rows) * int64(mx.Cols)
		byType[mx.Type] += int64(mx.Rows) * int64(mx.RowBytes)
		if read {
			info.weightBytes += float64(mx.Rows) * float64(mx.RowBytes)
		}
	}
	// The embedding is looked up (one row per token), the rest is streamed.
	add(w.TokenEmbd, false)
	info.weightBytes += float64(w.TokenEmbd.RowBytes)
	for _, l := range w.Layers {
		for _, mx := range []tensor.Matrix{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down} {
			add(mx, true)
		}
		info.weightBytes += 4 * float64(len(l.AttnNorm)+len(l.FFNNorm)+len(l.Bq)+len(l.Bk)+len(l.Bv))
	}
	info.weightBytes += 4 * float64(len(w.OutputNorm))
	if w.OutputName == "token_embd.weight" {
		info.weightBytes += float64(w.Output.Rows) * float64(w.Output.RowBytes)
	} else {
		add(w.Output, true)
	}
	if info.fileBytes == 0 {
		info.fileBytes = int64(info.weightBytes)
	}
	info.name = fmt.Sprintf("%s %s", p.Arch, humanCount(info.params))
	info.is110m = p.NEmbd == 768 && p.NLayer == 12 && p.NHead == 12 && p.NFF == 2048 && p.NVocab == 32000
	// The type is the matrices' dominant one (by bytes), not the file's
	// general.file_type label, so that it names the kernels measured.
	var most int64 = -1
	for t, n := range byType {
		if n > most || (n == most && t.String() < info.typ) {
			info.typ, most = t.String(), n
		}
	}
	return info
}

// kvBytesPerToken is the mean KV-cache bytes (float32 K and V, every layer)
// one step of an n-token generation reads: step i attends to i+1 positions.
func kvBytesPerToken(p pipeline.Params, n int) float64 {
	kvDim := float64(p.NHeadKV * p.HeadDim)
	meanPos := float64(n+1) / 2
	return 2 * float64(p.NLayer) * kvDim * 4 * meanPos
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// llamaCpp110m are llama.cpp's tok/s on the synthetic 110M LLaMA of
// `synth --preset 110m` with 2 threads (the project README's table, best
// of the measured ranges).
var llamaCpp110m = map[string]struct{ pp, tg float64 }{
	"F32":  {455, 57},
	"F16":  {796, 103},
	"Q8_0": {530, 157},
	"Q6_K": {395, 173},
	"Q4_K": {508, 242},
	"Q4_0": {678, 252},
}

// llamaCppRef returns llama.cpp's tok/s for test ("pp64", "tg32") on the
// 110m preset of type typ, when there is one: only those two tests with 2
// threads were measured, and another prompt length or thread count is not
// comparable.
func llamaCppRef(typ, test string, threads int) (float64, bool) {
	ref, ok := llamaCpp110m[typ]
	switch {
	case !ok || threads != 2:
		return 0, false
	case test == "pp64":
		return ref.pp, true
	case test == "tg32":
		return ref.tg, true
	}
	return 0, false
}

func printBench(out io.Writer, info modelInfo, rs []BenchResult, f benchFlags, bw membw.Result) {
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	head := "model\ttype\tsize\tkernels\tthreads\ttest\tt/s\t"
	if f.roofline {
		head += "MB/token\tshare of BW\t"
	}
	if f.compare {
		head += "llama.cpp t/s\tratio\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rs {
		line := fmt.Sprintf("%s\t%s\t%.2f MiB\t%s\t%d\t%s\t%.2f ± %.2f\t", r.Model, r.Type, float64(info.fileBytes)/(1<<20),
			r.Kernels, r.Threads, r.Test, r.TPS, r.StdDev)
		if f.roofline {
			if r.BytesPerToken > 0 {
				line += fmt.Sprintf("%.1f\t%.0f%%\t", r.BytesPerToken/1e6, 100*r.BandwidthShare)
			} else {
				line += "\t\t"
			}
		}
		if f.compare {
			if r.LlamaCppTPS > 0 {
				line += fmt.Sprintf("%.0f\t%.2f×\t", r.LlamaCppTPS, r.Ratio)
			} else {
				line += "-\t-\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if f.roofline {
		fmt.Fprintf(out, "memory read bandwidth (%d threads, %d MiB, best of %d passes per loop): %.1f GB/s (%s",
			bw.Threads, bw.Bytes>>20, bw.Passes, bw.BytesPerSec/1e9, bw.Method)
		for _, e := range bw.Each {
			if e.Method != bw.Method {
				fmt.Fprintf(out, "; %s %.1f", e.Method, e.BytesPerSec/1e9)
			}
		}
		fmt.Fprintln(out, ")")
	}
	if f.compare && !info.is110m {
		fmt.Fprintln(out, "--compare-llamacpp: the model is not the 110m preset shape; no reference figures")
	} else if f.compare && (f.threads != 2 || (f.nPrompt != 64 && f.nPrompt != 0) || (f.nGen != 32 && f.nGen != 0)) {
		fmt.Fprintln(out, "--compare-llamacpp: llama.cpp's figures are pp64 and tg32 with 2 threads; other tests have none")
	}
}

// rooflineBytes is the buffer --roofline streams; far larger than any L3.
var rooflineBytes = 512 << 20

// rooflinePasses is how many timed passes each read loop gets; the best
// one counts (the machine is shared: a slower pass was disturbed).
const rooflinePasses = 5
