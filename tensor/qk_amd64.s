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

// Q5KPAIR: Q4KPAIR with the fifth bits of groups g and g+1 (as 0x10,
// class-shuffled) in Y4 and Y5.
#define Q5KPAIR(qsoff, qoff0, qoff1, imm) \
	VMOVDQU    qsoff(SI), Y8   \
	VPSHUFB    Y14, Y8, Y8     \
	VPSRLW     $4, Y8, Y9      \
	VPAND      Y15, Y8, Y8     \
	VPAND      Y15, Y9, Y9     \
	VPOR       Y4, Y8, Y8      \
	VPOR       Y5, Y9, Y9      \
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

// func dotQ5_KQ8_KAVX2(w, y *byte, nb int) float32
TEXT ·dotQ5_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU      qkshuf<>(SB), Y14
	MOVL         $0x10101010, AX
	VMOVD        AX, X7
	VPBROADCASTD X7, Y7
	VXORPS       Y0, Y0, Y0          // sumf
	VXORPS       Y1, Y1, Y1          // sums[8]

q5kblock:
	TESTQ CX, CX
	JEQ   q5kdone

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

	// The fifth bit of group g is bit g of qh, moved to bit 4 (0x10).
	VPXOR   Y2, Y2, Y2
	VPXOR   Y3, Y3, Y3
	VMOVDQU 16(SI), Y6
	VPSHUFB Y14, Y6, Y6
	VPSLLW  $4, Y6, Y4
	VPAND   Y7, Y4, Y4
	VPSLLW  $3, Y6, Y5
	VPAND   Y7, Y5, Y5
	Q5KPAIR(48, 4, 36, 0x00)
	VPSLLW  $2, Y6, Y4
	VPAND   Y7, Y4, Y4
	VPSLLW  $1, Y6, Y5
	VPAND   Y7, Y5, Y5
	Q5KPAIR(80, 68, 100, 0x55)
	VPAND   Y7, Y6, Y4
	VPSRLW  $1, Y6, Y5
	VPAND   Y7, Y5, Y5
	Q5KPAIR(112, 132, 164, 0xaa)
	VPSRLW  $2, Y6, Y4
	VPAND   Y7, Y4, Y4
	VPSRLW  $3, Y6, Y5
	VPAND   Y7, Y5, Y5
	Q5KPAIR(144, 196, 228, 0xff)

	// aux in lane order (Y7 keeps the 0x10 mask).
	VEXTRACTI128 $1, Y2, X4
	VPADDD       X4, X2, X6
	VEXTRACTI128 $1, Y3, X5
	VPADDD       X5, X3, X8
	VINSERTI128  $1, X8, Y6, Y6
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

	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q5kblock

q5kdone:
	VEXTRACTF128 $1, Y1, X2
	ADDLANES(X1)
	ADDLANES(X2)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Q6_K: quants u = a+32 in [0,63] (low 4 bits in ql, high 2 in qh), eight
// 32-value vectors per super-block, each holding two 16-value scale groups
// (one per 128-bit half). VPMADDUBSW(u, q8) - VPMADDUBSW(32, q8) is the
// class-paired sum of a*q8 (|.| <= 8192); two vectors (four groups) are
// interleaved and scaled by VPMADDWD as in Q4_K, the scale words being
// pre-arranged so that VPSHUFD picks each group pair.

DATA q6scshuf<>+0(SB)/8, $0x0e0c0a0806040200
DATA q6scshuf<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL q6scshuf<>(SB), RODATA|NOPTR, $16

// Q6PAIR(ua, ub, qa, qb, imm): class sums of vectors ua, ub (unsigned
// quants, class-shuffled) against the Q8_K quants at qa(DI), qb(DI), scaled
// by the group pair imm of Y11, into Y2/Y3. Clobbers ua, ub, Y9, Y10.
#define Q6PAIR(ua, ub, qa, qb, imm) \
	VMOVDQU    qa(DI), Y9      \
	VPSHUFB    Y14, Y9, Y9     \
	VPMADDUBSW Y9, ua, ua      \
	VPMADDUBSW Y9, Y12, Y9     \
	VPSUBW     Y9, ua, ua      \
	VMOVDQU    qb(DI), Y9      \
	VPSHUFB    Y14, Y9, Y9     \
	VPMADDUBSW Y9, ub, ub      \
	VPMADDUBSW Y9, Y12, Y9     \
	VPSUBW     Y9, ub, ub      \
	VPUNPCKLWD ub, ua, Y9      \
	VPUNPCKHWD ub, ua, Y10     \
	VPSHUFD    $imm, Y11, ua   \
	VPMADDWD   ua, Y9, Y9      \
	VPMADDWD   ua, Y10, Y10    \
	VPADDD     Y9, Y2, Y2      \
	VPADDD     Y10, Y3, Y3

// Q6HALF: one 128-value half: ql at qlo(SI), qlo+32(SI), qh at qho(SI);
// Q8_K vectors at q0..q3(DI); group-pair selectors imm0, imm1.
#define Q6HALF(qlo, qho, q0, q1, q2, q3, imm0, imm1) \
	VMOVDQU qlo(SI), Y4               \
	VPSHUFB Y14, Y4, Y4               \
	VMOVDQU qlo+32(SI), Y5            \
	VPSHUFB Y14, Y5, Y5               \
	VMOVDQU qho(SI), Y6               \
	VPSHUFB Y14, Y6, Y6               \
	VPAND   Y15, Y4, Y7               \
	VPSLLW  $4, Y6, Y8                \
	VPAND   Y13, Y8, Y8               \
	VPOR    Y8, Y7, Y7                \
	VPAND   Y15, Y5, Y8               \
	VPSLLW  $2, Y6, Y9                \
	VPAND   Y13, Y9, Y9               \
	VPOR    Y9, Y8, Y8                \
	Q6PAIR(Y7, Y8, q0, q1, imm0)      \
	VPSRLW  $4, Y4, Y7                \
	VPAND   Y15, Y7, Y7               \
	VPAND   Y13, Y6, Y9               \
	VPOR    Y9, Y7, Y7                \
	VPSRLW  $4, Y5, Y8                \
	VPAND   Y15, Y8, Y8               \
	VPSRLW  $2, Y6, Y9                \
	VPAND   Y13, Y9, Y9               \
	VPOR    Y9, Y8, Y8                \
	Q6PAIR(Y7, Y8, q2, q3, imm1)

// func dotQ6_KQ8_KAVX2(w, y *byte, nb int) float32
TEXT ·dotQ6_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x30303030, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         $0x20202020, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      qkshuf<>(SB), Y14
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1

q6kblock:
	TESTQ CX, CX
	JEQ   q6kdone

	// Scale words: even groups in the low half, odd groups in the high.
	VMOVDQU   192(SI), X11
	VPSHUFB   q6scshuf<>(SB), X11, X11
	VPMOVSXBW X11, Y11

	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	Q6HALF(0, 128, 4, 36, 68, 100, 0x00, 0x55)
	Q6HALF(64, 160, 132, 164, 196, 228, 0xaa, 0xff)

	VEXTRACTI128 $1, Y2, X4
	VPADDD       X4, X2, X6
	VEXTRACTI128 $1, Y3, X5
	VPADDD       X5, X3, X7
	VINSERTI128  $1, X7, Y6, Y6
	VCVTDQ2PS    Y6, Y6

	MOVWLZX      208(SI), AX
	VMOVD        AX, X4
	VCVTPH2PS    X4, X4
	VMULSS       (DI), X4, X4
	VBROADCASTSS X4, Y4
	VMULPS       Y4, Y6, Y6
	VADDPS       Y6, Y1, Y1

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q6kblock

q6kdone:
	VEXTRACTF128 $1, Y1, X2
	ADDLANES(X1)
	ADDLANES(X2)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

DATA q8kpermd<>+0(SB)/4, $0
DATA q8kpermd<>+4(SB)/4, $4
DATA q8kpermd<>+8(SB)/4, $1
DATA q8kpermd<>+12(SB)/4, $5
DATA q8kpermd<>+16(SB)/4, $2
DATA q8kpermd<>+20(SB)/4, $6
DATA q8kpermd<>+24(SB)/4, $3
DATA q8kpermd<>+28(SB)/4, $7
GLOBL q8kpermd<>(SB), RODATA|NOPTR, $32

// func quantizeQ8_KAVX2(x *float32, dst *byte, nb int)
// As quantize_row_q8_K_ref (and quantizeQ8_KGo): mx is the first value of
// largest magnitude, iscale = -127/mx, q = min(127, rint(iscale*x))
// (VCVTPS2DQ rounds to nearest even like ggml's nearest_int; the packing
// saturates at 127), d = 1/iscale, and the 16 sums of 16 quants.
TEXT ·quantizeQ8_KAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         dst+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15                // |.| mask
	MOVL         $0x01010101, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14                // bytes 1
	MOVL         $0x00010001, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13                // words 1
	VMOVDQU      q8kpermd<>(SB), Y12

q8kblock:
	TESTQ CX, CX
	JEQ   q8kdone

	// amax over the 256 values.
	VANDPS (SI), Y15, Y0
	VANDPS 32(SI), Y15, Y1
	VANDPS 64(SI), Y15, Y2
	VANDPS 96(SI), Y15, Y3
	MOVQ   $128, AX

q8kmax:
	VANDPS (SI)(AX*1), Y15, Y4
	VANDPS 32(SI)(AX*1), Y15, Y5
	VANDPS 64(SI)(AX*1), Y15, Y6
	VANDPS 96(SI)(AX*1), Y15, Y7
	VMAXPS Y4, Y0, Y0
	VMAXPS Y5, Y1, Y1
	VMAXPS Y6, Y2, Y2
	VMAXPS Y7, Y3, Y3
	ADDQ   $128, AX
	CMPQ   AX, $1024
	JLT    q8kmax
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS   X1, X0, X0
	VMOVHLPS X0, X1, X1
	VMAXPS   X1, X0, X0
	VMOVSHDUP X0, X1
	VMAXSS   X1, X0, X0                  // amax
	VXORPS   X1, X1, X1
	VUCOMISS X1, X0
	JEQ      q8kzero

	// mx: the first value with |x| == amax.
	VBROADCASTSS X0, Y0
	XORQ         AX, AX

q8kfind:
	VANDPS    (SI)(AX*4), Y15, Y1
	VCMPPS    $0, Y0, Y1, Y1
	VMOVMSKPS Y1, DX
	TESTL     DX, DX
	JNE       q8kfound
	ADDQ      $8, AX
	JMP       q8kfind

q8kfound:
	BSFL   DX, DX
	ADDQ   DX, AX
	VMOVSS (SI)(AX*4), X1                // mx
	MOVL   $0xc2fe0000, AX               // -127.0
	VMOVD  AX, X2
	VDIVSS X1, X2, X2                    // iscale = -127/mx
	MOVL   $0x3f800000, AX               // 1.0
	VMOVD  AX, X3
	VDIVSS X2, X3, X3
	VMOVSS X3, (DI)                      // d = 1/iscale
	VBROADCASTSS X2, Y2

	// Quantize 32 values per iteration; AX walks x in bytes, DX the quants.
	XORQ AX, AX
	XORQ DX, DX

q8kquant:
	VMULPS     (SI)(AX*1), Y2, Y4
	VMULPS     32(SI)(AX*1), Y2, Y5
	VMULPS     64(SI)(AX*1), Y2, Y6
	VMULPS     96(SI)(AX*1), Y2, Y7
	VCVTPS2DQ  Y4, Y4
	VCVTPS2DQ  Y5, Y5
	VCVTPS2DQ  Y6, Y6
	VCVTPS2DQ  Y7, Y7
	VPACKSSDW  Y5, Y4, Y4
	VPACKSSDW  Y7, Y6, Y6
	VPACKSSWB  Y6, Y4, Y4
	VPERMD     Y4, Y12, Y4
	VMOVDQU    Y4, 4(DI)(DX*1)
	ADDQ       $128, AX
	ADDQ       $32, DX
	CMPQ       DX, $256
	JLT        q8kquant

	// bsums: per 32 quants, VPMADDUBSW(1, q) and VPMADDWD(1) give eight
	// sums of 4; two VPHADDD levels leave the sums of 16 as
	// [g0 g2 g4 g6 | g1 g3 g5 g7] (and g8.. for the second half).
	VMOVDQU    4(DI), Y4
	VMOVDQU    36(DI), Y5
	VMOVDQU    68(DI), Y6
	VMOVDQU    100(DI), Y7
	VPMADDUBSW Y4, Y14, Y4
	VPMADDUBSW Y5, Y14, Y5
	VPMADDUBSW Y6, Y14, Y6
	VPMADDUBSW Y7, Y14, Y7
	VPMADDWD   Y13, Y4, Y4
	VPMADDWD   Y13, Y5, Y5
	VPMADDWD   Y13, Y6, Y6
	VPMADDWD   Y13, Y7, Y7
	VPHADDD    Y5, Y4, Y4
	VPHADDD    Y7, Y6, Y6
	VPHADDD    Y6, Y4, Y8
	VMOVDQU    132(DI), Y4
	VMOVDQU    164(DI), Y5
	VMOVDQU    196(DI), Y6
	VMOVDQU    228(DI), Y7
	VPMADDUBSW Y4, Y14, Y4
	VPMADDUBSW Y5, Y14, Y5
	VPMADDUBSW Y6, Y14, Y6
	VPMADDUBSW Y7, Y14, Y7
	VPMADDWD   Y13, Y4, Y4
	VPMADDWD   Y13, Y5, Y5
	VPMADDWD   Y13, Y6, Y6
	VPMADDWD   Y13, Y7, Y7
	VPHADDD    Y5, Y4, Y4
	VPHADDD    Y7, Y6, Y6
	VPHADDD    Y6, Y4, Y9
	VPACKSSDW  Y9, Y8, Y8                // [g0 g2 .. g14 | g1 g3 .. g15]
	VEXTRACTI128 $1, Y8, X9
	VPUNPCKLWD X9, X8, X10
	VPUNPCKHWD X9, X8, X11
	VMOVDQU    X10, 260(DI)
	VMOVDQU    X11, 276(DI)
	JMP        q8knext

q8kzero:
	VPXOR   Y4, Y4, Y4
	VMOVDQU Y4, (DI)
	VMOVDQU Y4, 32(DI)
	VMOVDQU Y4, 64(DI)
	VMOVDQU Y4, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y4, 160(DI)
	VMOVDQU Y4, 192(DI)
	VMOVDQU Y4, 224(DI)
	VMOVDQU Y4, 256(DI)
	MOVL    $0, 288(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q8kblock

q8kdone:
	VZEROUPPER
	RET

// Q3_K: u = q | hbit<<2 in [0,7] is a+4 (a = q - 4 when the hmask bit is
// clear, q when set), handled like Q6_K with an offset of 4 and the
// sixteen 6-bit scales (minus 32) unpacked with ggml's kmask shuffle.

// Q3HB(k, dst): dst = 0x04 where bit k of the (shuffled) hmask Y6 is set.
#define Q3HB0(dst) \
	VPSLLW $2, Y6, dst \
	VPAND  Y13, dst, dst
#define Q3HB1(dst) \
	VPSLLW $1, Y6, dst \
	VPAND  Y13, dst, dst
#define Q3HB2(dst) \
	VPAND Y13, Y6, dst
#define Q3HBR(k, dst) \
	VPSRLW $k, Y6, dst \
	VPAND  Y13, dst, dst

// Q3HALF: one 128-value half, quants at qsoff(SI); HBa..HBd produce the
// hmask bits of its four vectors into a register.
#define Q3HALF(qsoff, q0, q1, q2, q3, imm0, imm1, HBa, HBb, HBc, HBd) \
	VMOVDQU qsoff(SI), Y4       \
	VPSHUFB Y14, Y4, Y4         \
	VPAND   Y15, Y4, Y7         \
	HBa                         \
	VPOR    Y8, Y7, Y7          \
	VPSRLW  $2, Y4, Y8          \
	VPAND   Y15, Y8, Y8         \
	HBb                         \
	VPOR    Y9, Y8, Y8          \
	Q6PAIR(Y7, Y8, q0, q1, imm0) \
	VPSRLW  $4, Y4, Y7          \
	VPAND   Y15, Y7, Y7         \
	HBc                         \
	VPOR    Y9, Y7, Y7          \
	VPSRLW  $6, Y4, Y8          \
	VPAND   Y15, Y8, Y8         \
	HBd                         \
	VPOR    Y9, Y8, Y8          \
	Q6PAIR(Y7, Y8, q2, q3, imm1)

// func dotQ3_KQ8_KAVX2(w, y *byte, nb int) float32
TEXT ·dotQ3_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x03030303, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x04040404, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VMOVDQA      Y13, Y12
	VMOVDQU      qkshuf<>(SB), Y14
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1

q3kblock:
	TESTQ CX, CX
	JEQ   q3kdone

	// Scales: ggml's kmask shuffle into 16 bytes, arranged as for Q6_K,
	// widened, minus 32.
	MOVL  96(SI), AX                 // a0
	MOVL  100(SI), BX                // a1
	MOVL  104(SI), DX                // tmp
	MOVL  AX, R8
	ANDL  $0x0f0f0f0f, R8
	MOVL  DX, R9
	ANDL  $0x03030303, R9
	SHLL  $4, R9
	ORL   R9, R8                     // aux0
	MOVL  BX, R9
	ANDL  $0x0f0f0f0f, R9
	MOVL  DX, R10
	SHRL  $2, R10
	ANDL  $0x03030303, R10
	SHLL  $4, R10
	ORL   R10, R9                    // aux1
	SHLQ  $32, R9
	ORQ   R9, R8
	SHRL  $4, AX
	ANDL  $0x0f0f0f0f, AX
	MOVL  DX, R10
	SHRL  $4, R10
	ANDL  $0x03030303, R10
	SHLL  $4, R10
	ORL   R10, AX                    // aux2
	SHRL  $4, BX
	ANDL  $0x0f0f0f0f, BX
	SHRL  $6, DX
	ANDL  $0x03030303, DX
	SHLL  $4, DX
	ORL   DX, BX                     // aux3
	SHLQ  $32, BX
	ORQ   BX, AX
	VMOVQ     R8, X11
	VPINSRQ   $1, AX, X11, X11
	VPSHUFB   q6scshuf<>(SB), X11, X11
	VPMOVZXBW X11, Y11
	MOVL         $0x00200020, AX
	VMOVD        AX, X4
	VPBROADCASTD X4, Y4
	VPSUBW       Y4, Y11, Y11

	VMOVDQU (SI), Y6
	VPSHUFB Y14, Y6, Y6              // hmask, class-shuffled

	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	Q3HALF(32, 4, 36, 68, 100, 0x00, 0x55, Q3HB0(Y8), Q3HB1(Y9), Q3HB2(Y9), Q3HBR(1, Y9))
	Q3HALF(64, 132, 164, 196, 228, 0xaa, 0xff, Q3HBR(2, Y8), Q3HBR(3, Y9), Q3HBR(4, Y9), Q3HBR(5, Y9))

	VEXTRACTI128 $1, Y2, X4
	VPADDD       X4, X2, X6
	VEXTRACTI128 $1, Y3, X5
	VPADDD       X5, X3, X7
	VINSERTI128  $1, X7, Y6, Y6
	VCVTDQ2PS    Y6, Y6

	MOVWLZX      108(SI), AX
	VMOVD        AX, X4
	VCVTPH2PS    X4, X4
	VMULSS       (DI), X4, X4
	VBROADCASTSS X4, Y4
	VMULPS       Y4, Y6, Y6
	VADDPS       Y6, Y1, Y1

	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q3kblock

q3kdone:
	VEXTRACTF128 $1, Y1, X2
	ADDLANES(X1)
	ADDLANES(X2)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Q2_K keeps ggml's AVX2 float structure, as the Go kernel does: eight
// lanes acc[l] = fma(-dmin*yd, bsum[2l]*m[2l] + bsum[2l+1]*m[2l+1], acc[l])
// then acc[l] = fma(d*yd, sumi[l], acc[l]) where lane l of sumi sums
// groups of four consecutive bytes (VPMADDUBSW + VPMADDWD lanes), the low
// and high 16 bytes of each 32-value vector having their own scale.

// q2scsel: for vector v, VPSHUFB controls that widen scale byte 2v into the
// words of the low half and byte 2v+1 into the high half.
DATA q2scsel<>+0(SB)/8, $0x8000800080008000
DATA q2scsel<>+8(SB)/8, $0x8000800080008000
DATA q2scsel<>+16(SB)/8, $0x8001800180018001
DATA q2scsel<>+24(SB)/8, $0x8001800180018001
DATA q2scsel<>+32(SB)/8, $0x8002800280028002
DATA q2scsel<>+40(SB)/8, $0x8002800280028002
DATA q2scsel<>+48(SB)/8, $0x8003800380038003
DATA q2scsel<>+56(SB)/8, $0x8003800380038003
DATA q2scsel<>+64(SB)/8, $0x8004800480048004
DATA q2scsel<>+72(SB)/8, $0x8004800480048004
DATA q2scsel<>+80(SB)/8, $0x8005800580058005
DATA q2scsel<>+88(SB)/8, $0x8005800580058005
DATA q2scsel<>+96(SB)/8, $0x8006800680068006
DATA q2scsel<>+104(SB)/8, $0x8006800680068006
DATA q2scsel<>+112(SB)/8, $0x8007800780078007
DATA q2scsel<>+120(SB)/8, $0x8007800780078007
DATA q2scsel<>+128(SB)/8, $0x8008800880088008
DATA q2scsel<>+136(SB)/8, $0x8008800880088008
DATA q2scsel<>+144(SB)/8, $0x8009800980098009
DATA q2scsel<>+152(SB)/8, $0x8009800980098009
DATA q2scsel<>+160(SB)/8, $0x800a800a800a800a
DATA q2scsel<>+168(SB)/8, $0x800a800a800a800a
DATA q2scsel<>+176(SB)/8, $0x800b800b800b800b
DATA q2scsel<>+184(SB)/8, $0x800b800b800b800b
DATA q2scsel<>+192(SB)/8, $0x800c800c800c800c
DATA q2scsel<>+200(SB)/8, $0x800c800c800c800c
DATA q2scsel<>+208(SB)/8, $0x800d800d800d800d
DATA q2scsel<>+216(SB)/8, $0x800d800d800d800d
DATA q2scsel<>+224(SB)/8, $0x800e800e800e800e
DATA q2scsel<>+232(SB)/8, $0x800e800e800e800e
DATA q2scsel<>+240(SB)/8, $0x800f800f800f800f
DATA q2scsel<>+248(SB)/8, $0x800f800f800f800f
GLOBL q2scsel<>(SB), RODATA|NOPTR, $256

// Q2VEC(qreg, shift, qoff, sel): sumi += scale * the sums of four of
// ((qreg >> shift) & 3) * q8 at qoff(DI). Y15 = 0x03, Y11 = scales (low
// nibbles, both halves). Clobbers Y7-Y9.
#define Q2VEC(qreg, shift, qoff, sel) \
	VPSRLW     $shift, qreg, Y7     \
	VPAND      Y15, Y7, Y7          \
	VPMADDUBSW qoff(DI), Y7, Y7     \
	VPSHUFB    q2scsel<>+sel(SB), Y11, Y8 \
	VPMADDWD   Y8, Y7, Y7           \
	VPADDD     Y7, Y2, Y2

// func dotQ2_KQ8_KAVX2(w, y *byte, nb int) float32
TEXT ·dotQ2_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x03030303, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VXORPS       Y0, Y0, Y0          // acc

q2kblock:
	TESTQ CX, CX
	JEQ   q2kdone

	// d*yd and -(dmin*yd), broadcast.
	VMOVSS       (DI), X4
	MOVWLZX      80(SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X5
	VMULSS       X5, X4, X5
	VBROADCASTSS X5, Y5              // d
	MOVWLZX      82(SI), AX
	VMOVD        AX, X6
	VCVTPH2PS    X6, X6
	VMULSS       X6, X4, X6
	MOVL         $0x80000000, AX
	VMOVD        AX, X4
	VXORPS       X4, X6, X6
	VBROADCASTSS X6, Y6              // -dmin

	// Mins: bsums · (sc >> 4) in pairs, lane l = groups 2l, 2l+1.
	VMOVDQU      (SI), X4
	VPSRLW       $4, X4, X10
	VPAND        X14, X10, X10
	VPMOVZXBW    X10, Y10
	VPMADDWD     260(DI), Y10, Y10
	VCVTDQ2PS    Y10, Y10
	VFMADD231PS  Y6, Y10, Y0

	// Scales (low nibbles) in both halves.
	VPAND        X14, X4, X4
	VINSERTI128  $1, X4, Y4, Y11

	VPXOR   Y2, Y2, Y2
	VMOVDQU 16(SI), Y12
	Q2VEC(Y12, 0, 4, 0)
	Q2VEC(Y12, 2, 36, 32)
	Q2VEC(Y12, 4, 68, 64)
	Q2VEC(Y12, 6, 100, 96)
	VMOVDQU 48(SI), Y12
	Q2VEC(Y12, 0, 132, 128)
	Q2VEC(Y12, 2, 164, 160)
	Q2VEC(Y12, 4, 196, 192)
	Q2VEC(Y12, 6, 228, 224)
	VCVTDQ2PS   Y2, Y2
	VFMADD231PS Y5, Y2, Y0

	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q2kblock

q2kdone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X1, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
