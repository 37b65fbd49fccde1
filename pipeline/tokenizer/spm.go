package tokenizer

import (
	"container/heap"
	"fmt"
)

// symbol is a span of the text being merged, in a doubly linked list
// (llama.cpp's llm_symbol). n == 0 marks a symbol merged into its left.
type symbol struct {
	prev, next int
	start, n   int
}

// spmBigram is a candidate merge of two adjacent symbols.
type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// spmQueue pops the highest score first, then the leftmost.
type spmQueue []spmBigram

func (q spmQueue) Len() int { return len(q) }
func (q spmQueue) Less(i, j int) bool {
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q spmQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *spmQueue) Push(x any)   { *q = append(*q, x.(spmBigram)) }
func (q *spmQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// spmSession tokenizes one fragment with llama.cpp's SPM algorithm
// (llm_tokenizer_spm_session): split into UTF-8 characters, greedily merge
// the adjacent pair whose concatenation is the best-scoring token, then
// resegment symbols that are not tokens through the merges that built them
// or, failing that, into byte tokens.
type spmSession struct {
	t        *Tokenizer
	text     string
	symbols  []symbol
	queue    spmQueue
	revMerge map[string][2]int
}

func (t *Tokenizer) encodeSPM(text string, out []int) ([]int, error) {
	s := &spmSession{t: t, text: text, revMerge: map[string][2]int{}}
	for offs := 0; offs < len(text); {
		n := min(utf8Len(text[offs]), len(text)-offs)
		idx := len(s.symbols)
		next := idx + 1
		if offs+n == len(text) {
			next = -1
		}
		s.symbols = append(s.symbols, symbol{prev: idx - 1, next: next, start: offs, n: n})
		offs += n
	}
	for i := 1; i < len(s.symbols); i++ {
		s.tryAdd(i-1, i)
	}
	for s.queue.Len() > 0 {
		b := heap.Pop(&s.queue).(spmBigram)
		l, r := &s.symbols[b.left], &s.symbols[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.symbols[r.next].prev = b.left
		}
		s.tryAdd(l.prev, b.left)
		s.tryAdd(b.left, l.next)
	}
	if len(s.symbols) == 0 {
		return out, nil
	}
	var err error
	for i := 0; i != -1 && err == nil; i = s.symbols[i].next {
		out, err = s.resegment(i, out)
	}
	return out, err
}

func (s *spmSession) tryAdd(left, right int) {
	if left == -1 || right == -1 {
		return
	}
	l := s.symbols[left]
	text := s.text[l.start : l.start+l.n+s.symbols[right].n]
	id, ok := s.t.tokenID[text]
	if !ok {
		return
	}
	heap.Push(&s.queue, spmBigram{left: left, right: right, score: s.t.scores[id], size: len(text)})
	s.revMerge[text] = [2]int{left, right}
}

func (s *spmSession) resegment(i int, out []int) ([]int, error) {
	sym := s.symbols[i]
	text := s.text[sym.start : sym.start+sym.n]
	if id, ok := s.t.tokenID[text]; ok {
		return append(out, id), nil
	}
	p, ok := s.revMerge[text]
	if !ok {
		for j := 0; j < len(text); j++ {
			id, err := s.t.spmByteToken(text[j])
			if err != nil {
				return out, err
			}
			out = append(out, id)
		}
		return out, nil
	}
	out, err := s.resegment(p[0], out)
	if err != nil {
		return out, err
	}
	return s.resegment(p[1], out)
}

// spmByteToken is llama_vocab::byte_to_token for SPM: the <0xNN> token,
// else the one-byte token, else (where llama.cpp would throw) UNK.
func (t *Tokenizer) spmByteToken(b byte) (int, error) {
	if id := t.byteTokens[b]; id >= 0 {
		return id, nil
	}
	if id, ok := t.tokenID[string([]byte{b})]; ok {
		return id, nil
	}
	if t.unk >= 0 {
		return t.unk, nil
	}
	return 0, fmt.Errorf("vocabulary has no token for byte 0x%02X and no unknown token", b)
}
