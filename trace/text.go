package trace

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/infertrace/infertrace/stats"
)

// verboseValues is how many leading values per tensor --trace-verbose
// prints.
const verboseValues = 8

// ANSI highlights for errors and warnings (only with SetColor(true)).
const (
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiReset  = "\x1b[0m"
)

type textOpen struct {
	id      int64
	state   State
	printed bool // printed as a container header
	shown   bool // state selected by cfg.Steps
	entered *Payload
	seen    map[string]bool // tensors a printed child already showed
}

// TextSink prints a run as readable text, one block per state, indented by
// nesting. A live run and PrintText (replay --print) go through it alike.
type TextSink struct {
	mu      sync.Mutex
	w       io.Writer
	cfg     Config
	piece   func(int) string
	color   bool
	open    []textOpen
	pending *Event // an Entered not printed yet: printed with its Exited when nothing comes between
	logits  map[int]float64
	pieces  map[int]string // pieces seen in top-k lists and token lists
	text    strings.Builder
	err     error
}

// NewTextSink returns a sink writing to w. cfg.Steps selects the states
// printed (0 means AllSteps; issues and execution events are always
// printed), cfg.Verbose the leading tensor values, cfg.TopK the length of
// top-k lists (0: DefaultTopK). vocabPiece (may be nil) names token ids
// whose piece the events do not carry.
func NewTextSink(w io.Writer, cfg Config, vocabPiece func(int) string) *TextSink {
	if cfg.Steps == 0 {
		cfg.Steps = AllSteps
	}
	if cfg.TopK <= 0 {
		cfg.TopK = DefaultTopK
	}
	return &TextSink{w: w, cfg: cfg, piece: vocabPiece}
}

// SetColor turns ANSI highlighting of errors and warnings on or off.
func (ts *TextSink) SetColor(on bool) { ts.mu.Lock(); ts.color = on; ts.mu.Unlock() }

// Write prints ev (or holds an Entered until its Exited, to print both as
// one block).
func (ts *TextSink) Write(ev Event) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.err != nil {
		return ts.err
	}
	var b bytes.Buffer
	ts.event(&b, ev)
	return ts.flush(&b)
}

// Close flushes a held state and prints the summary line.
func (ts *TextSink) Close(s Summary) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.err != nil {
		return ts.err
	}
	var b bytes.Buffer
	ts.flushUnexited(&b)
	ts.summary(&b, s)
	return ts.flush(&b)
}

// Note prints a free-form line (e.g. "trace truncated ...") after flushing
// a held state.
func (ts *TextSink) Note(line string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var b bytes.Buffer
	ts.flushUnexited(&b)
	b.WriteString(line + "\n")
	return ts.flush(&b)
}

func (ts *TextSink) flush(b *bytes.Buffer) error {
	if b.Len() == 0 {
		return nil
	}
	if _, err := ts.w.Write(b.Bytes()); err != nil {
		ts.err = fmt.Errorf("write trace text: %w", err)
	}
	return ts.err
}

// depth is the number of printed states enclosing the next line.
func (ts *TextSink) depth() int {
	d := 0
	for _, o := range ts.open {
		if o.printed {
			d++
		}
	}
	return d
}

// maxIndent caps the indentation: real runs nest a few states deep, and a
// hostile trace nesting thousands must not make the text quadratic in size.
const maxIndent = 32

func indent(d int) string { return strings.Repeat("  ", min(d, maxIndent)) }

func (ts *TextSink) event(b *bytes.Buffer, ev Event) {
	if ev.Type == TaskStateExited && ts.pending != nil && ts.pending.State == ev.State {
		// A leaf state: one block for its Entered and Exited.
		in := ts.pending.Payload
		ts.pending = nil
		o := ts.pop(ev.State)
		ts.leaf(b, ev, in, o.shown)
		return
	}
	switch {
	case ev.Type == ExecutionSucceeded || ev.Type == ExecutionFailed || ev.Type == ExecutionAborted:
		ts.flushUnexited(b)
	case ts.silent(ev):
		// Prints nothing, so a held state stays a leaf.
	default:
		ts.flushPending(b)
	}
	switch ev.Type {
	case ExecutionStarted:
		ts.started(b, ev)
	case TaskStateEntered:
		shown := ts.cfg.Steps.Has(ev.State)
		ts.open = append(ts.open, textOpen{id: ev.ID, state: ev.State, shown: shown, entered: ev.Payload})
		if shown {
			e := ev
			ts.pending = &e
		} else {
			ts.issues(b, ts.depth(), ev.Payload)
		}
	case TaskStateExited:
		o := ts.pop(ev.State)
		d := ts.depth()
		if o.printed {
			fmt.Fprintf(b, "%s└ %s%s%s\n", indent(d), ev.State, where(ev.Payload), duration(ev.Payload))
			out := unseen(ev.Payload, o.seen)
			ts.details(b, d+1, out)
			ts.markSeen(out)
		} else if o.shown {
			ts.leaf(b, ev, o.entered, true)
		} else {
			ts.issues(b, d, ev.Payload)
		}
	case ExecutionSucceeded:
		fmt.Fprintf(b, "✓ ExecutionSucceeded\n")
		ts.details(b, 1, ev.Payload)
	case ExecutionFailed:
		fmt.Fprintf(b, "%s\n", ts.hl(SevError, fmt.Sprintf("✗ ExecutionFailed %s: %s", ev.Error, ev.Cause)))
		if ev.Hint != "" {
			fmt.Fprintf(b, "  hint: %s\n", ev.Hint)
		}
	case ExecutionAborted:
		fmt.Fprintf(b, "%s\n", ts.hl(SevWarning, fmt.Sprintf("■ ExecutionAborted %s: %s", ev.Error, ev.Cause)))
		if ev.Hint != "" {
			fmt.Fprintf(b, "  hint: %s\n", ev.Hint)
		}
	default:
		fmt.Fprintf(b, "? event %d of unknown type %q\n", ev.ID, ev.Type)
	}
}

// silent reports whether ev is a state event that prints nothing: a state
// not selected by cfg.Steps, without issues.
func (ts *TextSink) silent(ev Event) bool {
	return (ev.Type == TaskStateEntered || ev.Type == TaskStateExited) &&
		!ts.cfg.Steps.Has(ev.State) && (ev.Payload == nil || len(ev.Payload.Issues) == 0)
}

// pop removes the innermost open state named st (and anything opened
// inside it that was never closed).
func (ts *TextSink) pop(st State) textOpen {
	for i := len(ts.open) - 1; i >= 0; i-- {
		if ts.open[i].state == st {
			o := ts.open[i]
			ts.open = ts.open[:i]
			return o
		}
	}
	return textOpen{state: st, shown: ts.cfg.Steps.Has(st)}
}

// flushUnexited prints a held Entered at the end of a run (or of a
// truncated trace): the state never exited.
func (ts *TextSink) flushUnexited(b *bytes.Buffer) {
	if ts.pending == nil {
		return
	}
	ev := ts.pending
	ts.pending = nil
	d := ts.depth()
	fmt.Fprintf(b, "%s[%d] %s%s  (not exited)\n", indent(d), StepNumber(ev.State), ev.State, where(ev.Payload))
	ts.detailsIn(b, d+1, ev.Payload, "in ")
}

// flushPending prints a held Entered as the header of a container.
func (ts *TextSink) flushPending(b *bytes.Buffer) {
	if ts.pending == nil {
		return
	}
	ev := ts.pending
	ts.pending = nil
	for i := len(ts.open) - 1; i >= 0; i-- {
		if ts.open[i].id == ev.ID {
			d := ts.depth()
			ts.open[i].printed = true
			fmt.Fprintf(b, "%s┌ [%d] %s%s\n", indent(d), StepNumber(ev.State), ev.State, where(ev.Payload))
			ts.detailsIn(b, d+1, ev.Payload, "in ")
			return
		}
	}
}

// leaf prints the block of a state without printed children.
func (ts *TextSink) leaf(b *bytes.Buffer, ev Event, in *Payload, shown bool) {
	d := ts.depth()
	if !shown {
		ts.issues(b, d, in)
		ts.issues(b, d, ev.Payload)
		return
	}
	out := ev.Payload
	if ev.State == KernelLaunch && out != nil && out.Kernel != nil {
		fmt.Fprintf(b, "%s[%d] %s %s\n", indent(d), StepNumber(ev.State), ev.State, kernelLine(out.Kernel))
		ts.issues(b, d+1, out)
		return
	}
	p := out
	if p == nil {
		p = in
	}
	fmt.Fprintf(b, "%s[%d] %s%s%s\n", indent(d), StepNumber(ev.State), ev.State, where(p), duration(out))
	if out != nil {
		ts.detailsIn(b, d+1, in, "in ")
	} else {
		ts.details(b, d+1, in)
	}
	ts.details(b, d+1, out)
	ts.markSeen(out)
}

// markSeen records that the tensors of p were printed, in the innermost
// open state: its own exit need not print them again (a block's payload
// repeats every intermediate of its children).
func (ts *TextSink) markSeen(p *Payload) {
	if p == nil || len(ts.open) == 0 || (len(p.Tensors) == 0 && len(p.Values) == 0) {
		return
	}
	o := &ts.open[len(ts.open)-1]
	if o.seen == nil {
		o.seen = make(map[string]bool)
	}
	for name := range p.Tensors {
		o.seen[name] = true
	}
	for name := range p.Values {
		o.seen[name] = true
	}
}

// unseen returns p without the tensors (and values) named in seen.
func unseen(p *Payload, seen map[string]bool) *Payload {
	if p == nil || len(seen) == 0 {
		return p
	}
	q := *p
	q.Tensors, q.Values = nil, nil
	for name, st := range p.Tensors {
		if !seen[name] {
			if q.Tensors == nil {
				q.Tensors = make(map[string]*stats.Summary)
			}
			q.Tensors[name] = st
		}
	}
	for name, v := range p.Values {
		if !seen[name] {
			if q.Values == nil {
				q.Values = make(map[string][]float32)
			}
			q.Values[name] = v
		}
	}
	return &q
}

// where formats layer, iteration and shape of a payload.
func where(p *Payload) string {
	if p == nil {
		return ""
	}
	var s strings.Builder
	if p.Layer >= 0 {
		fmt.Fprintf(&s, "  layer %d", p.Layer)
	}
	fmt.Fprintf(&s, "  iter %d", p.Iteration)
	if len(p.Shape) > 0 {
		fmt.Fprintf(&s, "  shape %v", p.Shape)
	}
	return s.String()
}

func duration(p *Payload) string {
	if p == nil || p.DurationUS == 0 {
		return ""
	}
	return "  " + fmtUS(p.DurationUS)
}

// fmtUS formats a duration in microseconds with a unit that keeps it short.
func fmtUS(us float64) string {
	switch {
	case us < 1000:
		return strconv.FormatFloat(us, 'f', 1, 64) + "µs"
	case us < 1e6:
		return strconv.FormatFloat(us/1e3, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(us/1e6, 'f', 2, 64) + "s"
}

// num formats a statistic compactly; non-finite values (no finite
// elements) print as "-".
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return strconv.FormatFloat(f, 'g', 5, 64)
}

func statsLine(name string, s stats.Summary) string {
	line := fmt.Sprintf("%-14s n %-6d min %-10s max %-10s mean %-10s std %-10s l2 %-10s absmax %s",
		name, s.N, num(s.Min), num(s.Max), num(s.Mean), num(s.Std), num(s.L2), num(s.AbsMax))
	if s.Zero > 0 {
		line += fmt.Sprintf("  zero %d", s.Zero)
	}
	if !s.Finite() {
		line += fmt.Sprintf("  NaN %d  Inf %d", s.NaN, s.Inf)
	}
	if !s.Hist.Empty() {
		// The histogram from min to max, one block per bin (the last
		// holds max, so only the all-equal case has trailing blanks).
		line += "  hist " + strings.TrimRight(stats.Sparkline(s.Hist.Counts()), " ")
	}
	return line
}

func (ts *TextSink) tensors(b *bytes.Buffer, d int, prefix string, p *Payload) {
	if p.Stats != nil {
		fmt.Fprintf(b, "%s%s\n", indent(d), statsLine(prefix+"stats", *p.Stats))
	}
	for _, name := range sortedKeys(p.Tensors) {
		if s := p.Tensors[name]; s != nil {
			fmt.Fprintf(b, "%s%s\n", indent(d), statsLine(prefix+name, *s))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Pipeline order for stage names, then alphabetical.
	rank := func(k string) int {
		stage, _ := splitOp(k)
		for i, s := range StageNames {
			if s == stage {
				return i
			}
		}
		return len(StageNames)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

// details prints everything a payload carries, one line per item.
func (ts *TextSink) details(b *bytes.Buffer, d int, p *Payload) {
	ts.detailsIn(b, d, p, "")
}

// detailsIn is details with a prefix for the tensor lines ("in " for an
// input payload).
func (ts *TextSink) detailsIn(b *bytes.Buffer, d int, p *Payload, tensorPrefix string) {
	if p == nil {
		return
	}
	ts.remember(p)
	ind := indent(d)
	if p.Text != "" {
		fmt.Fprintf(b, "%stext    %s\n", ind, strconv.Quote(p.Text))
	}
	if len(p.TokenIDs) > 0 {
		parts := make([]string, len(p.TokenIDs))
		for i, id := range p.TokenIDs {
			var piece string
			if i < len(p.Pieces) {
				piece = p.Pieces[i]
			} else {
				piece = ts.pieceOf(id, "")
			}
			parts[i] = fmt.Sprintf("%d %s", id, quotePiece(piece))
		}
		fmt.Fprintf(b, "%stokens  (%d) %s\n", ind, len(p.TokenIDs), strings.Join(parts, " · "))
	}
	ts.tensors(b, d, tensorPrefix, p)
	if ts.cfg.Verbose {
		for _, name := range sortedKeys(p.Values) {
			fmt.Fprintf(b, "%svalues  %-14s %s\n", ind, name, valuesLine(p.Values[name]))
		}
	}
	if len(p.TopKLogits) > 0 {
		ts.logits = make(map[int]float64, len(p.TopKLogits))
		for _, e := range p.TopKLogits {
			ts.logits[e.ID] = e.Score
		}
		probs := map[int]float64{}
		for _, e := range p.TopKProbs {
			probs[e.ID] = e.Score
		}
		fmt.Fprintf(b, "%stop-%d logits\n", ind, min(ts.cfg.TopK, len(p.TopKLogits)))
		for i, e := range p.TopKLogits[:min(ts.cfg.TopK, len(p.TopKLogits))] {
			prob, ok := probs[e.ID]
			fmt.Fprintf(b, "%s  %2d. %s\n", ind, i+1, ts.scoreLine(e.ID, e.Piece, e.Score, true, prob, ok))
		}
	}
	if p.Sampler != nil {
		s := p.Sampler
		fmt.Fprintf(b, "%ssampler temperature %s  top_k %d  top_p %s  min_p %s  repeat_penalty %s  seed %d\n",
			ind, num(s.Temperature), s.TopK, num(s.TopP), num(s.MinP), num(s.RepeatPenalty), s.Seed)
	}
	if len(p.TopKProbs) > 0 && len(p.TopKLogits) == 0 {
		fmt.Fprintf(b, "%stop-%d probabilities\n", ind, min(ts.cfg.TopK, len(p.TopKProbs)))
		for i, e := range p.TopKProbs[:min(ts.cfg.TopK, len(p.TopKProbs))] {
			logit, ok := ts.logits[e.ID]
			fmt.Fprintf(b, "%s  %2d. %s\n", ind, i+1, ts.scoreLine(e.ID, e.Piece, logit, ok, e.Score, true))
		}
	}
	if p.SampledID != nil {
		fmt.Fprintf(b, "%s→ sampled %d %s  prob %s  rank %d\n", ind, *p.SampledID, quotePiece(ts.pieceOf(*p.SampledID, "")), num(p.SampledProb), p.SampledRank)
	}
	if p.TokenID != nil || p.TextAdded != "" {
		if p.TokenID != nil {
			fmt.Fprintf(b, "%s→ token %d %s", ind, *p.TokenID, quotePiece(ts.pieceOf(*p.TokenID, p.Piece)))
		} else {
			fmt.Fprintf(b, "%s→", ind)
		}
		ts.text.WriteString(p.TextAdded)
		fmt.Fprintf(b, "  adds %s  text %s\n", strconv.Quote(p.TextAdded), strconv.Quote(ts.text.String()))
	}
	if p.Kernel != nil {
		fmt.Fprintf(b, "%skernel %s\n", ind, kernelLine(p.Kernel))
	}
	if p.Profile != nil {
		profileTable(b, ind, p.Profile)
	}
	ts.issues(b, d, p)
}

func (ts *TextSink) pieceOf(id int, have string) string {
	if have != "" {
		return have
	}
	if p, ok := ts.pieces[id]; ok {
		return p
	}
	if ts.piece == nil {
		return ""
	}
	return ts.piece(id)
}

// remember records the pieces a payload names, for later lines that carry
// only an id (the sampled token).
func (ts *TextSink) remember(p *Payload) {
	if ts.pieces == nil {
		ts.pieces = map[int]string{}
	}
	for i, id := range p.TokenIDs {
		if i < len(p.Pieces) && p.Pieces[i] != "" {
			ts.pieces[id] = p.Pieces[i]
		}
	}
	for _, l := range [][]TokenScore{p.TopKLogits, p.TopKProbs} {
		for _, e := range l {
			if e.Piece != "" {
				ts.pieces[e.ID] = e.Piece
			}
		}
	}
}

func (ts *TextSink) scoreLine(id int, piece string, logit float64, haveLogit bool, prob float64, haveProb bool) string {
	l, p := "-", "-"
	if haveLogit {
		l = num(logit)
	}
	if haveProb {
		p = strconv.FormatFloat(prob, 'f', 4, 64)
		if math.IsNaN(prob) {
			p = "-"
		}
	}
	line := fmt.Sprintf("id %-6d %-16s logit %-10s prob %s", id, quotePiece(ts.pieceOf(id, piece)), l, p)
	// An unknown column (LM_HEAD prints before SAMPLE's probabilities;
	// SAMPLE without a traced LM_HEAD has no logits) is left out.
	switch {
	case !haveProb:
		line = strings.TrimRight(strings.TrimSuffix(line, " prob -"), " ")
	case !haveLogit:
		line = fmt.Sprintf("id %-6d %-16s prob %s", id, quotePiece(ts.pieceOf(id, piece)), p)
	}
	return line
}

// quotePiece single-quotes a token piece with control characters escaped.
func quotePiece(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return "'" + q + "'"
}

func valuesLine(vs []float32) string {
	n := min(len(vs), verboseValues)
	parts := make([]string, n)
	for i, v := range vs[:n] {
		f := float64(v)
		switch {
		case math.IsNaN(f):
			parts[i] = "NaN"
		case math.IsInf(f, 0):
			parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
		default:
			parts[i] = strconv.FormatFloat(f, 'g', 5, 32)
		}
	}
	more := ""
	if len(vs) > n {
		more = " …"
	}
	return "[" + strings.Join(parts, " ") + more + "]"
}

func kernelLine(k *KernelInfo) string {
	s := k.Name
	if k.Weight != "" {
		s += " " + k.Weight
	}
	s += fmt.Sprintf("  %dx%d batch %d  %d workers × %d rows (%s)", k.Rows, k.Cols, k.Batch, k.Workers, k.RowsPerWorker, k.Strategy)
	if k.DurationUS > 0 {
		ns := k.DurationUS * 1e3
		s += fmt.Sprintf("  %s  %.2f GFLOP/s  %.2f GB/s", fmtUS(k.DurationUS), float64(k.FLOPs)/ns, float64(k.BytesRead)/ns)
	}
	return s
}

func profileTable(b *bytes.Buffer, ind string, p *Profile) {
	fmt.Fprintf(b, "%s%-18s %6s %10s %7s %9s %8s\n", ind, "brick", "count", "time", "share", "GFLOP/s", "GB/s")
	for _, bs := range p.Bricks {
		share := 0.0
		if p.MeasuredNS > 0 {
			share = float64(bs.TotalNS) / float64(p.MeasuredNS)
		}
		fmt.Fprintf(b, "%s%-18s %6d %10s %6.1f%% %9.2f %8.2f\n", ind, bs.Name, bs.Count, fmtUS(float64(bs.TotalNS)/1e3), 100*share, bs.GFLOPS, bs.GBps)
	}
	var cats []string
	for _, c := range p.Categories {
		cats = append(cats, fmt.Sprintf("%s %.1f%%", c.Name, 100*c.Share))
	}
	fmt.Fprintf(b, "%s%s  coverage %.1f%% of %s\n", ind, strings.Join(cats, "  "), 100*p.Coverage, fmtUS(float64(p.WallNS)/1e3))
	if t := p.Total; t != nil {
		fmt.Fprintf(b, "%stotal so far: measured %s of %s wall (coverage %.1f%%)\n", ind, fmtUS(float64(t.MeasuredNS)/1e3), fmtUS(float64(t.WallNS)/1e3), 100*t.Coverage)
	}
}

func (ts *TextSink) hl(sev Severity, s string) string {
	if !ts.color {
		return s
	}
	if sev == SevError {
		return ansiRed + s + ansiReset
	}
	return ansiYellow + s + ansiReset
}

// issues prints a payload's Jidoka findings with their hints.
func (ts *TextSink) issues(b *bytes.Buffer, d int, p *Payload) {
	if p == nil {
		return
	}
	for _, is := range p.Issues {
		mark := "✗ ERROR"
		if is.Severity != SevError {
			mark = "⚠ WARNING"
		}
		fmt.Fprintf(b, "%s%s\n", indent(d), ts.hl(is.Severity, fmt.Sprintf("%s %s: %s", mark, is.Code, is.Message)))
		if is.Hint != "" {
			fmt.Fprintf(b, "%s  hint: %s\n", indent(d), is.Hint)
		}
	}
}

func (ts *TextSink) started(b *bytes.Buffer, ev Event) {
	fmt.Fprintf(b, "▶ ExecutionStarted\n")
	r := ev.Run
	if r == nil {
		return
	}
	fmt.Fprintf(b, "  prompt %s  n_predict %d  threads %d\n", strconv.Quote(r.Prompt), r.NPredict, r.Threads)
	s := r.Sampler
	fmt.Fprintf(b, "  sampler temperature %s  top_k %d  top_p %s  min_p %s  repeat_penalty %s  seed %d\n",
		num(s.Temperature), s.TopK, num(s.TopP), num(s.MinP), num(s.RepeatPenalty), s.Seed)
	if len(r.Steps) > 0 {
		fmt.Fprintf(b, "  steps %s\n", strings.Join(r.Steps, ","))
	}
	if len(r.Injections) > 0 {
		fmt.Fprintf(b, "  inject %s\n", strings.Join(r.Injections, " "))
	}
}

func (ts *TextSink) summary(b *bytes.Buffer, s Summary) {
	line := fmt.Sprintf("── %s: %d prompt + %d generated tokens, %d errors, %d warnings, %d ms",
		s.Status, s.PromptTokens, s.GeneratedTokens, s.ErrorCount, s.WarningCount, s.WallMS)
	switch {
	case s.Status == StatusFailed || s.ErrorCount > 0:
		line = ts.hl(SevError, line)
	case s.Status == StatusAborted || s.WarningCount > 0:
		line = ts.hl(SevWarning, line)
	}
	b.WriteString(line + "\n")
}

// ConfigFromHeader returns the text-sink configuration that reproduces a
// live run's text from its trace: the recorded steps, values shown when
// present, top-k lists printed as recorded.
func ConfigFromHeader(h Header) Config {
	cfg := Config{Verbose: true, TopK: math.MaxInt32}
	for _, name := range h.Run.Steps {
		if st, ok := ParseState(name); ok {
			cfg.Steps = cfg.Steps.With(st)
		}
	}
	return cfg
}

// PrintText is replay --print: it streams the JSON trace at path and
// writes the text a live run's TextSink wrote. A truncated trace prints
// its valid prefix and a final line saying where it was cut, then returns
// the error wrapping ErrTruncated (what was readable is shown, yet a script
// still sees a broken file); an unreadable file or one that is not a trace
// returns an error wrapping ErrNotTrace or the file system error.
func PrintText(path string, w io.Writer) error {
	rd, err := OpenFile(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	ts := NewTextSink(w, ConfigFromHeader(rd.Header()), nil)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if nerr := ts.Note("── " + err.Error()); nerr != nil {
				return nerr
			}
			return err
		}
		if err := ts.Write(ev); err != nil {
			return err
		}
	}
	s, ok := rd.Summary()
	if !ok {
		return ts.Note("── trace has no summary")
	}
	return ts.Close(s)
}
