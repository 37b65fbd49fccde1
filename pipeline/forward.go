package pipeline

import (
	"math"

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

// forward runs the model over toks at positions s.pos.. (a prompt batch in
// iteration 0, one token afterwards), appends K and V to the cache and
// leaves the logits of the last position (or of every position, when
// s.allLogits) in s.logits. It returns false when the run must stop: the
// consumer stopped pulling events, or a Jidoka error stopped the run.
func (s *Session) forward(iter int, toks []int) bool {
	p := &s.m.Params
	n, dim := len(toks), p.NEmbd
	x := s.x[:n*dim]

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
	for i := range n {
		rmsNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], s.m.W.OutputNorm, p.RMSEps)
	}
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
	for i := range n {
		rmsNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], w.AttnNorm, p.RMSEps)
	}
	s.tock(trace.RmsNorm, t, int64(4*n*dim), int64(4*n*dim))
	if !s.stage(stAttnNorm, iter, l, ops[stAttnNorm], xb) || !s.end(f) {
		return false
	}

	// Attention: projections, RoPE, cache, scores, weighted V, output.
	f = s.begin(trace.Attention, iter, l, n, dim, xb)
	q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
	s.matmul(trace.QkvProjection, q, w.Wq, w.names.wq, xb, n, iter, l)
	s.matmul(trace.QkvProjection, k, w.Wk, w.names.wk, xb, n, iter, l)
	s.matmul(trace.QkvProjection, v, w.Wv, w.names.wv, xb, n, iter, l)
	if w.Bq != nil {
		addBias(q, w.Bq)
		addBias(k, w.Bk)
		addBias(v, w.Bv)
	}
	t = s.tick()
	for i := range n {
		s.rope(q[i*qDim:(i+1)*qDim], s.pos+i)
		s.rope(k[i*kvDim:(i+1)*kvDim], s.pos+i)
	}
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
	s.tock(trace.AttentionScore, t, int64(4*n*(s.pos+n)*qDim), int64(8*(s.pos+n)*kvDim))
	if !s.stage(stAttnHeads, iter, l, ops[stAttnHeads], att) {
		return false
	}
	ao := s.ao[:n*dim]
	s.matmul(trace.OutputProjection, ao, w.Wo, w.names.wo, att, n, iter, l)
	if !s.stage(stAttnOut, iter, l, ops[stAttnOut], ao) {
		return false
	}
	for i := range x {
		x[i] += ao[i]
	}
	if !s.stage(stAttnResidual, iter, l, ops[stAttnResidual], x) || !s.end(f) {
		return false
	}

	// FFN norm.
	f = s.begin(trace.LayerNorm, iter, l, n, dim, x)
	t = s.tick()
	for i := range n {
		rmsNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], w.FFNNorm, p.RMSEps)
	}
	s.tock(trace.RmsNorm, t, int64(4*n*dim), int64(4*n*dim))
	if !s.stage(stFFNNorm, iter, l, ops[stFFNNorm], xb) || !s.end(f) {
		return false
	}

	// SwiGLU feed-forward.
	f = s.begin(trace.FFN, iter, l, n, dim, xb)
	gate, up := s.gate[:n*p.NFF], s.up[:n*p.NFF]
	s.matmul(trace.GateProjection, gate, w.Gate, w.names.gate, xb, n, iter, l)
	if !s.stage(stFFNGate, iter, l, ops[stFFNGate], gate) {
		return false
	}
	s.matmul(trace.UpProjection, up, w.Up, w.names.up, xb, n, iter, l)
	if !s.stage(stFFNUp, iter, l, ops[stFFNUp], up) {
		return false
	}
	t = s.tick()
	for i, g := range gate {
		gate[i] = silu(g) * up[i]
	}
	s.tock(trace.Activation, t, int64(6*len(gate)), 0)
	if !s.stage(stFFNAct, iter, l, ops[stFFNAct], gate) {
		return false
	}
	ffo := s.ao[:n*dim]
	s.matmul(trace.DownProjection, ffo, w.Down, w.names.down, gate, n, iter, l)
	if !s.stage(stFFNOut, iter, l, ops[stFFNOut], ffo) {
		return false
	}
	for i := range x {
		x[i] += ffo[i]
	}
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

// attnRange computes the (position, head) pairs start..end-1; each pair is
// independent, so any split across workers gives identical results.
func (s *Session) attnRangeFn(start, end int) {
	p := &s.m.Params
	hd := p.HeadDim
	qDim, kvDim := p.NHead*hd, p.NHeadKV*hd
	group := p.NHead / p.NHeadKV
	scale := float32(1 / math.Sqrt(float64(hd)))
	kc, vc := s.kcache[s.attLayer], s.vcache[s.attLayer]
	buf := <-s.scoreBufs // one scratch row per concurrent range
	defer func() { s.scoreBufs <- buf }()
	for job := start; job < end; job++ {
		i, h := job/p.NHead, job%p.NHead
		last := s.pos + i // causal: positions 0..last
		qh := s.attQ[i*qDim+h*hd : i*qDim+(h+1)*hd]
		kvOff := (h / group) * hd
		sc := buf[:last+1]
		for tpos := range sc {
			sc[tpos] = tensor.Dot(qh, kc[tpos*kvDim+kvOff:tpos*kvDim+kvOff+hd]) * scale
		}
		softmax(sc)
		o := s.attOut[i*qDim+h*hd : i*qDim+(h+1)*hd]
		clear(o)
		for tpos, a := range sc {
			tensor.Axpy(a, vc[tpos*kvDim+kvOff:tpos*kvDim+kvOff+hd], o)
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

func silu(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// addBias adds the bias vector to every row of x.
func addBias(x, b []float32) {
	for r := 0; r+len(b) <= len(x); r += len(b) {
		row := x[r : r+len(b)]
		for i, v := range b {
			row[i] += v
		}
	}
}
