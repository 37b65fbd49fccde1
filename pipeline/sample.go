package pipeline

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

// Sampler picks the next token from logits with llama.cpp's default chain:
// repetition penalty → top-k → top-p → min-p → temperature → a draw from a
// seeded PCG. Temperature <= 0 (or top-k 1) is greedy. Its buffers are
// allocated once, so Sample does not allocate.
type Sampler struct {
	cfg   trace.SamplerConfig
	rng   *rand.Rand
	work  []float32 // penalised logits, one per vocabulary entry
	seen  []uint32  // penalty de-duplication marks (generation counter)
	gen   uint32
	ids   []int     // surviving candidates, best first
	cl    []float32 // their logits
	probs []float32 // their final probabilities
}

// NewSampler returns a sampler for a vocabulary of nVocab tokens.
func NewSampler(cfg trace.SamplerConfig, nVocab int) *Sampler {
	return &Sampler{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		work:  make([]float32, nVocab),
		seen:  make([]uint32, nVocab),
		ids:   make([]int, 0, nVocab),
		cl:    make([]float32, 0, nVocab),
		probs: make([]float32, 0, nVocab),
	}
}

// Greedy reports whether the sampler always takes the largest logit.
func (s *Sampler) Greedy() bool { return s.cfg.Temperature <= 0 || s.cfg.TopK == 1 }

// Sample returns the chosen token and its probability in the final
// (filtered, tempered) distribution. history is every token so far; the
// repetition penalty looks at its last RepeatLastN entries.
func (s *Sampler) Sample(logits []float32, history []int) (id int, prob float64) {
	w := s.work[:len(logits)]
	for i, v := range logits {
		if v != v { // NaN never wins
			v = float32(math.Inf(-1))
		}
		w[i] = v
	}
	s.penalize(w, history)

	if s.Greedy() {
		best := 0
		for i, v := range w {
			if v > w[best] {
				best = i
			}
		}
		s.ids = append(s.ids[:0], best)
		s.cl = append(s.cl[:0], w[best])
		s.probs = append(s.probs[:0], 1)
		return best, 1
	}

	// top-k (0 or >= vocab: keep all), candidates sorted best first.
	if k := s.cfg.TopK; k > 0 && k < len(w) {
		s.ids = stats.TopK(w, k, s.ids[:0])
	} else {
		s.ids = s.ids[:0]
		for i := range w {
			s.ids = append(s.ids, i)
		}
		slices.SortFunc(s.ids, func(a, b int) int {
			if c := cmp.Compare(w[b], w[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	s.cl = s.cl[:0]
	for _, i := range s.ids {
		s.cl = append(s.cl, w[i])
	}

	// top-p over the untempered distribution: the smallest prefix whose
	// mass reaches TopP.
	if p := s.cfg.TopP; p > 0 && p < 1 {
		s.probs = s.probs[:len(s.cl)]
		stats.Softmax(s.probs, s.cl)
		var cum float64
		for i, q := range s.probs {
			cum += float64(q)
			if cum >= p {
				s.ids, s.cl = s.ids[:i+1], s.cl[:i+1]
				break
			}
		}
	}
	// min-p: drop tokens less likely than MinP times the best one.
	if mp := s.cfg.MinP; mp > 0 && len(s.cl) > 1 {
		floor := float64(s.cl[0]) + math.Log(mp)
		keep := 1
		for keep < len(s.cl) && float64(s.cl[keep]) >= floor {
			keep++
		}
		s.ids, s.cl = s.ids[:keep], s.cl[:keep]
	}
	// Temperature, then the draw.
	inv := float32(1 / s.cfg.Temperature)
	for i := range s.cl {
		s.cl[i] *= inv
	}
	s.probs = s.probs[:len(s.cl)]
	stats.Softmax(s.probs, s.cl)
	r := s.rng.Float64()
	var cum float64
	for i, q := range s.probs {
		cum += float64(q)
		if r < cum {
			return s.ids[i], float64(q)
		}
	}
	last := len(s.ids) - 1
	return s.ids[last], float64(s.probs[last])
}

// penalize applies the repetition penalty to every distinct token of the
// last RepeatLastN history entries: positive logits are divided by the
// penalty, negative ones multiplied (llama.cpp).
func (s *Sampler) penalize(w []float32, history []int) {
	pen := float32(s.cfg.RepeatPenalty)
	if pen == 1 || pen <= 0 || s.cfg.RepeatLastN == 0 {
		return
	}
	last := history
	if n := s.cfg.RepeatLastN; n > 0 && len(last) > n {
		last = last[len(last)-n:]
	}
	s.gen++
	for _, id := range last {
		if id < 0 || id >= len(w) || s.seen[id] == s.gen {
			continue
		}
		s.seen[id] = s.gen
		if w[id] > 0 {
			w[id] /= pen
		} else {
			w[id] *= pen
		}
	}
}

// Candidates returns the surviving candidates of the last Sample and their
// final probabilities, best first (valid until the next Sample).
func (s *Sampler) Candidates() (ids []int, probs []float32) { return s.ids, s.probs }

// rank returns the 1-based rank of id among the raw logits (1 = largest).
func rank(logits []float32, id int) int {
	r := 1
	for i, v := range logits {
		if v > logits[id] || (v == logits[id] && i < id) {
			r++
		}
	}
	return r
}
