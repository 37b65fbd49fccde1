package pipeline

func init() { Register("qwen2", qwen2{}) }

// qwen2 is LLaMA with biases on the Q, K and V projections and NEOX rotary
// embeddings (the rope type comes from the loader's Config).
type qwen2 struct{}

// Bind binds the Qwen2 weights, attention biases included.
func (qwen2) Bind(p Params, b *Binder) (*Weights, error) {
	return bindLlamaLike(p, b, true)
}
