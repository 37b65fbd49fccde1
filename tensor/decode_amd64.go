package tensor

//go:noescape
func dotQ4_KQ8_Kx4dAVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)

func init() {
	if hasAVX2 {
		q4kDecode.ks = &avx2Kernels
		q4kDecode.dot4 = blockDot4(dotQ4_KQ8_Kx4dAVX2, 144, q8KBlockBytes)
		q40Decode.ks = &avx2Kernels
		q40Decode.dot4 = dotQ40DecodeAsm
	}
}

//go:noescape
func dotQ4_0Q8_0x4dAVX2(w *byte, stride int, y, ys *byte, nb int, out *[4]float32)

// dotQ40DecodeAsm checks a four-row Q4_0 decode call, as blockDot4 does,
// and the table's length.
func dotQ40DecodeAsm(w []byte, stride int, xq, ys []byte, nb int, out *[4]float32) {
	if nb <= 0 {
		*out = [4]float32{}
		return
	}
	if stride < 0 {
		panic("tensor: negative row stride")
	}
	w, xq, ys = w[:3*stride+nb*18], xq[:nb*34], ys[:q40TableBytes(nb)]
	dotQ4_0Q8_0x4dAVX2(&w[0], stride, &xq[0], &ys[0], nb, out)
}
