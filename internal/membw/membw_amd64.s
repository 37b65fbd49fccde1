#include "textflag.h"

// func read1AVX2(p *byte, n int) uint64
TEXT ·read1AVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop1:
	CMPQ SI, CX
	JAE  done1
	VPXOR (SI), Y0, Y0
	VPXOR 32(SI), Y1, Y1
	VPXOR 64(SI), Y2, Y2
	VPXOR 96(SI), Y3, Y3
	VPXOR 128(SI), Y0, Y0
	VPXOR 160(SI), Y1, Y1
	VPXOR 192(SI), Y2, Y2
	VPXOR 224(SI), Y3, Y3
	ADDQ $256, SI
	JMP  loop1

done1:
	VPXOR        Y1, Y0, Y0
	VPXOR        Y3, Y2, Y2
	VPXOR        Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPXOR        X1, X0, X0
	VMOVQ        X0, AX
	VPEXTRQ      $1, X0, BX
	XORQ         BX, AX
	VZEROUPPER
	MOVQ         AX, ret+16(FP)
	RET

// func read4AVX2(p *byte, n int) uint64
TEXT ·read4AVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $2, CX            // bytes per stream (a multiple of 64)
	LEAQ (SI)(CX*1), DI
	LEAQ (DI)(CX*1), R8
	LEAQ (R8)(CX*1), R9
	XORQ AX, AX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop4:
	CMPQ AX, CX
	JAE  done4
	VPXOR (SI)(AX*1), Y0, Y0
	VPXOR 32(SI)(AX*1), Y1, Y1
	VPXOR (DI)(AX*1), Y2, Y2
	VPXOR 32(DI)(AX*1), Y3, Y3
	VPXOR (R8)(AX*1), Y0, Y0
	VPXOR 32(R8)(AX*1), Y1, Y1
	VPXOR (R9)(AX*1), Y2, Y2
	VPXOR 32(R9)(AX*1), Y3, Y3
	ADDQ $64, AX
	JMP  loop4

done4:
	VPXOR        Y1, Y0, Y0
	VPXOR        Y3, Y2, Y2
	VPXOR        Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPXOR        X1, X0, X0
	VMOVQ        X0, AX
	VPEXTRQ      $1, X0, BX
	XORQ         BX, AX
	VZEROUPPER
	MOVQ         AX, ret+16(FP)
	RET
