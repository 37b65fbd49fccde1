// AVX2 K-quant dots, exact: ggml's generic K dots keep eight int32 lane
// sums aux[l] over the positions p = l mod 8, and eight float32 lane sums
// sums[l] += d*aux[l]. Here each 16-byte half of the quants (weights and
// Q8_K activations alike) is first shuffled to [0,8,1,9,...,7,15], so that
// VPMADDUBSW only ever adds two products of the same class: word k of each
// half is class k. Two groups g, g+1 are then interleaved word-wise and
// VPMADDWD against the (s_g, s_g+1) pair applies their scales and widens,
// leaving classes 0-3 in one accumulator and 4-7 in the other. The float
// work is the Go kernel's multiply-then-add sequence, so the result is
// bit-identical to it.

#include "textflag.h"

DATA qkshuf<>+0(SB)/8, $0x0b030a0209010800
DATA qkshuf<>+8(SB)/8, $0x0f070e060d050c04
DATA qkshuf<>+16(SB)/8, $0x0b030a0209010800
DATA qkshuf<>+24(SB)/8, $0x0f070e060d050c04
GLOBL qkshuf<>(SB), RODATA|NOPTR, $32

// Q4KPAIR: the 32 quant bytes at qsoff(SI) hold groups g (low nibbles) and
// g+1 (high nibbles), against the Q8_K quants at qoff0(DI) and qoff1(DI);
// imm selects the (s_g, s_g+1) word pair of Y13. Y14 = shuffle, Y15 = 0x0f.
// Accumulates classes 0-3 into Y2 and 4-7 into Y3; clobbers Y8-Y12.
#define Q4KPAIR(qsoff, qoff0, qoff1, imm) \
	VMOVDQU    qsoff(SI), Y8   \
	VPSHUFB    Y14, Y8, Y8     \
	VPSRLW     $4, Y8, Y9      \
	VPAND      Y15, Y8, Y8     \
	VPAND      Y15, Y9, Y9     \
	VMOVDQU    qoff0(DI), Y10  \
	VPSHUFB    Y14, Y10, Y10   \
	VMOVDQU    qoff1(DI), Y11  \
	VPSHUFB    Y14, Y11, Y11   \
	VPMADDUBSW Y10, Y8, Y8     \
	VPMADDUBSW Y11, Y9, Y9     \
	VPUNPCKLWD Y9, Y8, Y10     \
	VPUNPCKHWD Y9, Y8, Y11     \
	VPSHUFD    $imm, Y13, Y12  \
	VPMADDWD   Y12, Y10, Y10   \
	VPMADDWD   Y12, Y11, Y11   \
	VPADDD     Y10, Y2, Y2     \
	VPADDD     Y11, Y3, Y3

// ADDLANES(x): X0 += x[0]; += x[1]; += x[2]; += x[3]. Clobbers X3.
#define ADDLANES(x) \
	VADDSS    x, X0, X0    \
	VMOVSHDUP x, X3        \
	VADDSS    X3, X0, X0   \
	VMOVHLPS  x, X3, X3    \
	VADDSS    X3, X0, X0   \
	VPSHUFD   $3, x, X3    \
	VADDSS    X3, X0, X0

// func dotQ4_KQ8_KAVX2(w, y *byte, nb int) float32
TEXT ·dotQ4_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU      qkshuf<>(SB), Y14
	VXORPS       Y0, Y0, Y0          // sumf
	VXORPS       Y1, Y1, Y1          // sums[8]

q4kblock:
	TESTQ CX, CX
	JEQ   q4kdone

	// Unpack the 6-bit scales and mins (ggml's kmask shuffle of utmp).
	MOVL  4(SI), AX                  // u0
	MOVL  8(SI), BX                  // u1
	MOVL  12(SI), DX                 // u2
	MOVL  DX, R8
	SHRL  $4, R8
	ANDL  $0x0f0f0f0f, R8
	MOVL  BX, R9
	SHRL  $6, R9
	ANDL  $0x03030303, R9
	SHLL  $4, R9
	ORL   R9, R8                     // mins 4..7
	MOVL  DX, R9
	ANDL  $0x0f0f0f0f, R9
	MOVL  AX, R10
	SHRL  $6, R10
	ANDL  $0x03030303, R10
	SHLL  $4, R10
	ORL   R10, R9                    // scales 4..7
	ANDL  $0x3f3f3f3f, BX            // mins 0..3
	ANDL  $0x3f3f3f3f, AX            // scales 0..3
	SHLQ  $32, R9
	ORQ   R9, AX
	SHLQ  $32, R8
	ORQ   R8, BX

	VMOVQ     AX, X4
	VPMOVZXBW X4, X13
	VPERMQ    $0x44, Y13, Y13       // scale words, in both halves

	// sumi = sum_j bsums[j] * mins[j/2]
	VMOVQ        BX, X5
	VPUNPCKLBW   X5, X5, X5
	VPMOVZXBW    X5, Y5
	VPMADDWD     260(DI), Y5, Y5
	VEXTRACTI128 $1, Y5, X6
	VPADDD       X6, X5, X5
	VPSHUFD      $0x4e, X5, X6
	VPADDD       X6, X5, X5
	VPSHUFD      $0xb1, X5, X6
	VPADDD       X6, X5, X5
	VMOVD        X5, R11

	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	Q4KPAIR(16, 4, 36, 0x00)
	Q4KPAIR(48, 68, 100, 0x55)
	Q4KPAIR(80, 132, 164, 0xaa)
	Q4KPAIR(112, 196, 228, 0xff)

	// aux in lane order: fold the two halves of each class accumulator.
	VEXTRACTI128 $1, Y2, X4
	VPADDD       X4, X2, X6
	VEXTRACTI128 $1, Y3, X5
	VPADDD       X5, X3, X7
	VINSERTI128  $1, X7, Y6, Y6
	VCVTDQ2PS    Y6, Y6

	// sums += (d*yd) * aux
	MOVWLZX      (SI), AX
	VMOVD        AX, X4
	VCVTPH2PS    X4, X4
	VMULSS       (DI), X4, X4
	VBROADCASTSS X4, Y4
	VMULPS       Y4, Y6, Y6
	VADDPS       Y6, Y1, Y1

	// sumf -= (dmin*yd) * sumi
	MOVWLZX    2(SI), AX
	VMOVD      AX, X4
	VCVTPH2PS  X4, X4
	VMULSS     (DI), X4, X4
	VCVTSI2SSL R11, X5, X5
	VMULSS     X5, X4, X4
	VSUBSS     X4, X0, X0

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q4kblock

q4kdone:
	VEXTRACTF128 $1, Y1, X2
	ADDLANES(X1)
	ADDLANES(X2)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
