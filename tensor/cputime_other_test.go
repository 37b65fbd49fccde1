//go:build !linux

package tensor

import "time"

// threadCPU is not available off Linux: benchmarks report wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
