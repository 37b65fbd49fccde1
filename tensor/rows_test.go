package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotRows4: every kernel set's four strided dots equal its one-row
// Dot bit for bit, for head-sized and odd lengths, strides longer than a
// row, and misaligned starts.
func TestDotRows4(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	defer func(k *kernelSet) { active = k }(active)
	for _, name := range KernelNames() {
		active = kernelSets[name]
		for _, n := range []int{1, 7, 8, 33, 64, 128} {
			for _, extra := range []int{0, 1, 64} {
				for _, off := range []int{0, 1, 3} {
					stride := n + extra
					w := randVec(rng, off+3*stride+n, 1)[off:]
					x := randVec(rng, n, 1)
					var out [4]float32
					DotRows4(w, stride, x, &out)
					for i := range out {
						want := Dot(w[i*stride:i*stride+n], x)
						if math.Float32bits(out[i]) != math.Float32bits(want) {
							t.Fatalf("%s n=%d stride=%d off=%d row %d: %v, Dot %v", name, n, stride, off, i, out[i], want)
						}
					}
				}
			}
		}
	}
}
