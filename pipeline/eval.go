package pipeline

import "github.com/infertrace/infertrace/trace"

// EvalResult is what `infertrace eval --json` prints; the field names are
// those of the llama.cpp reference files (*.llamacpp.json).
type EvalResult struct {
	Prompt       string      `json:"prompt"`
	AddBOS       bool        `json:"add_bos"`
	PromptTokens []int       `json:"prompt_tokens"`
	NVocab       int         `json:"n_vocab"`
	PromptLogits [][]float32 `json:"prompt_logits"` // [position][token]
	GreedyTokens []int       `json:"greedy_tokens"`
	GreedyText   string      `json:"greedy_text"`
}

// Eval evaluates the prompt as one batch, keeping the logits of every
// position, then generates n tokens greedily. opts supplies threads,
// ParseSpecial and Tokens; its sampler and tracing are replaced.
func (m *Model) Eval(prompt string, n int, opts Options) (*EvalResult, error) {
	opts.MaxTokens = n
	opts.AllLogits = true
	opts.Sampler = trace.SamplerConfig{Temperature: 0}
	opts.Trace, opts.OnToken = nil, nil
	s, err := m.NewSession(prompt, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Run(); err != nil {
		return nil, err
	}
	nv := m.Params.NVocab
	r := &EvalResult{Prompt: prompt, PromptTokens: s.PromptTokens(), NVocab: nv,
		GreedyTokens: append([]int{}, s.Generated()...)}
	s.FlushText()
	r.GreedyText = s.Text()
	if m.Vocab != nil {
		r.AddBOS = m.Vocab.AddBOS()
	}
	all := s.PromptLogits()
	for p := range len(r.PromptTokens) {
		r.PromptLogits = append(r.PromptLogits, all[p*nv:(p+1)*nv])
	}
	return r, nil
}
