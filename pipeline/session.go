package pipeline

import (
	"errors"
	"fmt"
	"iter"
	"runtime"
	"time"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// Options configure a Session.
type Options struct {
	MaxTokens int                 // tokens to generate (-n); at least 1
	Sampler   trace.SamplerConfig // temperature 0 = greedy
	Threads   int                 // matmul workers; 0 = GOMAXPROCS
	// FloatPath multiplies dequantized weights by float32 activations (the
	// math.json reference) instead of quantizing activations for integer
	// dot products as llama.cpp does (the default).
	FloatPath    bool
	Trace        *trace.Config     // nil: record nothing (Jidoka still checks)
	Injections   []trace.Injection // faults written into stage outputs
	ParseSpecial bool              // map special-token text in the prompt
	Tokens       []int             // prompt token ids; set, the prompt is not tokenized
	AllLogits    bool              // keep the logits of every prompt position (PromptLogits)
	// OnToken, when set, is called for every generated token (EOG
	// excluded) with the text it adds.
	OnToken func(id int, text string)
}

// ErrConsumed is returned by a Session used twice.
var ErrConsumed = errors.New("session already ran")

// Session runs one prompt through a Model, yielding trace events. It is
// single-use and not safe for concurrent use.
type Session struct {
	m    *Model
	opts Options
	cfg  trace.Config
	rec  bool // any state recorded
	kern bool // KERNEL_LAUNCH recorded
	prof *trace.Profiler

	pool *tensor.Pool

	prompt     []int
	promptText string
	pieces     []string
	tokenizeD  time.Duration
	history    []int
	text       []byte
	dec        Decoder
	sampler    *Sampler
	allLogits  bool

	// Forward-pass buffers, sized for the prompt batch.
	x, xb, q, k, v, att, ao, gate, up []float32
	logits, lastLogits                []float32
	promptLogits                      []float32
	kcache, vcache                    [][]float32
	ropeCos, ropeSin                  []float32
	scoreBufs                         chan []float32
	attLayer, attN                    int
	attQ, attOut                      []float32
	attnRange                         func(start, end int)
	eng                               engine // forward.go: parallel ops and attention timers
	ctx, pos                          int
	ctxFull                           bool
	one                               [1]int
	topIdx                            []int // the last top-k of topLogits
	topValid                          bool  // topIdx ranks this iteration's lastLogits

	// Event state.
	yield     func(trace.Event) bool
	inYield   bool
	ran       bool
	stopped   bool         // the consumer stopped pulling
	failure   *trace.Issue // the Jidoka error that stopped the run
	tainted   bool         // a non-finite stage was reported this iteration
	kvTainted []bool       // per layer: the KV cache holds NaN/Inf
	errCount  int
	warnings  int
	pending   []trace.Issue
	nextID    int64
	enterText string // extra input of the next begin (TOKENIZE)
	enterIDs  []int  // extra input of the next begin (EMBED)
	frames    [4]frame
	depth     int
	iterT0    time.Time
	consumer  time.Duration // time spent in the consumer this iteration (profiling only)

	// The last stage recorded and its summary: the next state's input is
	// that very tensor, unchanged, so begin need not summarise it again.
	lastStage []float32
	lastSum   *stats.Summary

	blocks recBlocks // storage of recorded payloads and summaries

	// Stages recorded but not yet summarised (flushSums); see stage.
	deferred []deferredSum
	bins     [][]int32            // flushSums: per worker, indexes into deferred
	flushFn  func(start, end int) // s.flushRange, bound once
	topLogit []float32            // flushSums: the logits whose top-k a worker ranks, or nil

	// Next's pull iterator over Events, started by the first Next.
	pullNext func() (trace.Event, bool)
	pullStop func()
}

// recBlocks hands out the payloads, summaries and shapes that recorded
// events carry. They belong to the consumer, which may keep them (the
// TUI keeps every event), so none is ever reused; but one allocation
// serves many of them rather than one each (a traced decode step records
// ~130 events and ~160 summaries).
type recBlocks struct {
	payloads []trace.Payload
	sums     []stats.Summary
	ints     []int
}

// recBlock is the number of values a recBlocks allocation holds.
const recBlock = 64

// payload returns a zero Payload with the given position fields (set in
// place: a Payload is ~380 bytes).
func (b *recBlocks) payload(it, layer int, parent int64) *trace.Payload {
	if len(b.payloads) == 0 {
		b.payloads = make([]trace.Payload, recBlock)
	}
	q := &b.payloads[0]
	b.payloads = b.payloads[1:]
	q.Iteration, q.Layer, q.Parent = it, layer, parent
	return q
}

func (b *recBlocks) summary(v *stats.Summary) *stats.Summary {
	q := b.slot()
	*q = *v
	return q
}

// slot returns a zero summary.
func (b *recBlocks) slot() *stats.Summary {
	if len(b.sums) == 0 {
		b.sums = make([]stats.Summary, recBlock)
	}
	q := &b.sums[0]
	b.sums = b.sums[1:]
	return q
}

// shape returns {rows, cols} (full capacity: an append by the consumer
// copies rather than writing into the next shape).
func (b *recBlocks) shape(rows, cols int) []int {
	if len(b.ints) < 2 {
		b.ints = make([]int, 2*recBlock)
	}
	q := b.ints[:2:2]
	b.ints = b.ints[2:]
	q[0], q[1] = rows, cols
	return q
}

// frame is an open state: Entered yielded (rec) or merely computed.
type frame struct {
	state   trace.State
	rec     bool
	id      int64
	start   time.Time
	payload *trace.Payload
}

// NewSession tokenizes the prompt and allocates every buffer of the run.
func (m *Model) NewSession(prompt string, opts Options) (*Session, error) {
	p := &m.Params
	if opts.MaxTokens < 1 {
		opts.MaxTokens = 1
	}
	s := &Session{m: m, opts: opts, promptText: prompt}
	if opts.Trace != nil {
		s.cfg = *opts.Trace
		if s.cfg.TopK <= 0 {
			s.cfg.TopK = trace.DefaultTopK
		}
		s.rec = s.cfg.Steps != 0
		s.kern = s.cfg.Steps.Has(trace.KernelLaunch)
		if s.cfg.Steps.Has(trace.BrickProfile) {
			s.prof = trace.NewProfiler()
		}
	}

	t0 := time.Now()
	switch {
	case opts.Tokens != nil:
		s.prompt = append([]int(nil), opts.Tokens...)
	case m.Vocab == nil:
		return nil, fmt.Errorf("%s: no tokenizer: pass prompt token ids", m.Name)
	default:
		ids, err := m.Vocab.Encode(prompt, opts.ParseSpecial)
		if err != nil {
			return nil, fmt.Errorf("tokenize prompt: %w", err)
		}
		s.prompt = ids
	}
	s.tokenizeD = time.Since(t0)
	if len(s.prompt) == 0 {
		return nil, errors.New("the prompt tokenizes to no tokens")
	}
	if m.Vocab != nil {
		s.dec = m.Vocab.NewDecoder()
		s.pieces = make([]string, len(s.prompt))
		for i, id := range s.prompt {
			s.pieces[i] = m.Vocab.Piece(id)
		}
	}

	n := len(s.prompt)
	s.ctx = n + opts.MaxTokens
	if p.NCtx > 0 && s.ctx > p.NCtx {
		if n > p.NCtx {
			return nil, fmt.Errorf("prompt of %d tokens exceeds the context of %d", n, p.NCtx)
		}
		s.ctx = p.NCtx
	}
	if err := checkSessionMemory(p, s.ctx); err != nil {
		return nil, err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	s.pool = tensor.NewPool(threads)
	s.pool.FloatPath = opts.FloatPath
	qDim, kvDim := p.NHead*p.HeadDim, p.NHeadKV*p.HeadDim
	s.allLogits = opts.AllLogits
	logitRows := 1
	if s.allLogits || s.rec {
		logitRows = n
	}
	s.x = make([]float32, n*p.NEmbd)
	s.xb = make([]float32, n*p.NEmbd)
	s.ao = make([]float32, n*p.NEmbd)
	s.q = make([]float32, n*qDim)
	s.att = make([]float32, n*qDim)
	s.k = make([]float32, n*kvDim)
	s.v = make([]float32, n*kvDim)
	s.gate = make([]float32, n*p.NFF)
	s.up = make([]float32, n*p.NFF)
	s.logits = make([]float32, logitRows*p.NVocab)
	s.kvTainted = make([]bool, p.NLayer)
	s.kcache = make([][]float32, p.NLayer)
	s.vcache = make([][]float32, p.NLayer)
	for l := range s.kcache {
		s.kcache[l] = make([]float32, s.ctx*kvDim)
		s.vcache[l] = make([]float32, s.ctx*kvDim)
	}
	s.ropeCos, s.ropeSin = ropeTables(p, s.ctx)
	s.scoreBufs = make(chan []float32, threads)
	for range threads {
		s.scoreBufs <- make([]float32, s.ctx)
	}
	s.attnRange = s.attnRangeFn
	s.history = make([]int, 0, s.ctx)
	s.history = append(s.history, s.prompt...)
	s.text = make([]byte, 0, 8*min(opts.MaxTokens, s.ctx)) // -n may be far beyond the context
	s.sampler = NewSampler(opts.Sampler, p.NVocab)
	s.topIdx = make([]int, 0, max(s.cfg.TopK, 1))
	return s, nil
}

// PromptTokens returns the prompt's token ids.
func (s *Session) PromptTokens() []int { return s.prompt }

// Generated returns the ids generated so far (EOG included when sampled).
func (s *Session) Generated() []int { return s.history[len(s.prompt):] }

// Text returns the generated text so far.
func (s *Session) Text() string { return string(s.text) }

// ContextFull reports whether generation stopped because the context
// (the model's n_ctx) was full before MaxTokens tokens.
func (s *Session) ContextFull() bool { return s.ctxFull }

// Errors returns the number of Jidoka errors met (with OnError Continue a
// run may finish with errors).
func (s *Session) Errors() int { return s.errCount }

// Failure returns the Jidoka error that stopped the run, or nil.
func (s *Session) Failure() *trace.Issue { return s.failure }

// PromptLogits returns the logits of every prompt position (row-major,
// NVocab per row) when Options.AllLogits was set, after the run.
func (s *Session) PromptLogits() []float32 { return s.promptLogits }

// Close abandons a run still pulled by Next and stops the session's
// workers.
func (s *Session) Close() {
	if s.pullStop != nil {
		s.pullStop()
	}
	s.pool.Close()
}

// Next advances the run by exactly one transition and returns the event it
// produced: the engine computes up to that event and waits there until the
// next call, so a caller (a debugger, a test) can stop anywhere, inspect
// the event and go on. ok is false after the final event. Next and Events
// are two ways to consume the same run: use one of them.
func (s *Session) Next() (ev trace.Event, ok bool) {
	if s.pullNext == nil {
		s.pullNext, s.pullStop = iter.Pull(s.Events())
	}
	return s.pullNext()
}

// Run runs the session to the end without looking at the events.
func (s *Session) Run() error {
	for range s.Events() {
	}
	if s.failure != nil {
		return fmt.Errorf("%s: %s", s.failure.Code, s.failure.Message)
	}
	return nil
}

// Events runs the session, yielding every transition of the states in the
// trace config's Steps, ExecutionStarted first and ExecutionSucceeded or
// ExecutionFailed last. Stop ranging to abandon the run. It runs once; a
// second call yields nothing. An engine panic is reported as an
// ExecutionFailed event (Error "InternalError") and ends the sequence.
func (s *Session) Events() iter.Seq[trace.Event] {
	return func(yield func(trace.Event) bool) {
		if s.ran {
			return
		}
		s.ran = true
		s.yield = yield
		defer func() { s.yield = nil }()
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if s.inYield { // the consumer's panic, not ours
				panic(r)
			}
			is := trace.Issue{Severity: trace.SevError, Code: "InternalError", Message: fmt.Sprintf("engine panic: %v", r),
				Hint: "this is a bug in infertrace; please report it with the trace file"}
			s.failure = &is
			s.closeOpen()
			s.emit(trace.Event{Type: trace.ExecutionFailed, Error: is.Code, Cause: is.Message, Hint: is.Hint})
		}()
		s.run()
	}
}

func (s *Session) run() {
	s.emit(trace.Event{Type: trace.ExecutionStarted, Run: s.runInfo()})
	s.enterText = s.promptText
	f := s.begin(trace.Tokenize, 0, trace.NoLayer, 0, 0, nil)
	if f.rec {
		f.payload.TokenIDs = s.prompt
		f.payload.Pieces = s.pieces
		f.payload.Shape = []int{len(s.prompt)}
		f.start = time.Now().Add(-s.tokenizeD)
	}
	if !s.end(f) {
		return
	}
	// Jidoka: a tokenizer with more tokens than the model's embedding rows
	// can emit ids the model cannot embed (wrong tokenizer for the model).
	if v := s.m.Vocab; v != nil && v.Size() > s.m.Params.NVocab {
		s.jidoka(trace.ShapeMismatch("token_embd.weight", []int{s.m.Params.NEmbd, v.Size()}, []int{s.m.Params.NEmbd, s.m.Params.NVocab}))
	}

	toks := s.prompt
	for it := 0; it < s.opts.MaxTokens && !s.halted(); it++ {
		if s.pos+len(toks) > s.ctx {
			s.ctxFull = true
			break
		}
		id, eog, ok := s.iterate(it, toks)
		if !ok || eog {
			break
		}
		s.one[0] = id
		toks = s.one[:]
	}
	switch {
	case s.stopped:
	case s.failure != nil:
		s.closeOpen()
		s.emit(trace.Event{Type: trace.ExecutionFailed, Error: s.failure.Code, Cause: s.failure.Message, Hint: s.failure.Hint})
	default:
		ev := trace.Event{Type: trace.ExecutionSucceeded}
		if is := trace.GarbageOutput(string(s.text)); is != nil {
			s.warnings++
			s.pending = append(s.pending, *is)
		}
		if len(s.pending) > 0 {
			ev.Payload = &trace.Payload{Iteration: len(s.Generated()), Layer: trace.NoLayer, Issues: s.pending}
			s.pending = nil
		}
		s.emit(ev)
	}
}

// iterate runs one iteration: the forward pass over toks, SAMPLE, DECODE
// and BRICK_PROFILE. It returns the sampled token, whether it ends
// generation, and false when the run must stop.
func (s *Session) iterate(it int, toks []int) (id int, eog, ok bool) {
	s.tainted, s.topValid = false, false
	if s.prof != nil {
		s.prof.Start(it)
		s.iterT0, s.consumer = time.Now(), 0
	}
	if !s.forward(it, toks) {
		return 0, false, false
	}
	if it == 0 && s.allLogits {
		s.promptLogits = append([]float32(nil), s.logits[:len(s.prompt)*s.m.Params.NVocab]...)
	}
	if id, ok = s.sampleStep(it); !ok {
		return 0, false, false
	}
	s.history = append(s.history, id)
	eog = s.m.Vocab != nil && s.m.Vocab.IsEOG(id)
	if !eog && !s.decodeStep(it, id) {
		return 0, false, false
	}
	if s.prof != nil && !s.profileStep(it) {
		return 0, false, false
	}
	return id, eog, true
}

func (s *Session) runInfo() *trace.RunInfo {
	ri := &trace.RunInfo{Prompt: s.promptText, NPredict: s.opts.MaxTokens, Sampler: s.opts.Sampler, Threads: s.pool.Threads(),
		Steps: s.cfg.Steps.Names(), Injections: []string{}}
	if ri.Steps == nil {
		ri.Steps = []string{}
	}
	for _, in := range s.opts.Injections {
		ri.Injections = append(ri.Injections, in.String())
	}
	return ri
}

// sampleStep runs SAMPLE on the last logits.
func (s *Session) sampleStep(it int) (int, bool) {
	f := s.begin(trace.Sample, it, trace.NoLayer, 1, s.m.Params.NVocab, nil)
	t := s.tick()
	id, prob := s.sampler.Sample(s.lastLogits, s.history)
	s.tock(trace.Sampling, t, 0, 0)
	if id < 0 || id >= s.m.Params.NVocab {
		is := trace.VocabOverflow(id, s.m.Params.NVocab)
		s.failure = &is
		return 0, false
	}
	if f.rec {
		cfg := s.opts.Sampler
		f.payload.Sampler = &cfg
		ids, probs := s.sampler.Candidates()
		for i := 0; i < len(ids) && i < s.cfg.TopK; i++ {
			f.payload.TopKProbs = append(f.payload.TopKProbs, trace.TokenScore{ID: ids[i], Score: float64(probs[i]), Piece: s.piece(ids[i])})
		}
		sid := id
		f.payload.SampledID = &sid
		f.payload.SampledProb = prob
		f.payload.SampledRank = s.rankOf(id)
	}
	return id, s.end(f)
}

// decodeStep runs DECODE: the token's text is streamed out.
func (s *Session) decodeStep(it, id int) bool {
	f := s.begin(trace.Decode, it, trace.NoLayer, 1, 1, nil)
	var text string
	if s.dec != nil {
		text = s.dec.Add(id)
	}
	s.text = append(s.text, text...)
	if s.opts.OnToken != nil {
		s.opts.OnToken(id, text)
	}
	if f.rec {
		tid := id
		f.payload.TokenID = &tid
		f.payload.Piece = s.piece(id)
		f.payload.TextAdded = text
	}
	return s.end(f)
}

// profileStep closes the iteration with its BRICK_PROFILE.
func (s *Session) profileStep(it int) bool {
	f := s.begin(trace.BrickProfile, it, trace.NoLayer, 0, 0, nil)
	// The iteration's wall time is the engine's: the time the consumer
	// held each event (sinks writing, a paused debugger) is not part of it.
	prof := s.prof.Finish((time.Since(s.iterT0) - s.consumer).Nanoseconds())
	if f.rec {
		f.payload.Profile = &prof
		f.payload.Shape = nil
	}
	return s.end(f)
}

func (s *Session) piece(id int) string {
	if s.m.Vocab == nil {
		return ""
	}
	return s.m.Vocab.Piece(id)
}

// rankOf is the 1-based rank of id among the last logits: its place in the
// top-k list LM_HEAD recorded for these logits when it is there (the
// sampled token nearly always is), else a pass over the vocabulary.
func (s *Session) rankOf(id int) int {
	if s.topValid {
		for i, t := range s.topIdx {
			if t == id {
				return i + 1
			}
		}
	}
	return rank(s.lastLogits, id)
}

// topLogits returns the cfg.TopK largest logits with their pieces.
func (s *Session) topLogits(logits []float32) []trace.TokenScore {
	// Ranked by a worker while the others summarise LM_HEAD's stages.
	s.topLogit = logits
	s.flushSums()
	s.topValid = &logits[0] == &s.lastLogits[0] && len(logits) == len(s.lastLogits)
	out := make([]trace.TokenScore, len(s.topIdx))
	for i, id := range s.topIdx {
		out[i] = trace.TokenScore{ID: id, Score: float64(logits[id]), Piece: s.piece(id)}
	}
	return out
}

// recording reports whether any state is recorded (stats are computed).
func (s *Session) recording() bool { return s.rec }

func (s *Session) halted() bool { return s.stopped || s.failure != nil }

// emit assigns the next id and yields ev; false once the consumer stopped.
func (s *Session) emit(ev trace.Event) bool {
	if s.stopped || s.yield == nil {
		return false
	}
	s.nextID++
	ev.ID, ev.PreviousID, ev.Time = s.nextID, s.nextID-1, time.Now()
	s.inYield = true
	ok := s.yield(ev)
	s.inYield = false
	if s.prof != nil {
		s.consumer += time.Since(ev.Time)
	}
	if !ok {
		s.stopped = true
	}
	return ok
}

// begin opens state st; when st is recorded it yields TaskStateEntered,
// whose payload carries the statistics of input (when not nil) and
// s.enterText / s.enterIDs (consumed). The frame stays valid until the
// matching end.
func (s *Session) begin(st trace.State, it, layer, rows, cols int, input []float32) *frame {
	s.flushSums()
	f := &s.frames[s.depth]
	s.depth++
	*f = frame{state: st}
	text, ids := s.enterText, s.enterIDs
	s.enterText, s.enterIDs = "", nil
	if !s.rec || !s.cfg.Steps.Has(st) || s.halted() {
		return f
	}
	in := s.blocks.payload(it, layer, s.parentID())
	in.Text = text
	if ids != nil {
		in.TokenIDs = append([]int(nil), ids...)
	}
	if rows > 0 {
		in.Shape = s.blocks.shape(rows, cols)
	}
	if input != nil {
		in.Stats = s.inputSummary(input)
	}
	if !s.emit(trace.Event{Type: trace.TaskStateEntered, State: st, Payload: in}) {
		return f
	}
	f.rec, f.id, f.start = true, s.nextID, time.Now()
	f.payload = s.blocks.payload(it, layer, in.Parent)
	f.payload.Shape = in.Shape
	return f
}

// end closes the innermost state, yielding its TaskStateExited when it is
// recorded. It returns false when the run must stop.
func (s *Session) end(f *frame) bool {
	s.flushSums()
	s.depth--
	if f.rec && !s.halted() {
		f.payload.DurationUS = float64(time.Since(f.start).Nanoseconds()) / 1e3
		if len(s.pending) > 0 {
			f.payload.Issues = append(f.payload.Issues, s.pending...)
			s.pending = s.pending[:0]
		}
		s.emit(trace.Event{Type: trace.TaskStateExited, State: f.state, Payload: f.payload})
	}
	return !s.halted()
}

// closeOpen exits the states a failure left open, innermost first, so that
// the history stays well formed (every Entered has its Exited) and keeps
// what they had computed: the producer's state exits with the statistics
// of its outputs so far, the failing tensor's included, and the failure
// as an issue.
func (s *Session) closeOpen() {
	s.flushSums()
	first := true
	for s.depth > 0 {
		s.depth--
		f := &s.frames[s.depth]
		if !f.rec || s.stopped {
			continue
		}
		f.payload.DurationUS = float64(time.Since(f.start).Nanoseconds()) / 1e3
		f.payload.Issues = append(f.payload.Issues, s.pending...)
		s.pending = s.pending[:0]
		if first && s.failure != nil {
			f.payload.Issues = append(f.payload.Issues, *s.failure)
		}
		first = false
		s.emit(trace.Event{Type: trace.TaskStateExited, State: f.state, Payload: f.payload})
	}
}

// parentID is the id of the innermost recorded open state (0 at top level).
func (s *Session) parentID() int64 {
	for i := s.depth - 2; i >= 0; i-- {
		if s.frames[i].rec {
			return s.frames[i].id
		}
	}
	return 0
}

// stage is called with every intermediate tensor right after it is
// computed: it applies matching fault injections, runs the Jidoka check
// and, when a recorded state takes the tensor's statistics, defers them to
// flushSums, which summarises the stages of a state together, split across
// the pool's workers (the engine's serial part otherwise leaves all but
// one of them idle). It returns false when the run must stop.
func (s *Session) stage(st stage, it, layer int, op string, x []float32) bool {
	for i := range s.opts.Injections {
		if in := &s.opts.Injections[i]; in.Matches(stageNames[st], layer, it) {
			in.Apply(x)
		}
	}
	s.lastStage, s.lastSum = nil, nil
	if s.rec && s.recorder() >= 0 {
		d := deferredSum{st: st, x: x, sum: s.blocks.slot()}
		if checkInputSummaries {
			d.want = stats.Compute(x)
		}
		s.deferred = append(s.deferred, d)
		s.lastStage, s.lastSum = x, d.sum
		if st == stFFNUp {
			// SwiGLU overwrites ffn_gate in place next, within FFN.
			s.flushSums()
		}
	}
	if !finite(x) {
		s.numerical(st, op, layer, it, x)
	}
	return !s.halted()
}

// deferredSum is a recorded stage whose summary flushSums computes: x is
// unchanged until then, as no state begins or ends in between and the
// engine rewrites no stage output within a state (but ffn_gate, flushed
// at once).
type deferredSum struct {
	st   stage
	x    []float32
	sum  *stats.Summary // filled by flushSums
	want stats.Summary  // checkInputSummaries: computed at the stage
}

// recorder returns the depth of the innermost open recorded state, the
// one that takes a stage's statistics, or -1.
func (s *Session) recorder() int {
	for i := s.depth - 1; i >= 0; i-- {
		if s.frames[i].rec {
			return i
		}
	}
	return -1
}

// flushMin is the least number of values flushSums splits across the
// pool: a launch costs about as much as summarising ~1000 values. A
// variable for the tests, which split every flush (0) or none.
var flushMin = 2048

// flushSums summarises the deferred stages and records them, in stage
// order, as record does. The summaries, the recording (recordJob) and the
// top-k of topLogit, when set, are dealt to the pool's workers whole,
// largest first to the least loaded: each summary is computed by one
// goroutine in Compute's order, so the bits are those of a serial run.
func (s *Session) flushSums() {
	if len(s.deferred) == 0 && s.topLogit == nil {
		return
	}
	total := 0
	for _, d := range s.deferred {
		total += len(d.x)
	}
	if n := min(s.pool.Threads(), len(s.deferred)+b2n(s.topLogit != nil)+1); n > 1 && total+len(s.topLogit) >= flushMin {
		s.deal(n)
		if s.flushFn == nil {
			s.flushFn = s.flushRange
		}
		s.pool.Parallel(n, s.flushFn)
	} else {
		for _, d := range s.deferred {
			*d.sum = stats.Compute(d.x)
		}
		if s.topLogit != nil {
			s.topIdx = stats.TopK(s.topLogit, s.cfg.TopK, s.topIdx[:0])
		}
		s.recordDeferred()
	}
	s.topLogit = nil
	for i := range s.deferred {
		d := &s.deferred[i]
		if checkInputSummaries && fmt.Sprint(*d.sum) != fmt.Sprint(d.want) {
			panic(fmt.Sprintf("%s changed between its stage and its summary: %+v at the stage, %+v later", stageNames[d.st], d.want, *d.sum))
		}
		d.x, d.sum = nil, nil
	}
	s.deferred = s.deferred[:0]
}

// recordDeferred records the deferred stages in stage order. The maps
// take the summaries' pointers, so it need not wait for their values:
// flushSums runs it as one more job beside them (recordJob).
func (s *Session) recordDeferred() {
	for _, d := range s.deferred {
		s.record(d.st, d.x, d.sum)
	}
}

func b2n(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Jobs of a worker's bin besides the deferred summaries: the top-k of
// topLogit, and recordDeferred.
const (
	topKJob   = -1
	recordJob = -2
)

// recordCost is what recordDeferred costs per deferred stage, in values
// summarised in the same time (two map entries of ~200 ns each, at ~1.2
// ns per value summarised).
const recordCost = 400

// deal fills s.bins[:n] with the deferred summaries, recordJob and
// topKJob, each to the bin with the least work so far, largest first.
func (s *Session) deal(n int) {
	if len(s.bins) < n {
		s.bins = make([][]int32, n)
	}
	for b := range s.bins[:n] {
		s.bins[b] = s.bins[b][:0]
	}
	var load [64]int
	n = min(n, len(load))
	add := func(job int32, size int) {
		b := 0
		for i := 1; i < n; i++ {
			if load[i] < load[b] {
				b = i
			}
		}
		load[b] += size
		s.bins[b] = append(s.bins[b], job)
	}
	if s.topLogit != nil {
		// A top-k scan costs about a third of a summary of as many values.
		add(topKJob, len(s.topLogit)/3)
	}
	add(recordJob, recordCost*len(s.deferred))
	// A state defers a handful of stages: sort the first 16 by size (an
	// insertion sort on the stack), deal any further ones in order.
	var order [16]int32
	k := min(len(s.deferred), len(order))
	for i := range k {
		j := i
		for ; j > 0 && len(s.deferred[order[j-1]].x) < len(s.deferred[i].x); j-- {
			order[j] = order[j-1]
		}
		order[j] = int32(i)
	}
	for _, i := range order[:k] {
		add(i, len(s.deferred[i].x))
	}
	for i := k; i < len(s.deferred); i++ {
		add(int32(i), len(s.deferred[i].x))
	}
}

// flushRange computes the jobs of bins start..end-1 (Parallel's fn: it
// calls nothing of the pool, and every job writes only its own summary,
// s.topIdx or, recordJob, the open states' payloads).
func (s *Session) flushRange(start, end int) {
	for _, bin := range s.bins[start:end] {
		for _, j := range bin {
			switch j {
			case topKJob:
				s.topIdx = stats.TopK(s.topLogit, s.cfg.TopK, s.topIdx[:0])
				continue
			case recordJob:
				s.recordDeferred()
				continue
			}
			d := &s.deferred[j]
			*d.sum = stats.Compute(d.x)
		}
	}
}

// record adds the statistics sum (and, verbose, the first values) of stage
// st to the innermost open recorded state and to an enclosing recorded
// TRANSFORMER_BLOCK: each state's tensors map holds every intermediate it
// computed (a block computes all of its layer's). A state's output stage
// also becomes its payload's Stats.
func (s *Session) record(st stage, x []float32, sum *stats.Summary) {
	inner := true
	for i := s.depth - 1; i >= 0; i-- {
		f := &s.frames[i]
		if !f.rec {
			continue
		}
		if !inner && f.state != trace.TransformerBlock {
			continue
		}
		inner = false
		if f.payload.Tensors == nil {
			f.payload.Tensors = make(map[string]*stats.Summary, tensorsHint(f.state))
		}
		f.payload.Tensors[stageNames[st]] = sum
		if isOutput(f.state, st) {
			f.payload.Stats = sum
		}
		if s.cfg.Verbose {
			if f.payload.Values == nil {
				f.payload.Values = make(map[string][]float32)
			}
			f.payload.Values[stageNames[st]] = append([]float32(nil), x[:min(len(x), verboseValues)]...)
		}
	}
}

// tensorsHint is how many stages state st records when every state is
// traced: its tensors map is made that size at once (a block's 13 entries
// would otherwise grow it twice).
func tensorsHint(st trace.State) int {
	switch st {
	case trace.TransformerBlock:
		return int(stLayerOut - stAttnNorm + 1)
	case trace.Attention:
		return int(stAttnResidual - stQRope + 1)
	case trace.FFN:
		return int(stLayerOut - stFFNGate + 1)
	case trace.LMHead:
		return 2
	}
	return 1
}

// checkInputSummaries makes inputSummary verify every reused summary, and
// flushSums every deferred one, against one computed at the stage (set by
// the package's tests).
var checkInputSummaries = false

// inputSummary summarises the input of a state being entered. The input is
// the tensor the previous stage produced (a block's input is the last
// layer_out, attention's the attn_norm output, ...), which nothing has
// changed since: its recorded summary is reused rather than computed
// again, a fifth of a traced step's statistics, and shared (summaries in
// payloads are read-only).
func (s *Session) inputSummary(input []float32) *stats.Summary {
	if s.lastSum != nil && len(input) > 0 && len(input) == len(s.lastStage) && &input[0] == &s.lastStage[0] {
		v := s.lastSum
		if checkInputSummaries {
			if fresh := stats.Compute(input); fmt.Sprint(fresh) != fmt.Sprint(*v) {
				panic(fmt.Sprintf("input of a state changed after its stage was recorded: recorded %+v, now %+v", *v, fresh))
			}
		}
		return v
	}
	v := stats.Compute(input)
	return s.blocks.summary(&v)
}

// isOutput reports whether stage st is the output of state state.
func isOutput(state trace.State, st stage) bool {
	switch state {
	case trace.Embed:
		return st == stEmbed
	case trace.LayerNorm:
		return st == stAttnNorm || st == stFFNNorm
	case trace.Attention:
		return st == stAttnResidual
	case trace.FFN, trace.TransformerBlock:
		return st == stLayerOut
	case trace.LMHead:
		return st == stLogits
	}
	return false
}

// verboseValues is how many leading values --trace-verbose records.
const verboseValues = 8

// numerical handles a stage output holding NaN or Inf. Stages are checked
// in order, so the first one of an iteration is the producer (its inputs
// were finite); later ones only propagate it.
func (s *Session) numerical(sg stage, op string, layer, it int, x []float32) {
	if (sg == stKRope || sg == stV) && layer >= 0 {
		s.kvTainted[layer] = true // later iterations read it from the cache
	}
	if sg == stAttnHeads && layer >= 0 && s.kvTainted[layer] {
		s.tainted = true // propagated from an earlier iteration through the KV cache
	}
	if s.tainted {
		return
	}
	s.tainted = true
	st := s.frames[max(s.depth-1, 0)].state
	s.jidoka(trace.NumericalIssue(op, st, layer, it, stats.Compute(x)))
}

// jidoka handles an error found by a check: it stops the run, or with
// OnError Continue records it in the next Exited payload.
func (s *Session) jidoka(is trace.Issue) {
	s.errCount++
	if s.cfg.OnError == trace.Continue {
		s.pending = append(s.pending, is)
		return
	}
	s.failure = &is
}

// failShape stops the run on a structural error (bad token id, shape). A
// token id outside the vocabulary met at EMBED (a prompt given as ids) is
// reported at embed, not at sample where trace.VocabOverflow places it.
func (s *Session) failShape(is trace.Issue, _ int) {
	if is.Code == trace.CodeVocabOverflow && s.depth > 0 && s.frames[s.depth-1].state == trace.Embed {
		is.Op = "embed"
		is.Hint = "a prompt token id is not a row of token_embd.weight: check the ids against the model's vocab_size (inspect)"
	}
	s.errCount++
	s.failure = &is
}

// finite reports whether x holds no NaN and no Inf; this scan runs on
// every stage output (tensor.AllFinite: an AVX2 exponent-bits test).
func finite(x []float32) bool { return tensor.AllFinite(x) }

// tick starts a brick timing when profiling; 0 otherwise.
func (s *Session) tick() int64 {
	if s.prof == nil {
		return 0
	}
	return time.Now().UnixNano()
}

// tock ends a brick timing started by tick.
func (s *Session) tock(b trace.Brick, t0 int64, flops, bytes int64) {
	if s.prof == nil {
		return
	}
	s.prof.Add(b, time.Now().UnixNano()-t0, flops, bytes)
}

// FlushText returns the text the decoder still holds (an incomplete
// character as U+FFFD) after the run, and appends it to Text.
func (s *Session) FlushText() string {
	if s.dec == nil {
		return ""
	}
	t := s.dec.Flush()
	s.text = append(s.text, t...)
	return t
}
