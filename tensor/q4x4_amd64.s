// Batched Q4_0·Q8_0 and Q8_0·Q8_0 dots for prompt processing. Q4_0: four weight rows against
// four Q8_0 activation rows per call (sixteen dots), each bit-identical to
// dotQ4_0Q8_0AVX2 / the Go kernel: the same exact integer block sums
// (sum(q*y) - sum(8*y) in int16 pairs, widened by VPMADDWD) and the same
// per-block float chain sumf += (float(s)*dx)*dy, one lane per (row,
// activation). Each row's unpacked nibbles are used for four activations
// and each activation's 8*y pairs for four rows; the sixteen block sums are
// reduced together. The float sums live in the frame: activations 0-1 at
// 0(SP) and 2-3 at 32(SP), lane 4c'+r for activation c (c' = c mod 2) and
// row r.

#include "textflag.h"

DATA q4x4nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4x4nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4x4nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4x4nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4x4nib<>(SB), RODATA|NOPTR, $32

DATA q4x4c8<>+0(SB)/8, $0x0808080808080808
DATA q4x4c8<>+8(SB)/8, $0x0808080808080808
DATA q4x4c8<>+16(SB)/8, $0x0808080808080808
DATA q4x4c8<>+24(SB)/8, $0x0808080808080808
GLOBL q4x4c8<>(SB), RODATA|NOPTR, $32

DATA q4x4ones<>+0(SB)/8, $0x0001000100010001
DATA q4x4ones<>+8(SB)/8, $0x0001000100010001
DATA q4x4ones<>+16(SB)/8, $0x0001000100010001
DATA q4x4ones<>+24(SB)/8, $0x0001000100010001
GLOBL q4x4ones<>(SB), RODATA|NOPTR, $32

DATA q4x4shift<>+0(SB)/8, $0
DATA q4x4shift<>+8(SB)/8, $0
DATA q4x4shift<>+16(SB)/8, $4
DATA q4x4shift<>+24(SB)/8, $4
GLOBL q4x4shift<>(SB), RODATA|NOPTR, $32

// UNPACK(reg, dst): the 32 nibbles of the block at (reg)(SI*1), low ones
// in the low half, high ones in the high half (as Q4ROW2 of q8_amd64.s).
#define UNPACK(reg, dst) \
	VBROADCASTI128 2(reg)(SI*1), dst \
	VPSRLVQ        q4x4shift<>(SB), dst, dst \
	VPAND          q4x4nib<>(SB), dst, dst

// ROWSUM(w, dst): dst = int32x8 partial sums of (q-8)*y for the nibbles w,
// given Y12 = y quants and Y13 = 8*y pairs.
#define ROWSUM(w, dst) \
	VPMADDUBSW Y12, w, dst    \
	VPSUBW     Y13, dst, dst  \
	VPMADDWD   q4x4ones<>(SB), dst, dst

// ACT(yreg, ra, rb): the block of activation yreg against the four rows:
// ra = VPHADDD of rows 0 and 1, rb = of rows 2 and 3. Clobbers Y12-Y15.
#define ACT(yreg, ra, rb) \
	VMOVDQU    2(yreg)(AX*1), Y12 \
	VMOVDQU    q4x4c8<>(SB), Y13  \
	VPMADDUBSW Y12, Y13, Y13      \
	ROWSUM(Y0, Y14)               \
	ROWSUM(Y1, Y15)               \
	VPHADDD    Y15, Y14, ra       \
	ROWSUM(Y2, Y14)               \
	ROWSUM(Y3, Y15)               \
	VPHADDD    Y15, Y14, rb

// DY2(ya, yb, dst): dst = [dy_a ×4 | dy_b ×4] as float32, from the halves
// at (ya)(AX*1) and (yb)(AX*1). Clobbers X4.
#define DY2(ya, yb, dst) \
	VPBROADCASTW (ya)(AX*1), X15   \
	VPBROADCASTW (yb)(AX*1), X4    \
	VPUNPCKLQDQ  X4, X15, X15      \
	VCVTPH2PS    X15, dst

// func dotQ4_0Q8_0x4x4AVX2(w *byte, stride int, y *byte, ystride int, nb int, out *float32, ostride int)
// Rows at w+k*stride, activations at y+c*ystride (bytes); out[c*ostride+k]
// (float32 elements).
TEXT ·dotQ4_0Q8_0x4x4AVX2(SB), NOSPLIT, $64-56
	MOVQ    w+0(FP), R8
	MOVQ    stride+8(FP), BX
	LEAQ    (R8)(BX*1), R9
	LEAQ    (R9)(BX*1), R10
	LEAQ    (R10)(BX*1), R11
	MOVQ    y+16(FP), DI
	MOVQ    ystride+24(FP), BX
	LEAQ    (DI)(BX*1), R12
	LEAQ    (R12)(BX*1), R13
	LEAQ    (R13)(BX*1), R14
	MOVQ    nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVUPS Y0, 0(SP)
	VMOVUPS Y0, 32(SP)
	XORQ    SI, SI                 // weight block offset
	XORQ    AX, AX                 // activation block offset

q4x4x4loop:
	TESTQ CX, CX
	JEQ   q4x4x4done
	UNPACK(R8, Y0)
	UNPACK(R9, Y1)
	UNPACK(R10, Y2)
	UNPACK(R11, Y3)
	ACT(DI, Y4, Y5)
	ACT(R12, Y6, Y7)
	ACT(R13, Y8, Y9)
	ACT(R14, Y10, Y11)

	// Per activation: [r0 r1 r2 r3] partial sums in each 128-bit half.
	VPHADDD    Y5, Y4, Y4
	VPHADDD    Y7, Y6, Y6
	VPHADDD    Y9, Y8, Y8
	VPHADDD    Y11, Y10, Y10
	VPERM2I128 $0x20, Y6, Y4, Y12
	VPERM2I128 $0x31, Y6, Y4, Y13
	VPADDD     Y13, Y12, Y12
	VCVTDQ2PS  Y12, Y12            // activations 0, 1
	VPERM2I128 $0x20, Y10, Y8, Y13
	VPERM2I128 $0x31, Y10, Y8, Y14
	VPADDD     Y14, Y13, Y13
	VCVTDQ2PS  Y13, Y13            // activations 2, 3

	// dx of the four rows, in both halves.
	MOVWLZX     (R8)(SI*1), BX
	VMOVD       BX, X14
	VPINSRW     $1, (R9)(SI*1), X14, X14
	VPINSRW     $2, (R10)(SI*1), X14, X14
	VPINSRW     $3, (R11)(SI*1), X14, X14
	VPUNPCKLQDQ X14, X14, X14
	VCVTPH2PS   X14, Y14

	// sumf += (float(s) * dx) * dy, lane by lane.
	DY2(DI, R12, Y15)
	VMULPS  Y14, Y12, Y12
	VMULPS  Y15, Y12, Y12
	VADDPS  0(SP), Y12, Y12
	VMOVUPS Y12, 0(SP)
	DY2(R13, R14, Y15)
	VMULPS  Y14, Y13, Y13
	VMULPS  Y15, Y13, Y13
	VADDPS  32(SP), Y13, Y13
	VMOVUPS Y13, 32(SP)

	ADDQ $18, SI
	ADDQ $34, AX
	DECQ CX
	JMP  q4x4x4loop

q4x4x4done:
	MOVQ    out+40(FP), DI
	MOVQ    ostride+48(FP), BX
	SHLQ    $2, BX
	VMOVUPS 0(SP), X0
	VMOVUPS X0, (DI)
	ADDQ    BX, DI
	VMOVUPS 16(SP), X0
	VMOVUPS X0, (DI)
	ADDQ    BX, DI
	VMOVUPS 32(SP), X0
	VMOVUPS X0, (DI)
	ADDQ    BX, DI
	VMOVUPS 48(SP), X0
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// Batched Q8_0·Q8_0 dot: four weight rows against four Q8_0 activation
// rows per call, as dotQ4_0Q8_0x4x4AVX2, with the float chain sumf +=
// float(s) * (dx*dy) of dotQ8_0Q8_0AVX2. The block sums use VPMADDUBSW on
// |w| and y·sign(w) (VPABSB once per row and block, VPSIGNB per pair),
// which is exact when no activation quant is -128: |w| <= 128 and
// |y·sign(w)| <= 127 keep every pair sum within int16. The Q8_0
// quantizers never produce -128 (|q| <= 127 by construction), and MatMul
// only ever passes their output; the one-row and four-row kernels stay
// exact for any bytes.

// PAIR8(reg, wabs, dst): dst = int32x8 partial sums of w*y for the Q8_0
// block at (reg)(SI*1) (|w| in wabs) and the activation quants in Y12.
#define PAIR8(reg, wabs, dst) \
	VPSIGNB    2(reg)(SI*1), Y12, dst \
	VPMADDUBSW dst, wabs, dst         \
	VPMADDWD   q4x4ones<>(SB), dst, dst

// ACT8(yreg, ra, rb): as ACT for Q8_0 weights. Clobbers Y12, Y14, Y15.
#define ACT8(yreg, ra, rb) \
	VMOVDQU 2(yreg)(AX*1), Y12 \
	PAIR8(R8, Y0, Y14)         \
	PAIR8(R9, Y1, Y15)         \
	VPHADDD Y15, Y14, ra       \
	PAIR8(R10, Y2, Y14)        \
	PAIR8(R11, Y3, Y15)        \
	VPHADDD Y15, Y14, rb

// func dotQ8_0Q8_0x4x4AVX2(w *byte, stride int, y *byte, ystride int, nb int, out *float32, ostride int)
TEXT ·dotQ8_0Q8_0x4x4AVX2(SB), NOSPLIT, $64-56
	MOVQ    w+0(FP), R8
	MOVQ    stride+8(FP), BX
	LEAQ    (R8)(BX*1), R9
	LEAQ    (R9)(BX*1), R10
	LEAQ    (R10)(BX*1), R11
	MOVQ    y+16(FP), DI
	MOVQ    ystride+24(FP), BX
	LEAQ    (DI)(BX*1), R12
	LEAQ    (R12)(BX*1), R13
	LEAQ    (R13)(BX*1), R14
	MOVQ    nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVUPS Y0, 0(SP)
	VMOVUPS Y0, 32(SP)
	XORQ    SI, SI                 // weight and activation block offset

q8x4x4loop:
	TESTQ  CX, CX
	JEQ    q8x4x4done
	VPABSB 2(R8)(SI*1), Y0
	VPABSB 2(R9)(SI*1), Y1
	VPABSB 2(R10)(SI*1), Y2
	VPABSB 2(R11)(SI*1), Y3
	MOVQ   SI, AX
	ACT8(DI, Y4, Y5)
	ACT8(R12, Y6, Y7)
	ACT8(R13, Y8, Y9)
	ACT8(R14, Y10, Y11)

	VPHADDD    Y5, Y4, Y4
	VPHADDD    Y7, Y6, Y6
	VPHADDD    Y9, Y8, Y8
	VPHADDD    Y11, Y10, Y10
	VPERM2I128 $0x20, Y6, Y4, Y12
	VPERM2I128 $0x31, Y6, Y4, Y13
	VPADDD     Y13, Y12, Y12
	VCVTDQ2PS  Y12, Y12            // activations 0, 1
	VPERM2I128 $0x20, Y10, Y8, Y13
	VPERM2I128 $0x31, Y10, Y8, Y14
	VPADDD     Y14, Y13, Y13
	VCVTDQ2PS  Y13, Y13            // activations 2, 3

	MOVWLZX     (R8)(SI*1), BX
	VMOVD       BX, X14
	VPINSRW     $1, (R9)(SI*1), X14, X14
	VPINSRW     $2, (R10)(SI*1), X14, X14
	VPINSRW     $3, (R11)(SI*1), X14, X14
	VPUNPCKLQDQ X14, X14, X14
	VCVTPH2PS   X14, Y14

	// sumf += float(s) * (dx*dy), lane by lane.
	DY2(DI, R12, Y15)
	VMULPS  Y15, Y14, Y15
	VMULPS  Y15, Y12, Y12
	VADDPS  0(SP), Y12, Y12
	VMOVUPS Y12, 0(SP)
	DY2(R13, R14, Y15)
	VMULPS  Y15, Y14, Y15
	VMULPS  Y15, Y13, Y13
	VADDPS  32(SP), Y13, Y13
	VMOVUPS Y13, 32(SP)

	ADDQ $34, SI
	DECQ CX
	JMP  q8x4x4loop

q8x4x4done:
	MOVQ    out+40(FP), DI
	MOVQ    ostride+48(FP), BX
	SHLQ    $2, BX
	VMOVUPS 0(SP), X0
	VMOVUPS X0, (DI)
	ADDQ    BX, DI
	VMOVUPS 16(SP), X0
	VMOVUPS X0, (DI)
	ADDQ    BX, DI
	VMOVUPS 32(SP), X0
	VMOVUPS X0, (DI)
	ADDQ    BX, DI
	VMOVUPS 48(SP), X0
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET
