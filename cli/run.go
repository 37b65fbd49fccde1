package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/infertrace/infertrace/trace"
)

func init() { Root.AddCommand(newRunCmd()) }

// newRunCmd builds `infertrace run`.
func newRunCmd() *cobra.Command {
	var (
		f      RunFlags
		useTUI bool
	)
	cmd := &cobra.Command{
		Use:   "run [-m MODEL] [-p PROMPT] [flags]",
		Short: "Generate text, optionally tracing every state of the inference",
		Long: `run generates text from a prompt and streams it to stdout; prompt and
generation speed go to stderr. Without -m it runs the built-in demo model.

--trace prints the state machine's events on stderr, --trace-output writes
them as a JSON execution history (closed as valid JSON ending with
ExecutionAborted on SIGINT/SIGTERM), --inject writes faults into
intermediate tensors, --tui steps through the run interactively.`,
		Example: `  infertrace run -p "Once upon a time" -n 32
  infertrace run -m stories260K.gguf -p "Once upon a time" -n 32 --temp 0
  infertrace run -m model.gguf --temp 0.7 --top-k 40 --top-p 0.9 --seed 42 -t 2
  infertrace run -m model.gguf -n 8 --trace
  infertrace run -m model.gguf -n 8 --trace=attn,ffn,sample --trace-output trace.json
  infertrace run -m model.gguf --trace --inject nan@blk.3.ffn_out
  infertrace run -m ./Llama-hf-dir -p "Hello" --tui`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			return runRun(cmd, &f, useTUI)
		},
	}
	AddRunFlags(cmd, &f)
	cmd.Flags().BoolVar(&useTUI, "tui", false, "step through the run in the terminal UI")
	return cmd
}

func runRun(cmd *cobra.Command, f *RunFlags, useTUI bool) (err error) {
	if useTUI {
		// Refuse before loading the model: there is nothing to show on.
		what := cmd.Name() // "run --tui", "debug", or the root command
		switch {
		case !cmd.HasParent():
			what = "the debugger"
		case what == "run":
			what += " --tui"
		}
		if err := needTerminal(cmd, what, "use `infertrace run --trace` for a text trace (see --help)"); err != nil {
			return err
		}
	}
	rs, err := f.Setup()
	if err != nil {
		return err
	}
	defer rs.Model.Close()
	if useTUI {
		return runTUI(rs, f)
	}

	var jw *trace.JSONWriter
	if f.TraceOutput != "" {
		if jw, err = trace.CreateJSONFile(f.TraceOutput, rs.Header); err != nil {
			return BadInput(err)
		}
		defer jw.Close(trace.Summary{}) // no-op after the normal close or an abort
		defer func() {
			if r := recover(); r != nil {
				jw.Fail("InternalError", fmt.Sprintf("panic: %v", r), "this is a bug in infertrace; please report it")
				panic(r)
			}
		}()
	}

	var sinks []trace.Sink
	if f.Trace != "" {
		ts := trace.NewTextSink(cmd.ErrOrStderr(), rs.Trace, rs.piece)
		ts.SetColor(isTerminal(cmd.ErrOrStderr()))
		sinks = append(sinks, ts)
	}
	if jw != nil {
		sinks = append(sinks, jw)
	}

	// On SIGINT/SIGTERM the trace is closed at once as valid JSON ending
	// with ExecutionAborted; the run stops at its next event.
	var interrupted atomic.Pointer[os.Signal]
	if jw != nil {
		sigc := make(chan os.Signal, 1)
		done := make(chan struct{})
		signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
		defer func() { signal.Stop(sigc); close(done) }()
		go func() {
			select {
			case sig := <-sigc:
				// Abort first: once the flag is seen the command returns
				// and its deferred Close must find the trace terminated.
				jw.Abort("received " + sig.String())
				interrupted.Store(&sig)
			case <-done:
			}
		}()
	}

	out := cmd.OutOrStdout()
	var tFirst time.Time
	nGen := 0
	rs.Options.OnToken = func(_ int, text string) {
		if nGen == 0 {
			tFirst = time.Now()
		}
		nGen++
		testEnginePanic(nGen)
		io.WriteString(out, text)
	}
	s, err := rs.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()

	io.WriteString(out, rs.Prompt)
	t0 := time.Now()
	var tally trace.Tally
	for ev := range s.Events() {
		if interrupted.Load() != nil || aborted(jw) {
			break
		}
		tally.Add(ev)
		for _, sk := range sinks {
			if werr := sk.Write(ev); werr != nil && !aborted(jw) {
				return fmt.Errorf("trace: %w", werr)
			}
		}
	}
	if aborted(jw) {
		fmt.Fprintln(out)
		sig := "a signal"
		if p := interrupted.Load(); p != nil {
			sig = (*p).String()
		}
		return fmt.Errorf("%w by %s; trace closed as aborted in %s", errInterrupted, sig, f.TraceOutput)
	}
	end := time.Now()
	if tail := s.FlushText(); tail != "" {
		io.WriteString(out, tail)
	}
	fmt.Fprintln(out)

	sum := tally.Summary(end.Sub(t0))
	if tally.Status == "" { // recording nothing: no events but the final one
		sum.Status = trace.StatusSucceeded
	}
	sum.PromptTokens, sum.GeneratedTokens = len(s.PromptTokens()), nGen
	if s.Failure() != nil {
		sum.Status = trace.StatusFailed
	}
	for _, sk := range sinks {
		if cerr := sk.Close(sum); cerr != nil {
			return fmt.Errorf("trace: %w", cerr)
		}
	}

	stderr := cmd.ErrOrStderr()
	if !tFirst.IsZero() {
		prompt := tFirst.Sub(t0).Seconds()
		fmt.Fprintf(stderr, "prompt: %d tokens in %.3fs (%.1f tok/s)", len(s.PromptTokens()), prompt, float64(len(s.PromptTokens()))/prompt)
		if nGen > 1 {
			gen := end.Sub(tFirst).Seconds()
			fmt.Fprintf(stderr, "; generation: %d tokens in %.3fs (%.1f tok/s)", nGen-1, gen, float64(nGen-1)/gen)
		}
		fmt.Fprintln(stderr)
	}
	if s.ContextFull() {
		fmt.Fprintf(stderr, "infertrace: stopped after %d tokens: the context of %d tokens is full\n", nGen, rs.Model.Params.NCtx)
	}
	if is := s.Failure(); is != nil {
		if is.Code == "InternalError" { // the engine recovered from a panic
			return Bug(errors.New(is.Message))
		}
		return fmt.Errorf("%s: %s", is.Code, is.Message)
	}
	if n := s.Errors(); n > 0 {
		noun := "numerical errors"
		if n == 1 {
			noun = "numerical error"
		}
		fmt.Fprintf(stderr, "infertrace: run finished with %d %s (--on-error continue)\n", n, noun)
	}
	return nil
}

// aborted reports whether the signal handler terminated the JSON trace.
func aborted(jw *trace.JSONWriter) bool {
	return jw != nil && jw.Tally().Status == trace.StatusAborted
}

// piece names a token id for the text sink.
func (rs *RunSetup) piece(id int) string {
	if rs.Model.Vocab == nil {
		return ""
	}
	return rs.Model.Vocab.Piece(id)
}

// isTerminal reports whether w is a terminal (for colour).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
