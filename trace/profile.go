package trace

import (
	"fmt"
	"sync/atomic"
)

// Brick is one kind of measured unit of work (a "brick" of a forward pass).
type Brick uint8

// The bricks, grouped by category.
const (
	RmsNorm Brick = iota // Norm

	QkvProjection // Attention
	RopeEmbedding
	AttentionScore
	AttentionSoftmax
	AttentionOutput
	OutputProjection

	GateProjection // FFN
	UpProjection
	Activation
	DownProjection

	Embedding // Other
	LmHead
	Sampling

	NumBricks // number of brick kinds
)

var brickNames = [NumBricks]string{"RmsNorm", "QkvProjection", "RopeEmbedding", "AttentionScore",
	"AttentionSoftmax", "AttentionOutput", "OutputProjection", "GateProjection", "UpProjection",
	"Activation", "DownProjection", "Embedding", "LmHead", "Sampling"}

// String returns the brick name ("QkvProjection").
func (b Brick) String() string {
	if b < NumBricks {
		return brickNames[b]
	}
	return fmt.Sprintf("Brick(%d)", uint8(b))
}

// Brick categories, in report order.
const (
	CategoryNorm      = "Norm"
	CategoryAttention = "Attention"
	CategoryFFN       = "FFN"
	CategoryOther     = "Other"
)

var categoryNames = [...]string{CategoryNorm, CategoryAttention, CategoryFFN, CategoryOther}

// Category returns the category name of b: Norm, Attention, FFN or Other.
func (b Brick) Category() string { return categoryNames[b.categoryIndex()] }

func (b Brick) categoryIndex() int {
	switch {
	case b == RmsNorm:
		return 0
	case b <= OutputProjection:
		return 1
	case b <= DownProjection:
		return 2
	}
	return 3
}

// brickCounters are the fixed-size accumulators of one period.
type brickCounters struct {
	ns, count, flops, bytes [NumBricks]atomic.Int64
}

func (c *brickCounters) reset() {
	for i := range NumBricks {
		c.ns[i].Store(0)
		c.count[i].Store(0)
		c.flops[i].Store(0)
		c.bytes[i].Store(0)
	}
}

// Profiler accumulates brick timings per iteration and over the whole run.
// Add is allocation-free and safe for concurrent use; Start and Finish
// must be called by one goroutine, around the Adds of an iteration.
type Profiler struct {
	iter     int
	cur, tot brickCounters
	totWall  int64
}

// NewProfiler returns an empty profiler.
func NewProfiler() *Profiler { return &Profiler{} }

// Start begins iteration iter, clearing the per-iteration counters.
func (p *Profiler) Start(iter int) {
	p.iter = iter
	p.cur.reset()
}

// Add records one execution of brick taking ns nanoseconds, doing flops
// floating-point operations and reading bytes bytes.
func (p *Profiler) Add(brick Brick, ns int64, flops, bytes int64) {
	if brick >= NumBricks {
		return
	}
	p.cur.ns[brick].Add(ns)
	p.cur.count[brick].Add(1)
	p.cur.flops[brick].Add(flops)
	p.cur.bytes[brick].Add(bytes)
	p.tot.ns[brick].Add(ns)
	p.tot.count[brick].Add(1)
	p.tot.flops[brick].Add(flops)
	p.tot.bytes[brick].Add(bytes)
}

// Finish closes the iteration whose wall-clock time was wallNS and returns
// its profile, with Total holding the running total of all iterations.
func (p *Profiler) Finish(wallNS int64) Profile {
	p.totWall += wallNS
	prof := p.cur.profile(wallNS)
	total := p.tot.profile(p.totWall)
	prof.Total = &total
	return prof
}

func (c *brickCounters) profile(wallNS int64) Profile {
	var prof Profile
	var cats [len(categoryNames)]int64
	for b := range NumBricks {
		n := c.count[b].Load()
		if n == 0 {
			continue
		}
		bs := BrickStat{Name: b.String(), TotalNS: c.ns[b].Load(), Count: int(n),
			FLOPs: c.flops[b].Load(), Bytes: c.bytes[b].Load()}
		if bs.TotalNS > 0 {
			// flop/ns = GFLOP/s and byte/ns = GB/s.
			bs.GFLOPS = float64(bs.FLOPs) / float64(bs.TotalNS)
			bs.GBps = float64(bs.Bytes) / float64(bs.TotalNS)
		}
		prof.Bricks = append(prof.Bricks, bs)
		prof.MeasuredNS += bs.TotalNS
		cats[b.categoryIndex()] += bs.TotalNS
	}
	for i, name := range categoryNames {
		cs := CategoryStat{Name: name, TotalNS: cats[i]}
		if prof.MeasuredNS > 0 {
			cs.Share = float64(cats[i]) / float64(prof.MeasuredNS)
		}
		prof.Categories = append(prof.Categories, cs)
	}
	prof.WallNS = wallNS
	if wallNS > 0 {
		prof.Coverage = float64(prof.MeasuredNS) / float64(wallNS)
	}
	return prof
}
