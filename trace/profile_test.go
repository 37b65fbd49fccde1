package trace

import (
	"math"
	"sync"
	"testing"
)

func TestProfiler(t *testing.T) {
	p := NewProfiler()
	p.Start(0)
	p.Add(RmsNorm, 1000, 2000, 4000)
	p.Add(RmsNorm, 3000, 2000, 4000)
	p.Add(QkvProjection, 4000, 40000, 8000)
	p.Add(DownProjection, 2000, 1000, 1000)
	p.Add(Sampling, 0, 0, 0)
	p.Add(NumBricks, 1, 1, 1) // out of range: ignored
	it0 := p.Finish(20000)

	want := map[string]BrickStat{
		"RmsNorm":        {Name: "RmsNorm", TotalNS: 4000, Count: 2, FLOPs: 4000, Bytes: 8000, GFLOPS: 1, GBps: 2},
		"QkvProjection":  {Name: "QkvProjection", TotalNS: 4000, Count: 1, FLOPs: 40000, Bytes: 8000, GFLOPS: 10, GBps: 2},
		"DownProjection": {Name: "DownProjection", TotalNS: 2000, Count: 1, FLOPs: 1000, Bytes: 1000, GFLOPS: 0.5, GBps: 0.5},
		"Sampling":       {Name: "Sampling", Count: 1},
	}
	if len(it0.Bricks) != len(want) {
		t.Fatalf("bricks %+v", it0.Bricks)
	}
	for _, b := range it0.Bricks {
		if b != want[b.Name] {
			t.Errorf("brick %+v, want %+v", b, want[b.Name])
		}
	}
	if it0.MeasuredNS != 10000 || it0.WallNS != 20000 || it0.Coverage != 0.5 {
		t.Errorf("measured %d wall %d coverage %v, want 10000 20000 0.5", it0.MeasuredNS, it0.WallNS, it0.Coverage)
	}
	wantCats := []CategoryStat{{"Norm", 4000, 0.4}, {"Attention", 4000, 0.4}, {"FFN", 2000, 0.2}, {"Other", 0, 0}}
	for i, c := range it0.Categories {
		if c.Name != wantCats[i].Name || c.TotalNS != wantCats[i].TotalNS || math.Abs(c.Share-wantCats[i].Share) > 1e-12 {
			t.Errorf("category %+v, want %+v", c, wantCats[i])
		}
	}

	p.Start(1)
	p.Add(RmsNorm, 6000, 0, 0)
	it1 := p.Finish(10000)
	if len(it1.Bricks) != 1 || it1.Bricks[0].TotalNS != 6000 || it1.Coverage != 0.6 {
		t.Errorf("iteration 1 = %+v, want only its own RmsNorm", it1)
	}
	tot := it1.Total
	if tot == nil || tot.WallNS != 30000 || tot.MeasuredNS != 16000 || tot.Bricks[0].Count != 3 || tot.Bricks[0].TotalNS != 10000 {
		t.Errorf("running total = %+v", tot)
	}
}

func TestProfilerAddDoesNotAllocate(t *testing.T) {
	p := NewProfiler()
	p.Start(0)
	if n := testing.AllocsPerRun(1000, func() { p.Add(AttentionScore, 10, 20, 30) }); n != 0 {
		t.Errorf("Add allocates %v times per call", n)
	}
}

func TestProfilerConcurrentAdd(t *testing.T) {
	p := NewProfiler()
	p.Start(0)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				p.Add(Brick(w), 1, 1, 1)
			}
		}()
	}
	wg.Wait()
	prof := p.Finish(1)
	for _, b := range prof.Bricks {
		if b.Count != 1000 || b.TotalNS != 1000 {
			t.Errorf("%s: count %d ns %d, want 1000", b.Name, b.Count, b.TotalNS)
		}
	}
}

func TestBrickNames(t *testing.T) {
	cats := map[Brick]string{RmsNorm: "Norm", QkvProjection: "Attention", OutputProjection: "Attention",
		GateProjection: "FFN", DownProjection: "FFN", Embedding: "Other", LmHead: "Other", Sampling: "Other"}
	for b, c := range cats {
		if b.Category() != c {
			t.Errorf("%s.Category() = %s, want %s", b, b.Category(), c)
		}
	}
	if AttentionSoftmax.String() != "AttentionSoftmax" || Brick(200).String() != "Brick(200)" {
		t.Error("Brick.String")
	}
}
