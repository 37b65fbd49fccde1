package cli

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/pipeline"
	"github.com/infertrace/infertrace/trace"
	"github.com/infertrace/infertrace/tui"
)

// RunFlags are the flags shared by run, debug and the default TUI: model,
// prompt, sampler, threads and tracing.
type RunFlags struct {
	Model          string
	Prompt         string
	NPredict       int
	Temp           float64
	TopK           int
	TopP           float64
	MinP           float64
	RepeatPenalty  float64
	RepeatLastN    int
	Seed           int64 // -1: random (the seed used is recorded in the trace)
	Threads        int
	NoParseSpecial bool
	Trace          string // --trace[=STEPS]; "" when not given
	TraceSteps     string // --trace-steps STEPS: --trace=STEPS
	TraceVerbose   bool
	TraceOutput    string
	TraceTopK      int
	OnError        string
	Inject         []string
}

// AddRunFlags registers the shared run flags on cmd, bound to f.
func AddRunFlags(cmd *cobra.Command, f *RunFlags) {
	fl := cmd.Flags()
	fl.StringVarP(&f.Model, "model", "m", "", "model: GGUF file or safetensors directory (default: the built-in demo model)")
	fl.StringVarP(&f.Prompt, "prompt", "p", "Once upon a time", "prompt text")
	fl.IntVarP(&f.NPredict, "n-predict", "n", 64, "number of tokens to generate")
	fl.Float64Var(&f.Temp, "temp", 0.8, "sampling temperature (0: greedy)")
	fl.IntVar(&f.TopK, "top-k", 40, "top-k sampling (0: off)")
	fl.Float64Var(&f.TopP, "top-p", 0.95, "top-p (nucleus) sampling (1: off)")
	fl.Float64Var(&f.MinP, "min-p", 0.05, "min-p sampling (0: off)")
	fl.Float64Var(&f.RepeatPenalty, "repeat-penalty", 1.0, "repetition penalty (1: off)")
	fl.IntVar(&f.RepeatLastN, "repeat-last-n", 64, "tokens the repetition penalty looks back (-1: all)")
	fl.Int64Var(&f.Seed, "seed", -1, "sampler seed (-1: random)")
	fl.IntVarP(&f.Threads, "threads", "t", 0, "matmul worker threads (0: GOMAXPROCS)")
	fl.BoolVar(&f.NoParseSpecial, "no-parse-special", false, "treat special-token text in the prompt as plain text")
	fl.StringVar(&f.Trace, "trace", "", "trace states on stderr: all, or a comma list (tokenize,embed,norm,attn,ffn,layer,lmhead,sample,decode,kernel,brick)")
	fl.Lookup("trace").NoOptDefVal = "all"
	fl.StringVar(&f.TraceSteps, "trace-steps", "", "the states --trace prints and records, as a comma list (implies --trace)")
	fl.BoolVar(&f.TraceVerbose, "trace-verbose", false, "include the first values of every tensor")
	fl.StringVar(&f.TraceOutput, "trace-output", "", "write the trace as JSON to `FILE`")
	fl.IntVar(&f.TraceTopK, "trace-top-k", trace.DefaultTopK, "entries of the traced top-k logit/probability lists")
	fl.StringVar(&f.OnError, "on-error", "stop", "after a numerical error: stop or continue")
	fl.StringArrayVar(&f.Inject, "inject", nil, "inject a fault: KIND@OP[:iteration=N][:index=K], e.g. nan@blk.3.ffn_out (repeatable)")
}

// RunSetup is a loaded model plus everything needed to start sessions on
// it; the TUI's live source restarts runs from it.
type RunSetup struct {
	Model   *pipeline.Model
	Prompt  string
	Options pipeline.Options
	Trace   trace.Config // the recorded states (Steps 0: nothing recorded)
	Header  trace.Header
	Path    string // model path ("" for the demo model)
}

// Setup validates the flags and loads the model. Bad flag values and
// unreadable model files are InputErrors.
func (f *RunFlags) Setup() (*RunSetup, error) {
	opts, tcfg, err := f.options()
	if err != nil {
		return nil, BadInput(err)
	}
	var m *pipeline.Model
	if f.Model == "" {
		m, err = pipeline.LoadBytes(fixtures.DemoName, fixtures.Demo())
	} else {
		m, err = pipeline.Load(f.Model)
	}
	if err != nil {
		return nil, BadInput(err)
	}
	rs := &RunSetup{Model: m, Prompt: f.Prompt, Options: opts, Trace: tcfg, Path: f.Model}
	if tcfg.Steps != 0 {
		rs.Options.Trace = &rs.Trace
	}
	rs.Header = rs.header(f)
	return rs, nil
}

// options parses the sampler, trace and injection flags.
func (f *RunFlags) options() (pipeline.Options, trace.Config, error) {
	var tcfg trace.Config
	switch {
	case f.NPredict < 1:
		return pipeline.Options{}, tcfg, fmt.Errorf("-n %d: want at least 1 token", f.NPredict)
	case f.Temp < 0 || f.TopK < 0 || f.TopP < 0 || f.TopP > 1 || f.MinP < 0 || f.MinP > 1 || f.RepeatPenalty <= 0:
		return pipeline.Options{}, tcfg, fmt.Errorf("sampler settings out of range: --temp %g (>=0), --top-k %d (>=0), --top-p %g (0..1), --min-p %g (0..1), --repeat-penalty %g (>0)",
			f.Temp, f.TopK, f.TopP, f.MinP, f.RepeatPenalty)
	case f.Threads < 0:
		return pipeline.Options{}, tcfg, fmt.Errorf("-t %d: want a positive number of threads (0: GOMAXPROCS)", f.Threads)
	}
	seed := uint64(f.Seed)
	if f.Seed < 0 {
		seed = rand.Uint64() >> 1
	}
	opts := pipeline.Options{
		MaxTokens: f.NPredict,
		Sampler: trace.SamplerConfig{Temperature: f.Temp, TopK: f.TopK, TopP: f.TopP, MinP: f.MinP,
			RepeatPenalty: f.RepeatPenalty, RepeatLastN: f.RepeatLastN, Seed: seed},
		Threads:      f.Threads,
		ParseSpecial: !f.NoParseSpecial,
	}
	f.mergeTraceSteps()
	if f.Trace != "" || f.TraceOutput != "" {
		steps, err := trace.ParseSteps(f.Trace)
		if err != nil {
			return opts, tcfg, fmt.Errorf("--trace: %w", err)
		}
		tcfg.Steps = steps
	}
	if f.TraceTopK < 1 {
		return opts, tcfg, fmt.Errorf("--trace-top-k %d: want at least 1 entry", f.TraceTopK)
	}
	tcfg.Verbose, tcfg.TopK = f.TraceVerbose, f.TraceTopK
	switch strings.ToLower(f.OnError) {
	case "stop":
		tcfg.OnError = trace.Stop
	case "continue":
		tcfg.OnError = trace.Continue
	default:
		return opts, tcfg, fmt.Errorf("--on-error %q: want stop or continue", f.OnError)
	}
	for _, spec := range f.Inject {
		in, err := trace.ParseInjection(spec)
		if err != nil {
			return opts, tcfg, fmt.Errorf("--inject: %w", err)
		}
		opts.Injections = append(opts.Injections, in)
	}
	// The error policy applies also when nothing is recorded.
	opts.Trace = &trace.Config{OnError: tcfg.OnError}
	return opts, tcfg, nil
}

// header describes the run for a JSON trace.
func (rs *RunSetup) header(f *RunFlags) trace.Header {
	p := rs.Model.Params
	path := rs.Path
	name := rs.Model.Name
	if path == "" {
		path = "(built-in demo model)"
	}
	if name == "" {
		name = filepath.Base(path)
	}
	ri := trace.RunInfo{Prompt: rs.Prompt, NPredict: rs.Options.MaxTokens, Sampler: rs.Options.Sampler,
		Threads: resolvedThreads(rs.Options.Threads), Steps: rs.Trace.Steps.Names()}
	for _, in := range rs.Options.Injections {
		ri.Injections = append(ri.Injections, in.String())
	}
	return trace.Header{
		Version: Version,
		Model: trace.ModelInfo{Path: path, Name: name, Architecture: p.Arch, NumLayers: p.NLayer,
			HiddenDim: p.NEmbd, VocabSize: p.NVocab, NumHeads: p.NHead, NumKVHeads: p.NHeadKV,
			QuantType: rs.Model.FileType, FileSHA256: f.modelSHA256()},
		Run: ri,
	}
}

// NewSession starts a session of the setup's prompt and options.
func (rs *RunSetup) NewSession() (*pipeline.Session, error) {
	s, err := rs.Model.NewSession(rs.Prompt, rs.Options)
	if err != nil {
		return nil, BadInput(err)
	}
	return s, nil
}

// LiveSource returns a TUI source that runs the setup's session, pulled
// one event at a time. When tf is not nil every pulled event is also
// written to it (--trace-output), and each restart (`r`) begins the file
// anew (see TraceFile); a write error is kept in tf for the caller to
// report once the terminal is restored.
func (rs *RunSetup) LiveSource(tf *TraceFile) tui.Source {
	start := func() (func() (trace.Event, bool), func(), error) {
		opts := rs.Options
		if rs.Trace.Steps == 0 { // the TUI needs events to show
			rs.Trace.Steps = trace.AllSteps
		}
		opts.Trace = &rs.Trace
		if tf != nil {
			if err := tf.Begin(); err != nil {
				return nil, nil, err
			}
		}
		s, err := rs.Model.NewSession(rs.Prompt, opts)
		if err != nil {
			return nil, nil, err
		}
		next, stop := iter.Pull(s.Events())
		pull := func() (trace.Event, bool) {
			ev, ok := next()
			if ok && tf != nil {
				_ = tf.Write(ev) // kept in tf; the debugger goes on
			}
			return ev, ok
		}
		return pull, func() { stop(); s.Close() }, nil
	}
	p := rs.Model.Params
	return tui.NewLiveSource(start, tui.SourceInfo{Model: rs.Model.Name, Type: rs.Model.FileType, NLayer: p.NLayer,
		NPredict: rs.Options.MaxTokens, Prompt: rs.Prompt, Path: rs.Header.Model.Path})
}

// errInterrupted is returned when a signal stopped the run.
var errInterrupted = errors.New("interrupted")

// resetFlags restores every flag of cmd to its default after a run, so
// that in-process callers (tests) can execute the command again.
func resetFlags(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			_ = sv.Replace(nil)
		} else {
			_ = f.Value.Set(f.DefValue)
		}
		f.Changed = false
	})
}
