package trace

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// States lists every state in pipeline order; a state's index in this slice
// is its bit in Steps.
var States = []State{Tokenize, Embed, LayerNorm, Attention, FFN, TransformerBlock,
	LMHead, Sample, Decode, KernelLaunch, BrickProfile}

// stateInfo is the step number and the --trace aliases of a state.
type stateInfo struct {
	step    int
	aliases []string
}

var stateInfos = map[State]stateInfo{
	Tokenize:         {1, []string{"tokenize", "encode"}},
	Embed:            {2, []string{"embed", "embedding"}},
	LayerNorm:        {3, []string{"layernorm", "ln", "norm"}},
	Attention:        {3, []string{"attention", "attn"}},
	FFN:              {3, []string{"ffn", "mlp"}},
	TransformerBlock: {3, []string{"transformer", "transformer_block", "layer"}},
	LMHead:           {4, []string{"lmhead", "lm_head", "head"}},
	Sample:           {5, []string{"sample", "sampling"}},
	Decode:           {6, []string{"decode", "detokenize"}},
	KernelLaunch:     {7, []string{"kernel", "kernel_launch"}},
	BrickProfile:     {8, []string{"brick", "brick_profile", "profiler", "bricks"}},
}

// Steps is a bit set of States (bit i = States[i]).
type Steps uint32

// AllSteps is the default trace selection: every state except
// KERNEL_LAUNCH, which is one event per kernel dispatch and too chatty.
var AllSteps = func() Steps {
	var s Steps
	for _, st := range States {
		if st != KernelLaunch {
			s = s.With(st)
		}
	}
	return s
}()

func stateBit(st State) Steps {
	for i, s := range States {
		if s == st {
			return 1 << uint(i)
		}
	}
	return 0
}

// Has reports whether st is in the set.
func (s Steps) Has(st State) bool { b := stateBit(st); return b != 0 && s&b != 0 }

// With returns s with st added.
func (s Steps) With(st State) Steps { return s | stateBit(st) }

// List returns the states of the set in pipeline order.
func (s Steps) List() []State {
	var out []State
	for _, st := range States {
		if s.Has(st) {
			out = append(out, st)
		}
	}
	return out
}

// Names returns the state names of the set in pipeline order.
func (s Steps) Names() []string {
	var out []string
	for _, st := range s.List() {
		out = append(out, string(st))
	}
	return out
}

// String formats the set as a comma-separated list of state names.
func (s Steps) String() string { return strings.Join(s.Names(), ",") }

// StepNumber returns the pipeline step number of st (1 TOKENIZE ... 8
// BRICK_PROFILE; the transformer block states share 3), or 0 if unknown.
func StepNumber(st State) int { return stateInfos[st].step }

// ParseState resolves a state name or alias, case-insensitively.
func ParseState(name string) (State, bool) {
	name = strings.TrimSpace(name)
	for _, st := range States {
		if strings.EqualFold(name, string(st)) {
			return st, true
		}
		for _, a := range stateInfos[st].aliases {
			if strings.EqualFold(name, a) {
				return st, true
			}
		}
	}
	return "", false
}

// ParseSteps parses a --trace value: comma-separated state names or
// aliases. "" and "all" select AllSteps.
func ParseSteps(spec string) (Steps, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, "all") {
		return AllSteps, nil
	}
	var s Steps
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if strings.EqualFold(part, "all") {
			s |= AllSteps
			continue
		}
		st, ok := ParseState(part)
		if !ok {
			return 0, fmt.Errorf("unknown trace step %q; known steps: %s", part, stepHelp())
		}
		s = s.With(st)
	}
	return s, nil
}

// stepHelp lists every state with its aliases, for error messages.
func stepHelp() string {
	parts := make([]string, 0, len(States))
	for _, st := range States {
		parts = append(parts, fmt.Sprintf("%s (%s)", st, strings.Join(stateInfos[st].aliases, ", ")))
	}
	return strings.Join(parts, "; ")
}

// OnError says what the engine does after a Jidoka error.
type OnError int

// OnError policies.
const (
	Stop     OnError = iota // stop at the first error (ExecutionFailed)
	Continue                // record the issue and keep running
)

// Config selects what a run traces and how the text sink prints it.
type Config struct {
	Steps   Steps   // states to emit
	Verbose bool    // --trace-verbose: include the first values per tensor
	TopK    int     // top-k entries of LM_HEAD/SAMPLE (DefaultTopK when 0)
	OnError OnError // Stop or Continue after a numerical error
}

// DefaultTopK is Config.TopK when unset.
const DefaultTopK = 10

// DefaultConfig traces AllSteps with top-10 lists and stops on errors.
func DefaultConfig() Config { return Config{Steps: AllSteps, TopK: DefaultTopK} }

// InjectKind is what an Injection writes into a tensor.
type InjectKind int

// Injection kinds.
const (
	InjectNaN    InjectKind = iota // NaN
	InjectInf                      // +Inf
	InjectNegInf                   // -Inf
	InjectZero                     // 0
	InjectScale                    // x * Factor
)

var injectNames = [...]string{"nan", "inf", "-inf", "zero", "scale"}

// String returns the spec spelling of k ("nan", "-inf", "scale").
func (k InjectKind) String() string {
	if k >= 0 && int(k) < len(injectNames) {
		return injectNames[k]
	}
	return fmt.Sprintf("InjectKind(%d)", int(k))
}

// StageNames lists the injectable/traced intermediate tensors in pipeline
// order.
var StageNames = []string{"embed", "attn_norm", "q_rope", "k_rope", "v", "attn_heads",
	"attn_out", "attn_residual", "ffn_norm", "ffn_gate", "ffn_up", "ffn_act", "ffn_out",
	"layer_out", "output_norm", "logits"}

// IsBlockStage reports whether stage lives inside a transformer block (and
// so may be qualified as blk.N.stage).
func IsBlockStage(stage string) bool {
	switch stage {
	case "embed", "output_norm", "logits":
		return false
	}
	return isStage(stage)
}

func isStage(stage string) bool {
	for _, s := range StageNames {
		if s == stage {
			return true
		}
	}
	return false
}

// Injection is a fault written into one intermediate tensor (--inject).
type Injection struct {
	Kind      InjectKind
	Factor    float64 // InjectScale only
	Op        string  // as written: "blk.3.ffn_out", "embed", "logits"
	Layer     int     // -1 when unqualified (every layer)
	Stage     string  // "ffn_out"
	Iteration int     // -1 = every iteration
	Index     int     // -1 = every element
}

// String formats the injection back into its spec form.
func (in Injection) String() string {
	var b strings.Builder
	if in.Kind == InjectScale {
		b.WriteString("scale=" + strconv.FormatFloat(in.Factor, 'g', -1, 64))
	} else {
		b.WriteString(in.Kind.String())
	}
	b.WriteString("@" + in.Op)
	if in.Iteration >= 0 {
		fmt.Fprintf(&b, ":iteration=%d", in.Iteration)
	}
	if in.Index >= 0 {
		fmt.Fprintf(&b, ":index=%d", in.Index)
	}
	return b.String()
}

// ParseInjection parses KIND@OP[:iteration=N][:index=K], KIND one of nan,
// inf, -inf, zero, scale=F, OP a stage name, block stages optionally
// qualified as blk.N.stage.
func ParseInjection(spec string) (Injection, error) {
	in := Injection{Layer: -1, Iteration: -1, Index: -1}
	kind, rest, ok := strings.Cut(strings.TrimSpace(spec), "@")
	if !ok {
		return in, fmt.Errorf("injection %q: want KIND@OP[:iteration=N][:index=K], e.g. nan@blk.0.ffn_out", spec)
	}
	kind = strings.ToLower(strings.TrimSpace(kind))
	switch {
	case kind == "nan":
		in.Kind = InjectNaN
	case kind == "inf" || kind == "+inf":
		in.Kind = InjectInf
	case kind == "-inf":
		in.Kind = InjectNegInf
	case kind == "zero":
		in.Kind = InjectZero
	case strings.HasPrefix(kind, "scale="):
		f, err := strconv.ParseFloat(strings.TrimPrefix(kind, "scale="), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return in, fmt.Errorf("injection %q: scale factor %q is not a finite number", spec, strings.TrimPrefix(kind, "scale="))
		}
		in.Kind, in.Factor = InjectScale, f
	case kind == "scale":
		return in, fmt.Errorf("injection %q: scale needs a factor, e.g. scale=1e30", spec)
	default:
		return in, fmt.Errorf("injection %q: unknown kind %q (want nan, inf, -inf, zero or scale=F)", spec, kind)
	}
	fields := strings.Split(rest, ":")
	in.Op = strings.TrimSpace(fields[0])
	if err := in.parseOp(); err != nil {
		return in, fmt.Errorf("injection %q: %w", spec, err)
	}
	for _, opt := range fields[1:] {
		key, val, ok := strings.Cut(opt, "=")
		if !ok {
			return in, fmt.Errorf("injection %q: option %q is not key=value (iteration=N or index=K)", spec, opt)
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 {
			return in, fmt.Errorf("injection %q: %s=%q is not a non-negative integer", spec, key, val)
		}
		switch strings.TrimSpace(key) {
		case "iteration", "iter":
			if in.Iteration >= 0 {
				return in, fmt.Errorf("injection %q: iteration given twice", spec)
			}
			in.Iteration = n
		case "index", "idx":
			if in.Index >= 0 {
				return in, fmt.Errorf("injection %q: index given twice", spec)
			}
			in.Index = n
		default:
			return in, fmt.Errorf("injection %q: unknown option %q (want iteration or index)", spec, key)
		}
	}
	return in, nil
}

func (in *Injection) parseOp() error {
	op := in.Op
	if op == "" {
		return fmt.Errorf("missing op after @ (one of %s)", strings.Join(StageNames, ", "))
	}
	if rest, ok := strings.CutPrefix(op, "blk."); ok {
		num, stage, ok := strings.Cut(rest, ".")
		if !ok {
			return fmt.Errorf("op %q: want blk.N.stage", op)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n > 1<<20 {
			return fmt.Errorf("op %q: layer %q is not a non-negative integer", op, num)
		}
		if !IsBlockStage(stage) {
			if isStage(stage) {
				return fmt.Errorf("op %q: %s is not a block stage and takes no blk.N. prefix", op, stage)
			}
			return fmt.Errorf("op %q: unknown stage %q (one of %s)", op, stage, strings.Join(StageNames, ", "))
		}
		in.Layer, in.Stage = n, stage
		return nil
	}
	if !isStage(op) {
		return fmt.Errorf("unknown op %q (one of %s; block stages may be qualified as blk.N.stage)", op, strings.Join(StageNames, ", "))
	}
	in.Stage = op
	return nil
}

// Matches reports whether the injection applies to stage at layer in
// iteration.
func (in Injection) Matches(stage string, layer, iteration int) bool {
	return stage == in.Stage &&
		(in.Layer < 0 || in.Layer == layer) &&
		(in.Iteration < 0 || in.Iteration == iteration)
}

// Apply writes the fault into x: every element, or only x[Index] (an index
// past the end is ignored).
func (in Injection) Apply(x []float32) {
	if in.Index >= 0 {
		if in.Index < len(x) {
			x[in.Index] = in.value(x[in.Index])
		}
		return
	}
	for i, v := range x {
		x[i] = in.value(v)
	}
}

func (in Injection) value(v float32) float32 {
	switch in.Kind {
	case InjectNaN:
		return float32(math.NaN())
	case InjectInf:
		return float32(math.Inf(1))
	case InjectNegInf:
		return float32(math.Inf(-1))
	case InjectZero:
		return 0
	case InjectScale:
		return float32(float64(v) * in.Factor)
	}
	return v
}
