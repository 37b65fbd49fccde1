package tensor

// DotRows4 sets out[i] to the dot of x with the row of len(x) values at
// w[i*stride:], for i < 4 (strided rows, e.g. one head's keys in a KV
// cache), with the active kernels: each out[i] is bit-identical to Dot of
// that row with x, and the four rows share the loads of x. w must hold
// 3*stride+len(x) values.
func DotRows4(w []float32, stride int, x []float32, out *[4]float32) {
	settle()
	active.dotF32x4(w, stride, x, out)
}
