package stats

import (
	"errors"
	"strconv"
)

// HistBins is the number of bins of a Summary's histogram.
const HistBins = 16

// Hist counts a tensor's finite values in HistBins equal-width bins over
// [Min, Max]: value x lands in bin floor((x-Min)/(Max-Min)*HistBins), the
// last bin including Max; when Min == Max every value is in bin 0. NaN and
// Inf are not binned (Summary counts them). A fixed array keeps Compute
// free of allocations. The zero Hist means none was computed: no finite
// values, or a trace written before summaries carried one.
type Hist [HistBins]int32

// Empty reports whether h holds no counts.
func (h *Hist) Empty() bool { return *h == Hist{} }

// Total returns the number of values binned.
func (h *Hist) Total() int {
	t := 0
	for _, c := range h {
		t += int(c)
	}
	return t
}

// Counts returns the counts as ints (for Sparkline), or nil when h is
// empty.
func (h *Hist) Counts() []int {
	if h.Empty() {
		return nil
	}
	out := make([]int, HistBins)
	for i, c := range h {
		out[i] = int(c)
	}
	return out
}

// histFinite bins xs, all finite, over [lo, hi].
func histFinite(h *Hist, xs []float32, lo, hi float64) {
	if lo == hi {
		h[0] = int32(len(xs))
		return
	}
	scale := HistBins / (hi - lo)
	// Four sets of counters: runs of neighbouring values fall in one bin,
	// and a single counter would make each increment wait for the last.
	var c [4][HistBins]int32
	m := len(xs) &^ 3
	histCounts(xs[:m], lo, scale, &c)
	for _, v := range xs[m:] {
		c[0][min(uint(int((float64(v)-lo)*scale)), HistBins-1)]++
	}
	for k := range h {
		h[k] = c[0][k] + c[1][k] + c[2][k] + c[3][k]
	}
}

// appendJSON appends h as a JSON array of HistBins counts.
func (h *Hist) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, c := range h {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(c), 10)
	}
	return append(b, ']')
}

// errHist is the error for a "hist" that is not HistBins non-negative
// counts.
var errHist = errors.New("stats: hist must be an array of 16 counts in [0, 2147483647]")

// UnmarshalJSON reads an array of exactly HistBins non-negative integers
// (null reads as an empty Hist), without allocating.
func (h *Hist) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = Hist{}
		return nil
	}
	var out Hist
	i, n := 0, 0
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	skip()
	if i >= len(b) || b[i] != '[' {
		return errHist
	}
	i++
	for {
		skip()
		if n == 0 && i < len(b) && b[i] == ']' {
			return errHist // empty
		}
		if n == HistBins {
			return errHist
		}
		start := i
		var v int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			v = v*10 + int64(b[i]-'0')
			if v > 1<<31-1 {
				return errHist
			}
			i++
		}
		if i == start || (b[start] == '0' && i-start > 1) {
			return errHist
		}
		out[n] = int32(v)
		n++
		skip()
		if i >= len(b) {
			return errHist
		}
		if b[i] == ']' {
			i++
			break
		}
		if b[i] != ',' {
			return errHist
		}
		i++
	}
	skip()
	if n != HistBins || i != len(b) {
		return errHist
	}
	*h = out
	return nil
}
