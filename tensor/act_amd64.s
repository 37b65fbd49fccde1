// Element-wise kernels of the FFN and the numerical checks (act.go).

#include "textflag.h"

// C8(name, bits): name is eight copies of the float32 bits, a 32-byte
// memory operand.
#define C8(name, bits) \
	DATA name+0(SB)/4, bits  \
	DATA name+4(SB)/4, bits  \
	DATA name+8(SB)/4, bits  \
	DATA name+12(SB)/4, bits \
	DATA name+16(SB)/4, bits \
	DATA name+20(SB)/4, bits \
	DATA name+24(SB)/4, bits \
	DATA name+28(SB)/4, bits \
	GLOBL name(SB), RODATA|NOPTR, $32

// Cephes expf (as avx_mathfun's exp256_ps): clamp x to [-88.376, 88.7],
// n = floor(x·log2e + 0.5), r = x - n·C1 - n·C2 (ln 2 in two parts), e^r
// by a degree-5 polynomial, times 2^n built in the exponent bits. Above
// 88.376, n = 128 builds +Inf (as float32 e^x overflows at 88.72), so that
// silu of a very negative g is -0 as with the float64 exponential; below
// -88.376, n = -127 builds 0.
C8(expSign<>, $0x80000000)
C8(expHi<>, $0x42b16666)
C8(expLo<>, $0xc2b0c0a5)
C8(expLog2e<>, $0x3fb8aa3b)
C8(expHalf<>, $0x3f000000)
C8(expC1<>, $0x3f318000)
C8(expC2<>, $0xb95e8083)
C8(expP0<>, $0x39506967)
C8(expP1<>, $0x3ab743ce)
C8(expP2<>, $0x3c088908)
C8(expP3<>, $0x3d2aa9c1)
C8(expP4<>, $0x3e2aaaaa)
C8(expP5<>, $0x3f000000)
C8(expOne<>, $0x3f800000)
C8(exp127<>, $0x0000007f)

// func siluMulAVX2(gp, up *float32, n int)
// g[i] = g[i] / (1 + e^-g[i]) * u[i] for i < n, n a multiple of 8. A NaN
// in g stays NaN (the division uses g itself, not the clamped value).
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-24
	MOVQ gp+0(FP), DI
	MOVQ up+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ  done

loop:
	VMOVUPS      (DI), Y0
	VXORPS       expSign<>(SB), Y0, Y1 // x = -g
	VMINPS       expHi<>(SB), Y1, Y1
	VMAXPS       expLo<>(SB), Y1, Y1
	VMOVUPS      expLog2e<>(SB), Y2
	VFMADD213PS  expHalf<>(SB), Y1, Y2 // x·log2e + 0.5
	VROUNDPS     $1, Y2, Y2            // n = floor
	VFNMADD231PS expC1<>(SB), Y2, Y1   // r = x - n·C1
	VFNMADD231PS expC2<>(SB), Y2, Y1   //     - n·C2
	VMULPS       Y1, Y1, Y3            // r²
	VMOVUPS      expP0<>(SB), Y4
	VFMADD213PS  expP1<>(SB), Y1, Y4
	VFMADD213PS  expP2<>(SB), Y1, Y4
	VFMADD213PS  expP3<>(SB), Y1, Y4
	VFMADD213PS  expP4<>(SB), Y1, Y4
	VFMADD213PS  expP5<>(SB), Y1, Y4
	VFMADD213PS  Y1, Y3, Y4            // p·r² + r
	VADDPS       expOne<>(SB), Y4, Y4  // e^r
	VCVTTPS2DQ   Y2, Y5
	VPADDD       exp127<>(SB), Y5, Y5
	VPSLLD       $23, Y5, Y5           // 2^n
	VMULPS       Y5, Y4, Y4            // e^x
	VADDPS       expOne<>(SB), Y4, Y4  // 1 + e^-g
	VDIVPS       Y4, Y0, Y0            // g / (1 + e^-g)
	VMULPS       (SI), Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	DECQ         CX
	JNE          loop

done:
	VZEROUPPER
	RET

// func allFiniteAVX2(x *float32, n int) bool
// Whether none of x[0:n] (n a multiple of 32) has all exponent bits set:
// the running unsigned maximum of the exponent fields, four vectors at a
// time, must stay below 0x7f800000.
TEXT ·allFiniteAVX2(SB), NOSPLIT, $0-17
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	SHRQ         $5, CX
	VPXOR        Y0, Y0, Y0
	VPXOR        Y1, Y1, Y1
	VPXOR        Y2, Y2, Y2
	VPXOR        Y3, Y3, Y3
	MOVL         $0x7f800000, AX
	MOVQ         AX, X4
	VPBROADCASTD X4, Y4
	TESTQ        CX, CX
	JEQ          reduce

floop:
	VPAND   (DI), Y4, Y5
	VPMAXUD Y5, Y0, Y0
	VPAND   32(DI), Y4, Y6
	VPMAXUD Y6, Y1, Y1
	VPAND   64(DI), Y4, Y7
	VPMAXUD Y7, Y2, Y2
	VPAND   96(DI), Y4, Y8
	VPMAXUD Y8, Y3, Y3
	ADDQ    $128, DI
	DECQ    CX
	JNE     floop

reduce:
	VPMAXUD Y1, Y0, Y0
	VPMAXUD Y3, Y2, Y2
	VPMAXUD Y2, Y0, Y0
	VPCMPEQD Y4, Y0, Y0 // lanes whose maximum is Inf/NaN's exponent
	VPTEST  Y0, Y0
	SETEQ   ret+16(FP)
	VZEROUPPER
	RET
