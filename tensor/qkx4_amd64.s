// Batched Q4_K·Q8_K dot for prompt processing: one weight row against four
// Q8_K activation rows per call, each result bit-identical to
// dotQ4_KQ8_KAVX2 (qk_amd64.s) on that activation: the same class-shuffled
// integer sums and the same float sequence per activation. What the four
// share is the weight work, done once per super-block instead of four
// times: the 6-bit scale/min unpack, the nibble split, the scale-pair
// selection and the call overhead (a 768-wide row is only three
// super-blocks).
//
// Registers: SI weights; DI, R11, R12, R13 the four activations' blocks;
// Y5 the class shuffle; integer class sums (0-3, 4-7) in Y0/Y1, Y2/Y3,
// Y6/Y7, Y14/Y15 per activation. The float state of activation t lives in
// the frame: sums[8] at 32t(SP), sumf at 128+4t(SP); d*yd of the current
// super-block at 144+4t(SP).

#include "textflag.h"

DATA q4kx4shuf<>+0(SB)/8, $0x0b030a0209010800
DATA q4kx4shuf<>+8(SB)/8, $0x0f070e060d050c04
DATA q4kx4shuf<>+16(SB)/8, $0x0b030a0209010800
DATA q4kx4shuf<>+24(SB)/8, $0x0f070e060d050c04
GLOBL q4kx4shuf<>(SB), RODATA|NOPTR, $32

DATA q4kx4nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kx4nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kx4nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kx4nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4kx4nib<>(SB), RODATA|NOPTR, $32

// KTOK(yreg, qoff0, qoff1, a, b): class sums of the split nibbles Y8/Y9
// against activation yreg's quants at qoff0/qoff1, scaled by the pair Y12,
// into a (classes 0-3) and b (4-7). Clobbers Y4, Y10, Y11.
#define KTOK(yreg, qoff0, qoff1, a, b) \
	VMOVDQU    qoff0(yreg), Y10 \
	VPSHUFB    Y5, Y10, Y10     \
	VMOVDQU    qoff1(yreg), Y11 \
	VPSHUFB    Y5, Y11, Y11     \
	VPMADDUBSW Y10, Y8, Y10     \
	VPMADDUBSW Y11, Y9, Y11     \
	VPUNPCKLWD Y11, Y10, Y4     \
	VPUNPCKHWD Y11, Y10, Y11    \
	VPMADDWD   Y12, Y4, Y4      \
	VPMADDWD   Y12, Y11, Y11    \
	VPADDD     Y4, a, a         \
	VPADDD     Y11, b, b

// KPAIR4: groups g (low nibbles) and g+1 (high) of the 32 bytes at
// qsoff(SI), scale pair imm of Y13, for the four activations.
#define KPAIR4(qsoff, qoff0, qoff1, imm) \
	VMOVDQU qsoff(SI), Y8                \
	VPSHUFB Y5, Y8, Y8                   \
	VPSRLW  $4, Y8, Y9                   \
	VPAND   q4kx4nib<>(SB), Y8, Y8       \
	VPAND   q4kx4nib<>(SB), Y9, Y9       \
	VPSHUFD $imm, Y13, Y12               \
	KTOK(DI, qoff0, qoff1, Y0, Y1)       \
	KTOK(R11, qoff0, qoff1, Y2, Y3)      \
	KTOK(R12, qoff0, qoff1, Y6, Y7)      \
	KTOK(R13, qoff0, qoff1, Y14, Y15)

// KMINS4: for the four activations t at once (lane t): sumf_t -=
// (dmin*yd_t) * sum_j bsums_t[j]*mins[j/2], with the widened mins in Y8;
// and dyd_t = d*yd_t at 144+4t(SP) for KSUMS. The lane-wise float
// operations are the one-row kernel's scalar ones. Clobbers Y4, Y9-Y12,
// AX.
#define KMINS4 \
	VPMADDWD     260(DI), Y8, Y4            \
	VPMADDWD     260(R11), Y8, Y10          \
	VPMADDWD     260(R12), Y8, Y11          \
	VPMADDWD     260(R13), Y8, Y12          \
	VPHADDD      Y10, Y4, Y4                \
	VPHADDD      Y12, Y11, Y11              \
	VPHADDD      Y11, Y4, Y4                \
	VEXTRACTI128 $1, Y4, X10                \
	VPADDD       X10, X4, X4                \
	VCVTDQ2PS    X4, X4                     \
	VMOVSS       (DI), X10                  \
	VINSERTPS    $0x10, (R11), X10, X10     \
	VINSERTPS    $0x20, (R12), X10, X10     \
	VINSERTPS    $0x30, (R13), X10, X10     \
	MOVWLZX      2(SI), AX                  \
	VMOVD        AX, X11                    \
	VCVTPH2PS    X11, X11                   \
	VBROADCASTSS X11, X11                   \
	VMULPS       X10, X11, X11              \
	VMULPS       X4, X11, X11               \
	VMOVUPS      128(SP), X12               \
	VSUBPS       X11, X12, X12              \
	VMOVUPS      X12, 128(SP)               \
	MOVWLZX      (SI), AX                   \
	VMOVD        AX, X11                    \
	VCVTPH2PS    X11, X11                   \
	VBROADCASTSS X11, X11                   \
	VMULPS       X10, X11, X11              \
	VMOVUPS      X11, 144(SP)

// KSUMS(ya, xa, yb, xb, t): sums_t += dyd_t * aux, aux = the class sums
// ya, yb (xa, xb: their low halves) folded to lane order. Clobbers Y4,
// Y10, Y11.
#define KSUMS(ya, xa, yb, xb, t) \
	VEXTRACTI128 $1, ya, X4         \
	VPADDD       X4, xa, X10        \
	VEXTRACTI128 $1, yb, X4         \
	VPADDD       X4, xb, X11        \
	VINSERTI128  $1, X11, Y10, Y10  \
	VCVTDQ2PS    Y10, Y10           \
	VBROADCASTSS 144+4*t(SP), Y4    \
	VMULPS       Y4, Y10, Y10       \
	VMOVUPS      32*t(SP), Y11      \
	VADDPS       Y10, Y11, Y11      \
	VMOVUPS      Y11, 32*t(SP)

// KADDLANES(x): X4 += x[0]; += x[1]; += x[2]; += x[3]. Clobbers X11.
#define KADDLANES(x) \
	VADDSS    x, X4, X4    \
	VMOVSHDUP x, X11       \
	VADDSS    X11, X4, X4  \
	VMOVHLPS  x, X11, X11  \
	VADDSS    X11, X4, X4  \
	VPSHUFD   $3, x, X11   \
	VADDSS    X11, X4, X4

// KOUT(t, dst): dst = sumf_t + sums_t[0] + ... + sums_t[7], in order.
#define KOUT(t, dst) \
	VMOVSS       128+4*t(SP), X4 \
	VMOVUPS      32*t(SP), Y10   \
	VEXTRACTF128 $1, Y10, X12    \
	KADDLANES(X10)               \
	KADDLANES(X12)               \
	VMOVSS       X4, dst

// func dotQ4_KQ8_Kx4AVX2(w, y *byte, ystride int, nb int, out *float32, ostride int)
// Activation t at y+t*ystride (bytes); out[t*ostride] (float32 elements).
TEXT ·dotQ4_KQ8_Kx4AVX2(SB), NOSPLIT, $160-48
	MOVQ    w+0(FP), SI
	MOVQ    y+8(FP), DI
	MOVQ    ystride+16(FP), AX
	LEAQ    (DI)(AX*1), R11
	LEAQ    (R11)(AX*1), R12
	LEAQ    (R12)(AX*1), R13
	MOVQ    nb+24(FP), CX
	VMOVDQU q4kx4shuf<>(SB), Y5
	VXORPS  Y4, Y4, Y4
	VMOVUPS Y4, 0(SP)
	VMOVUPS Y4, 32(SP)
	VMOVUPS Y4, 64(SP)
	VMOVUPS Y4, 96(SP)
	VMOVUPS X4, 128(SP)

q4kx4block:
	TESTQ CX, CX
	JEQ   q4kx4done

	// Unpack the 6-bit scales and mins (as dotQ4_KQ8_KAVX2).
	MOVL  4(SI), AX
	MOVL  8(SI), BX
	MOVL  12(SI), DX
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

	VMOVQ      BX, X8
	VPUNPCKLBW X8, X8, X8
	VPMOVZXBW  X8, Y8               // mins, each for two bsums
	KMINS4

	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y14, Y14, Y14
	VPXOR Y15, Y15, Y15
	KPAIR4(16, 4, 36, 0x00)
	KPAIR4(48, 68, 100, 0x55)
	KPAIR4(80, 132, 164, 0xaa)
	KPAIR4(112, 196, 228, 0xff)

	KSUMS(Y0, X0, Y1, X1, 0)
	KSUMS(Y2, X2, Y3, X3, 1)
	KSUMS(Y6, X6, Y7, X7, 2)
	KSUMS(Y14, X14, Y15, X15, 3)

	ADDQ $144, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R12
	ADDQ $292, R13
	DECQ CX
	JMP  q4kx4block

q4kx4done:
	MOVQ out+32(FP), DI
	MOVQ ostride+40(FP), BX
	SHLQ $2, BX
	KOUT(0, (DI))
	ADDQ BX, DI
	KOUT(1, (DI))
	ADDQ BX, DI
	KOUT(2, (DI))
	ADDQ BX, DI
	KOUT(3, (DI))
	VZEROUPPER
	RET

// Four-row Q4_K·Q8_K dot for generation (one activation, rows at w,
// w+stride, w+2*stride, w+3*stride): each row runs dotQ4_KQ8_KAVX2's code
// unchanged (so each result is bit-identical to it), in one call instead
// of four, and prefetches the same super-block of the row 8 ahead, which
// hardware prefetching alone did not keep streaming from DRAM (as for the
// Q4_0/Q8_0 four-row dots in q8_amd64.s).

// R4KPAIR is Q4KPAIR of qk_amd64.s (macros are per file).
#define R4KPAIR(qsoff, qoff0, qoff1, imm) \
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

// R4ADDLANES is ADDLANES of qk_amd64.s.
#define R4ADDLANES(x) \
	VADDSS    x, X0, X0    \
	VMOVSHDUP x, X3        \
	VADDSS    X3, X0, X0   \
	VMOVHLPS  x, X3, X3    \
	VADDSS    X3, X0, X0   \
	VPSHUFD   $3, x, X3    \
	VADDSS    X3, X0, X0

// func dotQ4_KQ8_Kr4AVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)
TEXT ·dotQ4_KQ8_Kr4AVX2(SB), NOSPLIT, $16-40
	MOVQ         w+0(FP), R12
	MOVQ         stride+8(FP), R13
	MOVQ         y+16(FP), R14
	MOVQ         nb+24(FP), R15
	MOVQ         out+32(FP), AX
	MOVQ         AX, 0(SP)             // next output
	MOVQ         $4, 8(SP)             // rows left
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU      q4kx4shuf<>(SB), Y14

q4kr4row:
	MOVQ   R12, SI
	MOVQ   R14, DI
	MOVQ   R15, CX
	VXORPS Y0, Y0, Y0                  // sumf
	VXORPS Y1, Y1, Y1                  // sums[8]

q4kr4block:
	TESTQ CX, CX
	JEQ   q4kr4rowdone

	// The same positions of the rows 8 ahead, where MatMul goes two calls
	// later (144 bytes: three cache lines).
	PREFETCHT0 (SI)(R13*8)
	PREFETCHT0 64(SI)(R13*8)
	PREFETCHT0 128(SI)(R13*8)

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
	R4KPAIR(16, 4, 36, 0x00)
	R4KPAIR(48, 68, 100, 0x55)
	R4KPAIR(80, 132, 164, 0xaa)
	R4KPAIR(112, 196, 228, 0xff)

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
	JMP  q4kr4block

q4kr4rowdone:
	VEXTRACTF128 $1, Y1, X2
	R4ADDLANES(X1)
	R4ADDLANES(X2)
	MOVQ         0(SP), AX
	VMOVSS       X0, (AX)
	ADDQ         $4, 0(SP)
	ADDQ         R13, R12
	DECQ         8(SP)
	JNE          q4kr4row
	VZEROUPPER
	RET
