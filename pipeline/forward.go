package pipeline

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// stage identifies an intermediate tensor of the forward pass; the names
// are those of the reference math.json files and of trace.StageNames.
type stage int

const (
	stEmbed stage = iota
	stAttnNorm
	stQRope
	stKRope
	stV
	stAttnHeads
	stAttnOut
	stAttnResidual
	stFFNNorm
	stFFNGate
	stFFNUp
	stFFNAct
	stFFNOut
	stLayerOut
	stOutputNorm
	stLogits
	numStages
)

var stageNames = [numStages]string{"embed", "attn_norm", "q_rope", "k_rope", "v", "attn_heads",
	"attn_out", "attn_residual", "ffn_norm", "ffn_gate", "ffn_up", "ffn_act", "ffn_out",
	"layer_out", "output_norm", "logits"}

// engine is the forward pass's working state beyond the Session's
// buffers: the row-parallel operations, bound once as method values (a
// method value made at the call would allocate on every dispatch), the
// operands they read, and the attention phase timers.
type engine struct {
	normFn, ropeFn, addFn, siluFn func(start, end int)

	dst, src, w []float32 // operands of normFn (rows of dim), addFn (dst += src), siluFn (dst = silu(dst)·src)
	q, k        []float32 // ropeFn: n rows of Q and K
	dim         int       // row length of normFn and addFn

	// attNS sums, over the workers, the nanoseconds spent in the three
	// attention phases (scores, softmax, weighted V sum) when profiling.
	attNS [3]atomic.Int64
}

// Below these sizes an operation runs on the calling goroutine: a launch
// costs a few µs, as much as a norm of 4 rows of 768 or a SiLU of 512
// values (exp), and a launch saves half the work at best.
const (
	parRows  = 8    // rows of normFn, ropeFn, addFn
	parElems = 1024 // elements of siluFn
)

// initEngine binds the parallel operations (once per session).
func (s *Session) initEngine() {
	e := &s.eng
	e.normFn, e.ropeFn, e.addFn, e.siluFn = s.normRange, s.ropeRange, s.addRange, s.siluRange
}

// parallel runs fn over [0, n) on the pool when n reaches least, else on
// the calling goroutine. Every op is row- or element-wise, so any split
// gives the same bits.
func (s *Session) parallel(n, least int, fn func(start, end int)) {
	if n >= least && s.pool.Threads() > 1 {
		s.pool.Parallel(n, fn)
		return
	}
	fn(0, n)
}

// norm writes the RMS norm of the n rows of x, times w, into dst.
func (s *Session) norm(dst, x, w []float32, n int) {
	e := &s.eng
	e.dst, e.src, e.w, e.dim = dst, x, w, s.m.Params.NEmbd
	s.parallel(n, parRows, e.normFn)
}

func (s *Session) normRange(start, end int) {
	e, dim := &s.eng, s.eng.dim
	for i := start; i < end; i++ {
		rmsNorm(e.dst[i*dim:(i+1)*dim], e.src[i*dim:(i+1)*dim], e.w, s.m.Params.RMSEps)
	}
}

// addRows adds the n rows of src to those of dst (the residual).
func (s *Session) addRows(dst, src []float32, n int) {
	e := &s.eng
	e.dst, e.src, e.dim = dst, src, s.m.Params.NEmbd
	s.parallel(n, parRows, e.addFn)
}

func (s *Session) addRange(start, end int) {
	e, dim := &s.eng, s.eng.dim
	d, x := e.dst[start*dim:end*dim], e.src[start*dim:end*dim]
	for i := range d {
		d[i] += x[i]
	}
}

// ropeRows rotates the n rows of q and k for positions s.pos.. .
func (s *Session) ropeRows(q, k []float32, n int) {
	e := &s.eng
	e.q, e.k = q, k
	s.parallel(n, parRows, e.ropeFn)
}

func (s *Session) ropeRange(start, end int) {
	p := &s.m.Params
	qDim, kvDim := p.NHead*p.HeadDim, p.NHeadKV*p.HeadDim
	for i := start; i < end; i++ {
		s.rope(s.eng.q[i*qDim:(i+1)*qDim], s.pos+i)
		s.rope(s.eng.k[i*kvDim:(i+1)*kvDim], s.pos+i)
	}
}

// swiGLU computes gate[i] = silu(gate[i]) · up[i].
func (s *Session) swiGLU(gate, up []float32) {
	e := &s.eng
	e.dst, e.src = gate, up
	s.parallel(len(gate), parElems, e.siluFn)
}

func (s *Session) siluRange(start, end int) {
	// Vectorized exp with the avx2 kernels (~20x math.Exp's float64 loop);
	// each value's bits do not depend on the range split.
	tensor.SiluMul(s.eng.dst[start:end], s.eng.src[start:end])
}

// forward runs the model over toks at positions s.pos.. (a prompt batch in
// iteration 0, one token afterwards), appends K and V to the cache and
// leaves the logits of the last position (or of every position, when
// s.allLogits) in s.logits. It returns false when the run must stop: the
// consumer stopped pulling events, or a Jidoka error stopped the run.
func (s *Session) forward(iter int, toks []int) bool {
	p := &s.m.Params
	n, dim := len(toks), p.NEmbd
	x := s.x[:n*dim]
	if s.eng.normFn == nil {
		s.initEngine()
	}

	s.enterIDs = toks
	f := s.begin(trace.Embed, iter, trace.NoLayer, n, dim, nil)
	t := s.tick()
	for i, id := range toks {
		if s.embedRow(x[i*dim:(i+1)*dim], id) != nil {
			s.failShape(trace.VocabOverflow(id, p.NVocab), iter)
			return false
		}
	}
	s.tock(trace.Embedding, t, 0, int64(n*s.m.W.TokenEmbd.RowBytes))
	if !s.stage(stEmbed, iter, trace.NoLayer, "embed", x) {
		return false
	}
	if !s.end(f) {
		return false
	}

	for l := range s.m.W.Layers {
		if !s.block(iter, l, n) {
			return false
		}
	}

	// LM head: final norm, then the logits of the rows that are needed.
	f = s.begin(trace.LMHead, iter, trace.NoLayer, n, dim, x)
	xb := s.xb[:n*dim]
	t = s.tick()
	s.norm(xb, x, s.m.W.OutputNorm, n)
	s.tock(trace.RmsNorm, t, int64(4*n*dim), int64(4*n*dim))
	if !s.stage(stOutputNorm, iter, trace.NoLayer, "output_norm", xb) {
		return false
	}
	rows := 1
	if s.allLogits || s.recording() {
		rows = n
	}
	in := xb[(n-rows)*dim : n*dim]
	logits := s.logits[:rows*p.NVocab]
	s.matmul(trace.LmHead, logits, s.m.W.Output, s.m.W.OutputName, in, rows, iter, trace.NoLayer)
	s.lastLogits = logits[(rows-1)*p.NVocab:]
	if !s.stage(stLogits, iter, trace.NoLayer, "logits", logits) {
		return false
	}
	if f.rec {
		f.payload.TopKLogits = s.topLogits(s.lastLogits)
	}
	s.pos += n
	return s.end(f)
}

// The bricks of the fused projections.
var (
	qkvBricks    = [...]trace.Brick{trace.QkvProjection, trace.QkvProjection, trace.QkvProjection}
	gateUpBricks = [...]trace.Brick{trace.GateProjection, trace.UpProjection}
)

// block runs transformer block l over the n positions held in s.x.
func (s *Session) block(iter, l, n int) bool {
	p := &s.m.Params
	w := &s.m.W.Layers[l]
	ops := &w.names.ops
	dim, hd := p.NEmbd, p.HeadDim
	qDim, kvDim := p.NHead*hd, p.NHeadKV*hd
	x, xb := s.x[:n*dim], s.xb[:n*dim]

	fb := s.begin(trace.TransformerBlock, iter, l, n, dim, x)

	// Attention norm.
	f := s.begin(trace.LayerNorm, iter, l, n, dim, x)
	t := s.tick()
	s.norm(xb, x, w.AttnNorm, n)
	s.tock(trace.RmsNorm, t, int64(4*n*dim), int64(4*n*dim))
	if !s.stage(stAttnNorm, iter, l, ops[stAttnNorm], xb) || !s.end(f) {
		return false
	}

	// Attention: projections, RoPE, cache, scores, weighted V, output.
	f = s.begin(trace.Attention, iter, l, n, dim, xb)
	q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
	s.matmuls([]tensor.Product{{Dst: q, W: w.Wq}, {Dst: k, W: w.Wk}, {Dst: v, W: w.Wv}}, qkvBricks[:],
		[]string{w.names.wq, w.names.wk, w.names.wv}, xb, n, iter, l)
	if w.Bq != nil {
		addBias(q, w.Bq)
		addBias(k, w.Bk)
		addBias(v, w.Bv)
	}
	t = s.tick()
	s.ropeRows(q, k, n)
	s.tock(trace.RopeEmbedding, t, int64(6*n*(qDim+kvDim)), 0)
	if !s.stage(stQRope, iter, l, ops[stQRope], q) || !s.stage(stKRope, iter, l, ops[stKRope], k) ||
		!s.stage(stV, iter, l, ops[stV], v) {
		return false
	}
	copy(s.kcache[l][s.pos*kvDim:], k)
	copy(s.vcache[l][s.pos*kvDim:], v)
	att := s.att[:n*qDim]
	t = s.tick()
	s.attention(att, q, l, n)
	s.attentionBricks(t, n)
	if !s.stage(stAttnHeads, iter, l, ops[stAttnHeads], att) {
		return false
	}
	ao := s.ao[:n*dim]
	s.matmul(trace.OutputProjection, ao, w.Wo, w.names.wo, att, n, iter, l)
	if !s.stage(stAttnOut, iter, l, ops[stAttnOut], ao) {
		return false
	}
	s.addRows(x, ao, n)
	if !s.stage(stAttnResidual, iter, l, ops[stAttnResidual], x) || !s.end(f) {
		return false
	}

	// FFN norm.
	f = s.begin(trace.LayerNorm, iter, l, n, dim, x)
	t = s.tick()
	s.norm(xb, x, w.FFNNorm, n)
	s.tock(trace.RmsNorm, t, int64(4*n*dim), int64(4*n*dim))
	if !s.stage(stFFNNorm, iter, l, ops[stFFNNorm], xb) || !s.end(f) {
		return false
	}

	// SwiGLU feed-forward.
	f = s.begin(trace.FFN, iter, l, n, dim, xb)
	gate, up := s.gate[:n*p.NFF], s.up[:n*p.NFF]
	if s.kern {
		// One launch each, in order: a failure found in the gate stops
		// the run before the up projection's KERNEL_LAUNCH.
		s.matmul(trace.GateProjection, gate, w.Gate, w.names.gate, xb, n, iter, l)
		if !s.stage(stFFNGate, iter, l, ops[stFFNGate], gate) {
			return false
		}
		s.matmul(trace.UpProjection, up, w.Up, w.names.up, xb, n, iter, l)
	} else {
		s.matmuls([]tensor.Product{{Dst: gate, W: w.Gate}, {Dst: up, W: w.Up}}, gateUpBricks[:],
			[]string{w.names.gate, w.names.up}, xb, n, iter, l)
		if !s.stage(stFFNGate, iter, l, ops[stFFNGate], gate) {
			return false
		}
	}
	if !s.stage(stFFNUp, iter, l, ops[stFFNUp], up) {
		return false
	}
	t = s.tick()
	s.swiGLU(gate, up)
	s.tock(trace.Activation, t, int64(6*len(gate)), 0)
	if !s.stage(stFFNAct, iter, l, ops[stFFNAct], gate) {
		return false
	}
	ffo := s.ao[:n*dim]
	s.matmul(trace.DownProjection, ffo, w.Down, w.names.down, gate, n, iter, l)
	if !s.stage(stFFNOut, iter, l, ops[stFFNOut], ffo) {
		return false
	}
	s.addRows(x, ffo, n)
	if !s.stage(stLayerOut, iter, l, ops[stLayerOut], x) || !s.end(f) {
		return false
	}
	return s.end(fb)
}

// attention computes causal grouped-query attention for the n positions
// whose rotated queries are in q, reading keys and values of positions
// 0..s.pos+i from the cache of layer l.
func (s *Session) attention(out, q []float32, l, n int) {
	s.attLayer, s.attN, s.attQ, s.attOut = l, n, q, out
	s.pool.Parallel(n*s.m.Params.NHead, s.attnRange)
}

// attentionBricks records the attention of n positions started at t0 (a
// tick) as three bricks, AttentionScore, AttentionSoftmax and
// AttentionOutput: the phases interleave on every worker, so the wall time
// is split in proportion to the time the workers spent in each phase.
func (s *Session) attentionBricks(t0 int64, n int) {
	if s.prof == nil {
		return
	}
	wall := time.Now().UnixNano() - t0
	p := &s.m.Params
	qDim, kvDim := int64(p.NHead*p.HeadDim), int64(p.NHeadKV*p.HeadDim)
	// keys visited by the n causal rows, per head: Σ (pos+i+1).
	keys := int64(n*s.pos + n*(n+1)/2)
	ctxBytes := 4 * int64(s.pos+n) * kvDim // the layer's K (or V) cache
	var phase [3]int64
	var sum int64
	for i := range phase {
		phase[i] = s.eng.attNS[i].Swap(0)
		sum += phase[i]
	}
	bricks := [3]trace.Brick{trace.AttentionScore, trace.AttentionSoftmax, trace.AttentionOutput}
	flops := [3]int64{2 * keys * qDim, 4 * keys * int64(p.NHead), 2 * keys * qDim}
	bytes := [3]int64{ctxBytes, 4 * keys * int64(p.NHead), ctxBytes}
	for i, b := range bricks {
		share := wall / 3
		if sum > 0 {
			share = int64(float64(wall) * float64(phase[i]) / float64(sum))
		}
		s.prof.Add(b, share, flops[i], bytes[i])
	}
}

// attnRange computes the (position, head) pairs start..end-1; each pair is
// independent, so any split across workers gives identical results. When
// profiling, it times its three phases (two clock reads per phase and
// pair, summed per range).
func (s *Session) attnRangeFn(start, end int) {
	p := &s.m.Params
	hd := p.HeadDim
	qDim, kvDim := p.NHead*hd, p.NHeadKV*hd
	group := p.NHead / p.NHeadKV
	scale := float32(1 / math.Sqrt(float64(hd)))
	kc, vc := s.kcache[s.attLayer], s.vcache[s.attLayer]
	buf := <-s.scoreBufs // one scratch row per concurrent range
	defer func() { s.scoreBufs <- buf }()
	timed := s.prof != nil
	var ns [3]time.Duration
	var t0 time.Time
	lap := func(phase int) {
		t1 := time.Now()
		ns[phase] += t1.Sub(t0)
		t0 = t1
	}
	for job := start; job < end; job++ {
		i, h := job/p.NHead, job%p.NHead
		last := s.pos + i // causal: positions 0..last
		qh := s.attQ[i*qDim+h*hd : i*qDim+(h+1)*hd]
		kvOff := (h / group) * hd
		sc := buf[:last+1]
		if timed {
			t0 = time.Now()
		}
		// Four keys per call share the loads of the query (same bits as
		// four Dot calls).
		tpos := 0
		for ; tpos+4 <= len(sc); tpos += 4 {
			d4 := (*[4]float32)(sc[tpos : tpos+4])
			tensor.DotRows4(kc[tpos*kvDim+kvOff:], kvDim, qh, d4)
			d4[0], d4[1], d4[2], d4[3] = d4[0]*scale, d4[1]*scale, d4[2]*scale, d4[3]*scale
		}
		for ; tpos < len(sc); tpos++ {
			sc[tpos] = tensor.Dot(qh, kc[tpos*kvDim+kvOff:tpos*kvDim+kvOff+hd]) * scale
		}
		if timed {
			lap(0)
		}
		softmax(sc)
		if timed {
			lap(1)
		}
		o := s.attOut[i*qDim+h*hd : i*qDim+(h+1)*hd]
		clear(o)
		for tpos, a := range sc {
			tensor.Axpy(a, vc[tpos*kvDim+kvOff:tpos*kvDim+kvOff+hd], o)
		}
		if timed {
			lap(2)
		}
	}
	if timed {
		for i, d := range ns {
			s.eng.attNS[i].Add(int64(d))
		}
	}
}

// rope rotates every head of x (heads of HeadDim values) for position pos:
// NORM rotates adjacent pairs (2i, 2i+1), NEOX the halves (i, i+RopeDim/2).
func (s *Session) rope(x []float32, pos int) {
	p := &s.m.Params
	hd, half := p.HeadDim, p.RopeDim/2
	cs := s.ropeCos[pos*half : (pos+1)*half]
	sn := s.ropeSin[pos*half : (pos+1)*half]
	for h := 0; h+hd <= len(x); h += hd {
		v := x[h : h+hd]
		for i := range half {
			a, b := 2*i, 2*i+1
			if p.RopeNeox {
				a, b = i, i+half
			}
			x0, x1 := v[a], v[b]
			v[a] = x0*cs[i] - x1*sn[i]
			v[b] = x0*sn[i] + x1*cs[i]
		}
	}
}

// ropeTables returns cos and sin of pos*base^(-2i/ropeDim) for every
// position below ctx and pair i.
func ropeTables(p *Params, ctx int) (cos, sin []float32) {
	half := p.RopeDim / 2
	cos, sin = make([]float32, ctx*half), make([]float32, ctx*half)
	for pos := range ctx {
		for i := range half {
			theta := float64(pos) * math.Pow(p.RopeFreqBase, -2*float64(i)/float64(p.RopeDim))
			cos[pos*half+i] = float32(math.Cos(theta))
			sin[pos*half+i] = float32(math.Sin(theta))
		}
	}
	return cos, sin
}

// rmsNorm writes x / sqrt(mean(x²) + eps) * w into dst (sum in float64, as
// ggml does).
func rmsNorm(dst, x, w []float32, eps float64) {
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(sum/float64(len(x))+eps))
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// softmax normalises x in place.
func softmax(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// addBias adds the bias vector to every row of x.
func addBias(x, b []float32) {
	for r := 0; r+len(b) <= len(x); r += len(b) {
		row := x[r : r+len(b)]
		for i, v := range b {
			row[i] += v
		}
	}
}
