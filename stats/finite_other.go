//go:build !amd64

package stats

// Only amd64 has the assembly kernels; useAVX2 stays false.

const hasAVX2 = false

func finiteLanesAVX2(xs []float32, k float64, l *lanes) { finiteLanesGo(xs, k, l) }

func histCountsAVX2(xs []float32, lo, scale float64, c *[4][HistBins]int32) {
	histCountsGo(xs, lo, scale, c)
}

func firstGreaterAVX2(xs []float32, t float32) int { return len(xs) }
