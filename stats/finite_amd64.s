#include "textflag.h"

// func finiteLanesAVX2(xs []float32, k float64, l *lanes)
//
// lanes: s [4]float64 at 0, q [4]float64 at 32, lo float32 at 64, hi at
// 68, zero int at 72. Each group of four values goes through the same
// float64 operations, lane for lane, as finiteLanesGo: s += x-K, then
// q += (x-K)*(x-K), in order.
TEXT ·finiteLanesAVX2(SB), NOSPLIT, $0-40
	MOVQ xs_base+0(FP), SI
	MOVQ xs_len+8(FP), CX
	MOVQ l+32(FP), DI
	VBROADCASTSD k+24(FP), Y15
	VMOVUPD 0(DI), Y0          // s lanes
	VMOVUPD 32(DI), Y1         // q lanes
	VBROADCASTSS 64(DI), Y2    // min over 8 lanes
	VBROADCASTSS 68(DI), Y3    // max over 8 lanes
	VXORPS Y5, Y5, Y5          // 0.0
	MOVQ 72(DI), DX            // zero count

loop8:
	CMPQ CX, $8
	JLT  tail4
	VMOVUPS (SI), Y6
	VMINPS Y6, Y2, Y2
	VMAXPS Y6, Y3, Y3
	VCMPPS $0, Y5, Y6, Y7      // x == 0 (false for NaN)
	VMOVMSKPS Y7, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCVTPS2PD X6, Y8           // values 0..3
	VSUBPD Y15, Y8, Y8
	VADDPD Y8, Y0, Y0
	VMULPD Y8, Y8, Y8
	VADDPD Y8, Y1, Y1
	VCVTPS2PD 16(SI), Y9       // values 4..7
	VSUBPD Y15, Y9, Y9
	VADDPD Y9, Y0, Y0
	VMULPD Y9, Y9, Y9
	VADDPD Y9, Y1, Y1
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8

tail4:
	CMPQ CX, $4
	JLT  done
	VBROADCASTF128 (SI), Y6    // the four values in both halves
	VMINPS Y6, Y2, Y2
	VMAXPS Y6, Y3, Y3
	VCMPPS $0, X5, X6, X7
	VMOVMSKPS X7, AX
	POPCNTL AX, AX
	ADDQ AX, DX
	VCVTPS2PD X6, Y8
	VSUBPD Y15, Y8, Y8
	VADDPD Y8, Y0, Y0
	VMULPD Y8, Y8, Y8
	VADDPD Y8, Y1, Y1

done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VEXTRACTF128 $1, Y2, X6
	VMINPS X6, X2, X2
	VPERMILPS $0x4E, X2, X6
	VMINPS X6, X2, X2
	VPERMILPS $0xB1, X2, X6
	VMINPS X6, X2, X2
	VMOVSS X2, 64(DI)
	VEXTRACTF128 $1, Y3, X6
	VMAXPS X6, X3, X3
	VPERMILPS $0x4E, X3, X6
	VMAXPS X6, X3, X3
	VPERMILPS $0xB1, X3, X6
	VMAXPS X6, X3, X3
	VMOVSS X3, 68(DI)
	MOVQ DX, 72(DI)
	VZEROUPPER
	RET

// func histCountsAVX2(xs []float32, lo, scale float64, c *[4][16]int32)
//
// Value i of each group of four lands in counter set i, in bin
// min(uint(trunc((x-lo)*scale)), 15), as histCountsGo computes it. (Tried
// and not kept: eight values an iteration, eight counter sets, and 4-bit
// counters in vector lanes; none was faster on Zen 3.)
TEXT ·histCountsAVX2(SB), NOSPLIT, $0-48
	MOVQ xs_base+0(FP), SI
	MOVQ xs_len+8(FP), CX
	VBROADCASTSD lo+24(FP), Y14
	VBROADCASTSD scale+32(FP), Y15
	MOVQ c+40(FP), DI
	MOVL $15, AX
	MOVD AX, X13
	VPBROADCASTD X13, X13
	SHRQ $2, CX
	JZ   hdone

hloop:
	VCVTPS2PD (SI), Y0
	VSUBPD Y14, Y0, Y0
	VMULPD Y15, Y0, Y0
	VCVTTPD2DQY Y0, X0
	VPMINUD X13, X0, X0
	VMOVD X0, AX
	VPEXTRD $1, X0, BX
	VPEXTRD $2, X0, DX
	VPEXTRD $3, X0, R8
	INCL 0(DI)(AX*4)
	INCL 64(DI)(BX*4)
	INCL 128(DI)(DX*4)
	INCL 192(DI)(R8*4)
	ADDQ $16, SI
	DECQ CX
	JNZ  hloop

hdone:
	VZEROUPPER
	RET

// func firstGreaterAVX2(xs []float32, t float32) int
//
// The index of the first value > t (ordered compare: NaN is never
// greater), or len(xs); len(xs) must be a multiple of 8.
TEXT ·firstGreaterAVX2(SB), NOSPLIT, $0-40
	MOVQ xs_base+0(FP), SI
	MOVQ xs_len+8(FP), CX
	VBROADCASTSS t+24(FP), Y1
	XORQ BX, BX

gloop:
	CMPQ BX, CX
	JGE  gnone
	VCMPPS $0x11, (SI)(BX*4), Y1, Y0   // LT_OQ: t < x
	VMOVMSKPS Y0, AX
	TESTL AX, AX
	JNZ  gfound
	ADDQ $8, BX
	JMP  gloop

gfound:
	BSFL AX, AX
	ADDQ AX, BX

gnone:
	MOVQ BX, ret+32(FP)
	VZEROUPPER
	RET
