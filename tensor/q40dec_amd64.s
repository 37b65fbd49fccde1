// Batch-1 (decode) Q4_0·Q8_0 dot of four weight rows against one
// activation, each result bit-identical to dotQ4_0Q8_0AVX2 (q8_amd64.s),
// so to the Go kernel: per block s = Σ(q-8)·y exactly, then
// sumf += (float(s)·dx)·dy in block order. It differs from
// dotQ4_0Q8_0x4AVX2 in what the activation brings, laid out once per
// launch by prepQ40Decode (decode.go): 8·Σy of each block (so the -8
// offset is one VPSUBD on the reduced sums instead of a VPSUBW per row
// and block, and the 8·y pair sums are not formed) and dy as float32,
// four copies each, so block pairs load as [A A A A | B B B B].
//
// Each row is prefetched 1152 bytes (64 blocks) ahead.
//
// Registers: R8-R11 the four rows, SI the block offset in them; DI the
// Q8_0 activation blocks; R12 the 8·Σy table, R13 the dy table.

#include "textflag.h"

DATA q40dshift<>+0(SB)/8, $0
DATA q40dshift<>+8(SB)/8, $0
DATA q40dshift<>+16(SB)/8, $4
DATA q40dshift<>+24(SB)/8, $4
GLOBL q40dshift<>(SB), RODATA|NOPTR, $32

// Q40D(reg, off, dst): int32x8 partial sums of Σq·y for the Q4_0 block at
// off(reg)(SI*1) against the quants in Y10 (low nibbles in the low half,
// high nibbles in the high half). Y11 = shifts, Y15 = 0x0f, Y13 = 1 words.
#define Q40D(reg, off, dst) \
	VBROADCASTI128 off+2(reg)(SI*1), dst \
	VPSRLVQ        Y11, dst, dst          \
	VPAND          Y15, dst, dst          \
	VPMADDUBSW     Y10, dst, dst          \
	VPMADDWD       Y13, dst, dst

// func dotQ4_0Q8_0x4dAVX2(w *byte, stride int, y *byte, ys *byte, nb int, out *[4]float32)
TEXT ·dotQ4_0Q8_0x4dAVX2(SB), NOSPLIT, $0-48
	MOVQ         w+0(FP), R8
	MOVQ         stride+8(FP), BX
	MOVQ         y+16(FP), DI
	MOVQ         ys+24(FP), R13
	MOVQ         nb+32(FP), CX
	MOVQ         CX, R12
	SHLQ         $4, R12
	ADDQ         R13, R12
	LEAQ         (R8)(BX*1), R9
	LEAQ         (R9)(BX*1), R10
	LEAQ         (R10)(BX*1), R11
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x00010001, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VMOVDQU      q40dshift<>(SB), Y11
	VXORPS       X0, X0, X0
	XORQ         SI, SI

q40dloop2:
	CMPQ    CX, $2
	JLT     q40dloop
	PREFETCHT0 1152(R8)(SI*1)
	PREFETCHT0 1152(R9)(SI*1)
	PREFETCHT0 1152(R10)(SI*1)
	PREFETCHT0 1152(R11)(SI*1)
	VMOVDQU 2(DI), Y10
	Q40D(R8, 0, Y1)
	Q40D(R9, 0, Y2)
	Q40D(R10, 0, Y3)
	Q40D(R11, 0, Y4)
	VMOVDQU 36(DI), Y10
	Q40D(R8, 18, Y5)
	Q40D(R9, 18, Y6)
	Q40D(R10, 18, Y7)
	Q40D(R11, 18, Y8)

	// [A0..A3 | B0..B3] - 8·Σy
	VPHADDD    Y2, Y1, Y1
	VPHADDD    Y4, Y3, Y3
	VPHADDD    Y3, Y1, Y1
	VPHADDD    Y6, Y5, Y5
	VPHADDD    Y8, Y7, Y7
	VPHADDD    Y7, Y5, Y5
	VPERM2I128 $0x20, Y5, Y1, Y2
	VPERM2I128 $0x31, Y5, Y1, Y3
	VPADDD     Y3, Y2, Y2
	VPSUBD     (R12), Y2, Y2
	VCVTDQ2PS  Y2, Y2

	// dx of the four rows for blocks A then B, as eight halves.
	MOVWLZX   (R8)(SI*1), AX
	VMOVD     AX, X9
	VPINSRW   $1, (R9)(SI*1), X9, X9
	VPINSRW   $2, (R10)(SI*1), X9, X9
	VPINSRW   $3, (R11)(SI*1), X9, X9
	VPINSRW   $4, 18(R8)(SI*1), X9, X9
	VPINSRW   $5, 18(R9)(SI*1), X9, X9
	VPINSRW   $6, 18(R10)(SI*1), X9, X9
	VPINSRW   $7, 18(R11)(SI*1), X9, X9
	VCVTPH2PS X9, Y9

	VMULPS       Y9, Y2, Y2
	VMULPS       (R13), Y2, Y2
	VADDPS       X2, X0, X0
	VEXTRACTF128 $1, Y2, X2
	VADDPS       X2, X0, X0
	ADDQ         $36, SI
	ADDQ         $68, DI
	ADDQ         $32, R12
	ADDQ         $32, R13
	SUBQ         $2, CX
	JMP          q40dloop2

q40dloop:
	TESTQ        CX, CX
	JEQ          q40ddone
	VMOVDQU      2(DI), Y10
	Q40D(R8, 0, Y1)
	Q40D(R9, 0, Y2)
	Q40D(R10, 0, Y3)
	Q40D(R11, 0, Y4)
	VPHADDD      Y2, Y1, Y5
	VPHADDD      Y4, Y3, Y6
	VPHADDD      Y6, Y5, Y7
	VEXTRACTI128 $1, Y7, X8
	VPADDD       X8, X7, X7
	VPSUBD       (R12), X7, X7
	VCVTDQ2PS    X7, X7
	MOVWLZX      (R8)(SI*1), AX
	VMOVD        AX, X9
	VPINSRW      $1, (R9)(SI*1), X9, X9
	VPINSRW      $2, (R10)(SI*1), X9, X9
	VPINSRW      $3, (R11)(SI*1), X9, X9
	VCVTPH2PS    X9, X9
	VMULPS       X9, X7, X7
	VMULPS       (R13), X7, X7
	VADDPS       X7, X0, X0

q40ddone:
	MOVQ    out+40(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET
