package stats

import "golang.org/x/sys/cpu"

// finiteLanesAVX2 is finiteLanesGo in AVX2 (finite_amd64.s): the sums in
// the four float64 lanes of a vector register, min and max over eight
// float32 lanes, zeros counted by mask. len(xs) must be a multiple of 4.
//
//go:noescape
func finiteLanesAVX2(xs []float32, k float64, l *lanes)

// histCountsAVX2 is histCountsGo in AVX2: four bins computed per vector,
// counted into the four sets of counters. len(xs) must be a multiple of 4.
//
//go:noescape
func histCountsAVX2(xs []float32, lo, scale float64, c *[4][HistBins]int32)

// firstGreaterAVX2 is firstGreater for len(xs) a multiple of 8, eight
// comparisons at a time (finite_amd64.s).
//
//go:noescape
func firstGreaterAVX2(xs []float32, t float32) int

// hasAVX2 reports whether the CPU runs finiteLanesAVX2 and histCountsAVX2.
var hasAVX2 = cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT

func init() { useAVX2 = hasAVX2 && !useGoKernels() }
