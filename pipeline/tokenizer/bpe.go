package tokenizer

import (
	"container/heap"
)

// mergePair is the key of the merge-rank table.
type mergePair struct{ left, right string }

type bpeBigram struct {
	left, right int
	text        string
	rank        int
}

// bpeQueue pops the lowest rank first, then the leftmost.
type bpeQueue []bpeBigram

func (q bpeQueue) Len() int { return len(q) }
func (q bpeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].left < q[j].left
}
func (q bpeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bpeQueue) Push(x any)   { *q = append(*q, x.(bpeBigram)) }
func (q *bpeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// encodeBPE tokenizes one fragment as llm_tokenizer_bpe_session: split it
// into words with the pre-tokenizer, byte-encode each word, merge adjacent
// symbols by merge rank, and map the symbols to ids.
func (t *Tokenizer) encodeBPE(text string, out []int) ([]int, error) {
	var symbols []symbol
	var queue bpeQueue
	words, err := t.pre.split(text)
	if err != nil {
		return nil, err
	}
	for _, raw := range words {
		word := raw
		if t.byteLevel {
			word = byteEncode(raw)
		}
		symbols = symbols[:0]
		queue = queue[:0]
		if _, ok := t.tokenID[word]; ok && t.ignoreMerges {
			out = append(out, t.tokenID[word])
			continue
		}
		for offs := 0; offs < len(word); {
			n := min(utf8Len(word[offs]), len(word)-offs)
			idx := len(symbols)
			next := idx + 1
			if offs+n == len(word) {
				next = -1
			}
			symbols = append(symbols, symbol{prev: idx - 1, next: next, start: offs, n: n})
			offs += n
		}
		add := func(left, right int) {
			if left == -1 || right == -1 {
				return
			}
			l, r := symbols[left], symbols[right]
			rank, ok := t.ranks[mergePair{word[l.start : l.start+l.n], word[r.start : r.start+r.n]}]
			if !ok {
				return
			}
			heap.Push(&queue, bpeBigram{left: left, right: right, text: word[l.start : r.start+r.n], rank: rank})
		}
		for i := 1; i < len(symbols); i++ {
			add(i-1, i)
		}
		for queue.Len() > 0 {
			b := heap.Pop(&queue).(bpeBigram)
			l, r := &symbols[b.left], &symbols[b.right]
			if l.n == 0 || r.n == 0 || l.start+l.n != r.start || word[l.start:r.start+r.n] != b.text {
				continue // outdated
			}
			l.n += r.n
			r.n = 0
			l.next = r.next
			if r.next >= 0 {
				symbols[r.next].prev = b.left
			}
			add(l.prev, b.left)
			add(b.left, l.next)
		}
		for _, s := range symbols {
			if s.n == 0 {
				continue
			}
			out = t.appendBPESymbol(word[s.start:s.start+s.n], out)
		}
	}
	return out, nil
}

// appendBPESymbol maps a merged symbol to its id. A symbol that is not a
// token falls back, as llama.cpp does, to the single-byte tokens of its
// (byte-encoded) text, silently dropping bytes that have none.
func (t *Tokenizer) appendBPESymbol(s string, out []int) []int {
	if id, ok := t.tokenID[s]; ok {
		return append(out, id)
	}
	if !t.byteLevel && t.byteFallback {
		for i := 0; i < len(s); i++ {
			if id := t.byteTokens[s[i]]; id >= 0 {
				out = append(out, id)
			} else if t.unk >= 0 {
				out = append(out, t.unk)
			}
		}
		return out
	}
	for i := 0; i < len(s); i++ {
		if id, ok := t.tokenID[s[i:i+1]]; ok {
			out = append(out, id)
		}
	}
	return out
}
