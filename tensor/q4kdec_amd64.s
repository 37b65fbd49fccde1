// Batch-1 (decode) Q4_K·Q8_K dot of four weight rows against one
// activation, each result bit-identical to dotQ4_KQ8_KAVX2 (qk_amd64.s),
// so to the Go kernel: the same per-class integer sums aux[l] and the same
// float sequence per row. It is cheaper per super-block because the
// activation was laid out once per launch by prepQ4KDecode (decode_amd64.go):
// its quants already class-shuffled (no VPSHUFB on them) and its bsums
// summed in pairs (half the min work); the quants are the VPMADDUBSW
// memory operand, the scale pairs are broadcast from the frame instead
// of shuffled out of a register, and d and dmin are converted together.
// The four rows are separate streams (decode calls it with a far stride),
// each prefetched 1152 bytes (eight super-blocks) ahead: one thread
// streams ~20% more from DRAM with it, two about the same
// (BenchmarkQ4KCold: t1 8.0-8.8 -> 9.3-11.2 GB/s).
//
// Registers: SI, R11, R13, R14 the four rows; DI the activation; Y0-Y3
// each row's float lane sums; X7 yd; frame: 0(SP) the row's scale words,
// 16+4r(SP) row r's sumf.

#include "textflag.h"

DATA q4kdshuf<>+0(SB)/8, $0x0b030a0209010800
DATA q4kdshuf<>+8(SB)/8, $0x0f070e060d050c04
DATA q4kdshuf<>+16(SB)/8, $0x0b030a0209010800
DATA q4kdshuf<>+24(SB)/8, $0x0f070e060d050c04
GLOBL q4kdshuf<>(SB), RODATA|NOPTR, $32

DATA q4kdnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kdnib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kdnib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kdnib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4kdnib<>(SB), RODATA|NOPTR, $32

// DPAIR: groups g (low nibbles) and g+1 (high) of the 32 weight bytes at
// qsoff(base), against the class-shuffled quants at qoff0(DI) and
// qoff1(DI), scaled by the (s_g, s_g+1) words at soff(SP); classes 0-3
// into Y4, 4-7 into Y5. Clobbers Y8-Y12.
#define DPAIR(base, qsoff, qoff0, qoff1, soff, sc) \
	VMOVDQU      qsoff(base), Y8          \
	VPSHUFB      Y14, Y8, Y8   \
	VPSRLW       $4, Y8, Y9               \
	VPAND        Y15, Y8, Y8    \
	VPAND        Y15, Y9, Y9    \
	VPMADDUBSW   qoff0(DI), Y8, Y8        \
	VPMADDUBSW   qoff1(DI), Y9, Y9        \
	VPUNPCKLWD   Y9, Y8, Y10              \
	VPUNPCKHWD   Y9, Y8, Y11              \
	VPBROADCASTD sc+soff(SP), Y12            \
	VPMADDWD     Y12, Y10, Y10            \
	VPMADDWD     Y12, Y11, Y11            \
	VPADDD       Y10, Y4, Y4              \
	VPADDD       Y11, Y5, Y5

// DROW: one super-block of the row at base into its float lane sums
// (sums) and its sumf at sf(SP).
#define DROW(base, sums, sf, sc) \
	PREFETCHT0   1152(base)                   \
	PREFETCHT0   1216(base)                   \
	PREFETCHT0   1280(base)                   \
	MOVL         4(base), AX                  \
	MOVL         8(base), BX                  \
	MOVL         12(base), DX                 \
	MOVL         DX, R8                       \
	SHRL         $4, R8                       \
	ANDL         $0x0f0f0f0f, R8              \
	MOVL         BX, R9                       \
	SHRL         $6, R9                       \
	ANDL         $0x03030303, R9              \
	SHLL         $4, R9                       \
	ORL          R9, R8                       \
	MOVL         DX, R9                       \
	ANDL         $0x0f0f0f0f, R9              \
	MOVL         AX, R10                      \
	SHRL         $6, R10                      \
	ANDL         $0x03030303, R10             \
	SHLL         $4, R10                      \
	ORL          R10, R9                      \
	ANDL         $0x3f3f3f3f, BX              \
	ANDL         $0x3f3f3f3f, AX              \
	SHLQ         $32, R9                      \
	ORQ          R9, AX                       \
	SHLQ         $32, R8                      \
	ORQ          R8, BX                       \
	VMOVQ        AX, X8                       \
	VPMOVZXBW    X8, X8                       \
	VMOVDQU      X8, sc(SP)                    \
	VMOVQ        BX, X9                       \
	VPMOVZXBW    X9, X9                       \
	VPMADDWD     260(DI), X9, X9              \
	VPSHUFD      $0x4e, X9, X10               \
	VPADDD       X10, X9, X9                  \
	VPSHUFD      $0xb1, X9, X10               \
	VPADDD       X10, X9, X9                  \
	VCVTDQ2PS    X9, X13                      \
	VPXOR        Y4, Y4, Y4                   \
	VPXOR        Y5, Y5, Y5                   \
	DPAIR(base, 16, 4, 36, 0, sc)                 \
	DPAIR(base, 48, 68, 100, 4, sc)               \
	DPAIR(base, 80, 132, 164, 8, sc)              \
	DPAIR(base, 112, 196, 228, 12, sc)            \
	VEXTRACTI128 $1, Y4, X10                  \
	VPADDD       X10, X4, X4                  \
	VEXTRACTI128 $1, Y5, X11                  \
	VPADDD       X11, X5, X5                  \
	VINSERTI128  $1, X5, Y4, Y4               \
	VCVTDQ2PS    Y4, Y4                       \
	VMOVD        (base), X10                  \
	VCVTPH2PS    X10, X10                     \
	VMULPS       X7, X10, X10                 \
	VBROADCASTSS X10, Y11                     \
	VMULPS       Y11, Y4, Y4                  \
	VADDPS       Y4, sums, sums               \
	VMOVSHDUP    X10, X11                     \
	VMULSS       X13, X11, X11                \
	VMOVSS       sf(SP), X12                  \
	VSUBSS       X11, X12, X12                \
	VMOVSS       X12, sf(SP)

// DADDLANES(x): X4 += x[0]; += x[1]; += x[2]; += x[3]. Clobbers X6.
#define DADDLANES(x) \
	VADDSS    x, X4, X4    \
	VMOVSHDUP x, X6        \
	VADDSS    X6, X4, X4   \
	VMOVHLPS  x, X6, X6    \
	VADDSS    X6, X4, X4   \
	VPSHUFD   $3, x, X6    \
	VADDSS    X6, X4, X4

// DOUT(sums, xsums, sf, off): out[off/4] = sumf + sums[0] + ... + sums[7].
#define DOUT(sums, xsums, sf, off) \
	VMOVSS       sf(SP), X4   \
	VEXTRACTF128 $1, sums, X5 \
	DADDLANES(xsums)          \
	DADDLANES(X5)             \
	VMOVSS       X4, off(R15)

// func dotQ4_KQ8_Kx4dAVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)
// Rows at w, w+stride, w+2*stride, w+3*stride; y prepared by prepQ4KDecode.
TEXT ·dotQ4_KQ8_Kx4dAVX2(SB), NOSPLIT, $96-40
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), R12
	MOVQ   y+16(FP), DI
	MOVQ   nb+24(FP), CX
	MOVQ   out+32(FP), R15
	LEAQ   (SI)(R12*1), R11
	LEAQ   (R11)(R12*1), R13
	LEAQ   (R13)(R12*1), R14
	VMOVDQU q4kdshuf<>(SB), Y14
	VMOVDQU q4kdnib<>(SB), Y15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   $0, 16(SP)
	MOVQ   $0, 24(SP)

q4kdblock:
	TESTQ        CX, CX
	JEQ          q4kddone
	VBROADCASTSS (DI), X7
	DROW(SI, Y0, 16, 32)
	DROW(R11, Y1, 20, 48)
	DROW(R13, Y2, 24, 64)
	DROW(R14, Y3, 28, 80)
	ADDQ         $144, SI
	ADDQ         $144, R11
	ADDQ         $144, R13
	ADDQ         $144, R14
	ADDQ         $292, DI
	DECQ         CX
	JMP          q4kdblock

q4kddone:
	DOUT(Y0, X0, 16, 0)
	DOUT(Y1, X1, 20, 4)
	DOUT(Y2, X2, 24, 8)
	DOUT(Y3, X3, 28, 12)
	VZEROUPPER
	RET
