package tensor

//go:noescape
func dotQ4_KQ8_Kx4dAVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)

func init() {
	if hasAVX2 {
		q4kDecode.ks = &avx2Kernels
		q4kDecode.dot4 = blockDot4(dotQ4_KQ8_Kx4dAVX2, 144, q8KBlockBytes)
	}
}
