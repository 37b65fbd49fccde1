// Package pipeline is the inference engine: the architecture registry,
// the forward pass (textbook LLaMA/Qwen2 on the CPU), the KV cache,
// sampling, and the Session that runs a prompt as a state machine and
// yields trace events at every transition.
package pipeline

import (
	"fmt"

	"github.com/infertrace/infertrace/tensor"
)

// Params are the hyper-parameters the forward pass needs.
type Params struct {
	Arch         string
	NEmbd        int
	NLayer       int
	NHead        int
	NHeadKV      int
	NFF          int
	NVocab       int
	NCtx         int // training context; 0 when unknown
	HeadDim      int
	RopeDim      int
	RopeFreqBase float64
	RopeNeox     bool // rotate halves (NEOX) instead of adjacent pairs (NORM)
	RMSEps       float64
}

func (p Params) validate() error {
	switch {
	case p.NEmbd <= 0 || p.NLayer <= 0 || p.NHead <= 0 || p.NHeadKV <= 0 || p.NFF <= 0 || p.NVocab <= 0 || p.HeadDim <= 0:
		return fmt.Errorf("hyper-parameters must be positive: n_embd %d, n_layer %d, n_head %d, n_head_kv %d, n_ff %d, n_vocab %d, head_dim %d",
			p.NEmbd, p.NLayer, p.NHead, p.NHeadKV, p.NFF, p.NVocab, p.HeadDim)
	case p.NHead%p.NHeadKV != 0:
		return fmt.Errorf("n_head %d is not a multiple of n_head_kv %d", p.NHead, p.NHeadKV)
	case p.RopeDim <= 0 || p.RopeDim > p.HeadDim || p.RopeDim%2 != 0:
		return fmt.Errorf("rope dimension %d must be even and within head_dim %d", p.RopeDim, p.HeadDim)
	case !(p.RopeFreqBase > 0):
		return fmt.Errorf("rope freq base %g must be positive", p.RopeFreqBase)
	case !(p.RMSEps >= 0):
		return fmt.Errorf("rms epsilon %g must not be negative", p.RMSEps)
	}
	return nil
}

// Vocab is what the engine needs of a tokenizer.
type Vocab interface {
	// Encode tokenizes text, adding BOS when the model wants it;
	// parseSpecial makes "<s>"-like text map to special tokens.
	Encode(text string, parseSpecial bool) ([]int, error)
	// Piece returns the text of one token as stored in the vocabulary.
	Piece(id int) string
	// IsEOG reports whether id ends generation.
	IsEOG(id int) bool
	// AddBOS reports whether Encode prepends BOS.
	AddBOS() bool
	// Size is the number of tokens of the vocabulary.
	Size() int
	// NewDecoder returns a streaming detokenizer.
	NewDecoder() Decoder
}

// Decoder turns a token stream into text, holding back incomplete UTF-8.
type Decoder interface {
	Add(id int) string
	// Flush returns what is pending (an incomplete character as U+FFFD).
	Flush() string
}

// Model is a loaded model: hyper-parameters, bound weights and tokenizer.
// It is read-only and may back several sessions.
type Model struct {
	Name     string
	FileType string // dominant tensor type, e.g. "Q8_0" (informational)
	Params   Params
	W        *Weights
	Vocab    Vocab // nil when the caller passes token ids itself
	closeFn  func() error
}

// NewModel binds the weights of architecture p.Arch from lookup.
func NewModel(name string, p Params, lookup Lookup, v Vocab) (*Model, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a, err := lookupArch(p.Arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w, err := a.Bind(p, NewBinder(lookup))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Model{Name: name, Params: p, W: w, Vocab: v}, nil
}

// Close releases the model file (its mapping); the model must not be used
// afterwards.
func (m *Model) Close() error {
	if m.closeFn == nil {
		return nil
	}
	return m.closeFn()
}

// embedRow writes the embedding of token id into dst.
func (s *Session) embedRow(dst []float32, id int) error {
	e := s.m.W.TokenEmbd
	if id < 0 || id >= e.Rows {
		return fmt.Errorf("token id %d outside the vocabulary of %d", id, e.Rows)
	}
	return tensor.DequantizeRow(e.Type, e.Row(id), dst)
}
