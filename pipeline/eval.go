package pipeline

import (
	"fmt"

	"github.com/infertrace/infertrace/trace"
)

// EvalResult is what `infertrace eval --json` prints; the field names are
// those of the llama.cpp reference files (*.llamacpp.json).
type EvalResult struct {
	Model        string      `json:"model,omitempty"` // file name, set by the caller
	Prompt       string      `json:"prompt"`
	AddBOS       bool        `json:"add_bos"`
	NVocab       int         `json:"n_vocab"`
	KVCache      string      `json:"kv_cache"` // "f32": the KV cache type
	PromptTokens []int       `json:"prompt_tokens"`
	PromptLogits [][]float32 `json:"prompt_logits"` // [position][token]
	GreedyTokens []int       `json:"greedy_tokens"`
	GreedyText   string      `json:"greedy_text"`
	// GreedyLogitsTop5[step] is the top 5 [token, logit] after feeding
	// GreedyTokens[step] (one-token decode, matrix × vector); its argmax is
	// GreedyTokens[step+1]. It is shorter than GreedyTokens only when
	// generation ended at an end-of-generation token.
	GreedyLogitsTop5 [][][2]float64 `json:"greedy_logits_top5"`
}

// Eval evaluates the prompt as one batch, keeping the logits of every
// position, then generates n tokens greedily, keeping the top 5 logits
// after each of them (which takes one forward pass past the n-th token).
// opts supplies threads, ParseSpecial and Tokens; its sampler and tracing
// are replaced.
func (m *Model) Eval(prompt string, n int, opts Options) (*EvalResult, error) {
	opts.MaxTokens = n + 1
	opts.AllLogits = true
	opts.Sampler = trace.SamplerConfig{Temperature: 0}
	opts.OnToken, opts.Injections = nil, nil
	opts.Trace = &trace.Config{Steps: trace.Steps(0).With(trace.LMHead), TopK: 5}
	s, err := m.NewSession(prompt, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var top5 [][][2]float64
	for ev := range s.Events() {
		p := ev.Payload
		if ev.Type != trace.TaskStateExited || ev.State != trace.LMHead || p == nil || p.Iteration == 0 {
			continue
		}
		row := make([][2]float64, len(p.TopKLogits))
		for i, ts := range p.TopKLogits {
			row[i] = [2]float64{float64(ts.ID), ts.Score}
		}
		top5 = append(top5, row)
	}
	if f := s.Failure(); f != nil {
		return nil, fmt.Errorf("%s: %s", f.Code, f.Message)
	}
	nv := m.Params.NVocab
	gen := s.Generated()
	if len(gen) > n {
		gen = gen[:n] // the extra token only served to get the last top 5
	}
	if len(top5) > len(gen) {
		top5 = top5[:len(gen)]
	}
	r := &EvalResult{Prompt: prompt, PromptTokens: s.PromptTokens(), NVocab: nv, KVCache: "f32",
		GreedyTokens: append([]int{}, gen...), GreedyLogitsTop5: top5}
	if m.Vocab != nil {
		r.AddBOS = m.Vocab.AddBOS()
		// The text of exactly those tokens, an incomplete last character
		// as U+FFFD, as llama.cpp's greedy_text (EOG adds no text).
		d := m.Vocab.NewDecoder()
		var text []byte
		for _, id := range gen {
			if !m.Vocab.IsEOG(id) {
				text = append(text, d.Add(id)...)
			}
		}
		r.GreedyText = string(append(text, d.Flush()...))
	}
	all := s.PromptLogits()
	for p := range len(r.PromptTokens) {
		r.PromptLogits = append(r.PromptLogits, all[p*nv:(p+1)*nv])
	}
	return r, nil
}
