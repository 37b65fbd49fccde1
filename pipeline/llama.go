package pipeline

import "strconv"

func init() { Register("llama", llama{}) }

// llama is the LLaMA family: RMSNorm, rotary attention with grouped KV
// heads, SwiGLU feed-forward, optionally tied output embeddings.
type llama struct{}

// Bind binds the LLaMA weights (no attention biases).
func (llama) Bind(p Params, b *Binder) (*Weights, error) {
	return bindLlamaLike(p, b, false)
}

// bindLlamaLike binds the weights shared by LLaMA-like architectures; with
// biases it also binds attn_q/k/v.bias (Qwen2).
func bindLlamaLike(p Params, b *Binder, biases bool) (*Weights, error) {
	qDim, kvDim := p.NHead*p.HeadDim, p.NHeadKV*p.HeadDim
	w := &Weights{
		TokenEmbd:  b.Matrix("token_embd.weight", p.NEmbd, p.NVocab),
		OutputNorm: b.Vector("output_norm.weight", p.NEmbd),
	}
	// Layers are added one at a time, stopping at the first missing or
	// misshapen tensor: the layer count comes from the file, and a hostile
	// one (a billion) must not size an allocation before the tensors do.
	w.Layers = make([]LayerWeights, 0, min(p.NLayer, 256))
	if b.Has("output.weight") {
		w.Output, w.OutputName = b.Matrix("output.weight", p.NEmbd, p.NVocab), "output.weight"
	} else {
		w.Output, w.OutputName = w.TokenEmbd, "token_embd.weight"
	}
	for i := 0; i < p.NLayer && b.Err() == nil; i++ {
		pre := "blk." + strconv.Itoa(i) + "."
		w.Layers = append(w.Layers, LayerWeights{})
		l := &w.Layers[i]
		l.names = newLayerNames(pre)
		l.AttnNorm = b.Vector(pre+"attn_norm.weight", p.NEmbd)
		l.Wq = b.Matrix(l.names.wq, p.NEmbd, qDim)
		l.Wk = b.Matrix(l.names.wk, p.NEmbd, kvDim)
		l.Wv = b.Matrix(l.names.wv, p.NEmbd, kvDim)
		l.Wo = b.Matrix(l.names.wo, qDim, p.NEmbd)
		if biases {
			l.Bq = b.Vector(pre+"attn_q.bias", qDim)
			l.Bk = b.Vector(pre+"attn_k.bias", kvDim)
			l.Bv = b.Vector(pre+"attn_v.bias", kvDim)
		}
		l.FFNNorm = b.Vector(pre+"ffn_norm.weight", p.NEmbd)
		l.Gate = b.Matrix(l.names.gate, p.NEmbd, p.NFF)
		l.Up = b.Matrix(l.names.up, p.NEmbd, p.NFF)
		l.Down = b.Matrix(l.names.down, p.NFF, p.NEmbd)
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	return w, nil
}

func newLayerNames(pre string) layerNames {
	n := layerNames{
		wq: pre + "attn_q.weight", wk: pre + "attn_k.weight", wv: pre + "attn_v.weight",
		wo: pre + "attn_output.weight", gate: pre + "ffn_gate.weight", up: pre + "ffn_up.weight",
		down: pre + "ffn_down.weight",
	}
	for s := range n.ops {
		n.ops[s] = pre + stageNames[s]
	}
	return n
}
