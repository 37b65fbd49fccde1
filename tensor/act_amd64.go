package tensor

//go:noescape
func siluMulAVX2(gp, up *float32, n int)

//go:noescape
func allFiniteAVX2(x *float32, n int) bool

func init() {
	if !hasAVX2 {
		return
	}
	siluMulVec = func(g, u []float32) {
		u = u[:len(g)]
		siluMulAVX2(f32p(g), f32p(u), len(g)&^7)
	}
	allFiniteVec = func(x []float32) bool { return allFiniteAVX2(f32p(x), len(x)&^31) }
}
