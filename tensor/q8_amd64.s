// AVX2 kernels for the 32-value block formats: Q8_0·Q8_0 and Q4_0·Q8_0
// dots and the Q8_0 activation quantizer.
//
// The dots are exact for every input (no VPSIGNB trick, which overflows on
// -128): the integer block sums equal the Go kernels' and the float
// accumulation is the same sequential per-block chain, so the result is
// bit-identical. Four blocks' integer sums are computed side by side and
// reduced together with VPHADDD; their scales are widened with VCVTPH2PS.

#include "textflag.h"

// Sets Y15 = bytes 0x0f, Y14 = bytes 0x08, Y13 = words 1.
#define CONSTS \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X15         \
	VPBROADCASTD X15, Y15        \
	MOVL         $0x08080808, AX \
	VMOVD        AX, X14         \
	VPBROADCASTD X14, Y14        \
	MOVL         $0x00010001, AX \
	VMOVD        AX, X13         \
	VPBROADCASTD X13, Y13

// Q8BLK: int32x8 partial sums of the Q8_0 block at off(SI) times the Q8_0
// block at yoff(DI), into dst. Clobbers Y8-Y11.
#define Q8BLK(off, yoff, dst) \
	VPMOVSXBW off+2(SI), Y8    \
	VPMOVSXBW off+18(SI), Y9   \
	VPMOVSXBW yoff+2(DI), Y10  \
	VPMOVSXBW yoff+18(DI), Y11 \
	VPMADDWD  Y10, Y8, Y8      \
	VPMADDWD  Y11, Y9, Y9      \
	VPADDD    Y9, Y8, dst

// Q4BLK: int32x8 partial sums of sum((q-8)*y) for the Q4_0 block at
// off(SI) and the Q8_0 block at yoff(DI): sum(q*y) - sum(8*y), both exact
// in int16 pairs (|q*y| pair sums <= 3840). Clobbers Y8-Y12.
#define Q4BLK(off, yoff, dst) \
	VMOVDQU     off+2(SI), X8    \
	VPSRLW      $4, X8, X9       \
	VINSERTI128 $1, X9, Y8, Y8   \
	VPAND       Y15, Y8, Y8      \
	VMOVDQU     yoff+2(DI), Y10  \
	VPMADDUBSW  Y10, Y8, Y11     \
	VPMADDUBSW  Y10, Y14, Y12    \
	VPSUBW      Y12, Y11, Y11    \
	VPMADDWD    Y13, Y11, dst

// REDUCE4: X7 = float32 of the four block sums in Y1..Y4, in block order.
#define REDUCE4 \
	VPHADDD      Y2, Y1, Y5 \
	VPHADDD      Y4, Y3, Y6 \
	VPHADDD      Y6, Y5, Y7 \
	VEXTRACTI128 $1, Y7, X8 \
	VPADDD       X8, X7, X7 \
	VCVTDQ2PS    X7, X7

// HALF4(base, stride, dst): dst = float32 of the four halves at
// base+k*stride(reg), k = 0..3. Clobbers AX, BX, DX.
#define HALF4(reg, stride, dst) \
	MOVWLZX   (reg), AX          \
	MOVWLZX   stride(reg), BX    \
	SHLL      $16, BX            \
	ORL       BX, AX             \
	MOVWLZX   2*stride(reg), BX  \
	MOVWLZX   3*stride(reg), DX  \
	SHLL      $16, DX            \
	ORL       DX, BX             \
	SHLQ      $32, BX            \
	ORQ       BX, AX             \
	VMOVQ     AX, dst            \
	VCVTPH2PS dst, dst

// ACC4: X0 += X7[0]; X0 += X7[1]; X0 += X7[2]; X0 += X7[3], in that order.
#define ACC4 \
	VADDSS    X7, X0, X0    \
	VMOVSHDUP X7, X8        \
	VADDSS    X8, X0, X0    \
	VMOVHLPS  X7, X8, X8    \
	VADDSS    X8, X0, X0    \
	VPSHUFD   $3, X7, X8    \
	VADDSS    X8, X0, X0

// HSUMI(Y1) leaves the int32 sum of Y1's lanes, as float32, in X1.
#define HSUMI1 \
	VEXTRACTI128 $1, Y1, X8 \
	VPADDD       X8, X1, X1 \
	VPSHUFD      $0x4e, X1, X8 \
	VPADDD       X8, X1, X1 \
	VPSHUFD      $0xb1, X1, X8 \
	VPADDD       X8, X1, X1 \
	VCVTDQ2PS    X1, X1

// HALF1(reg, dst): dst[0] = float32 of the half at (reg). Clobbers AX.
#define HALF1(reg, dst) \
	MOVWLZX   (reg), AX \
	VMOVD     AX, dst   \
	VCVTPH2PS dst, dst

// func dotQ8_0Q8_0AVX2(w, y *byte, nb int) float32
// sumf += float32(s) * (dx*dy) per block, in block order.
TEXT ·dotQ8_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS X0, X0, X0

q8loop4:
	CMPQ  CX, $4
	JLT   q8loop1
	Q8BLK(0, 0, Y1)
	Q8BLK(34, 34, Y2)
	Q8BLK(68, 68, Y3)
	Q8BLK(102, 102, Y4)
	REDUCE4
	HALF4(SI, 34, X9)
	HALF4(DI, 34, X10)
	VMULPS X10, X9, X9
	VMULPS X9, X7, X7
	ACC4
	ADDQ   $136, SI
	ADDQ   $136, DI
	SUBQ   $4, CX
	JMP    q8loop4

q8loop1:
	TESTQ  CX, CX
	JEQ    q8done
	Q8BLK(0, 0, Y1)
	HSUMI1
	HALF1(SI, X9)
	HALF1(DI, X10)
	VMULSS X10, X9, X9
	VMULSS X9, X1, X1
	VADDSS X1, X0, X0
	ADDQ   $34, SI
	ADDQ   $34, DI
	DECQ   CX
	JMP    q8loop1

q8done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_0Q8_0AVX2(w, y *byte, nb int) float32
// sumf += (float32(s) * dx) * dy per block, in block order.
TEXT ·dotQ4_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   nb+16(FP), CX
	CONSTS
	VXORPS X0, X0, X0

q4loop4:
	CMPQ  CX, $4
	JLT   q4loop1
	Q4BLK(0, 0, Y1)
	Q4BLK(18, 34, Y2)
	Q4BLK(36, 68, Y3)
	Q4BLK(54, 102, Y4)
	REDUCE4
	HALF4(SI, 18, X9)
	HALF4(DI, 34, X10)
	VMULPS X9, X7, X7
	VMULPS X10, X7, X7
	ACC4
	ADDQ   $72, SI
	ADDQ   $136, DI
	SUBQ   $4, CX
	JMP    q4loop4

q4loop1:
	TESTQ  CX, CX
	JEQ    q4done
	Q4BLK(0, 0, Y1)
	HSUMI1
	HALF1(SI, X9)
	HALF1(DI, X10)
	VMULSS X9, X1, X1
	VMULSS X10, X1, X1
	VADDSS X1, X0, X0
	ADDQ   $18, SI
	ADDQ   $34, DI
	DECQ   CX
	JMP    q4loop1

q4done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Constants for the quantizer.
DATA q8permd<>+0(SB)/4, $0
DATA q8permd<>+4(SB)/4, $4
DATA q8permd<>+8(SB)/4, $1
DATA q8permd<>+12(SB)/4, $5
DATA q8permd<>+16(SB)/4, $2
DATA q8permd<>+20(SB)/4, $6
DATA q8permd<>+24(SB)/4, $3
DATA q8permd<>+28(SB)/4, $7
GLOBL q8permd<>(SB), RODATA|NOPTR, $32

// ROUNDAWAY(r): r = roundf(r) (halves away from zero), exactly: truncate
// |r|, add 1 where the dropped fraction is >= 0.5, restore the sign.
// Uses Y12 = 0x7fffffff, Y11 = 0.5, Y10 = 1.0; clobbers Y8, Y9.
#define ROUNDAWAY(r) \
	VANDPS   Y12, r, Y8   \
	VROUNDPS $3, Y8, Y9   \
	VSUBPS   Y9, Y8, Y8   \
	VCMPPS   $13, Y11, Y8, Y8 \
	VANDPS   Y10, Y8, Y8  \
	VADDPS   Y8, Y9, Y9   \
	VANDNPS  r, Y12, r    \
	VORPS    Y9, r, r

// func quantizeQ8_0AVX2(x *float32, dst *byte, nb int)
// As quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d) via x*(1/d).
TEXT ·quantizeQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         dst+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x3f000000, AX       // 0.5
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         $0x3f800000, AX       // 1.0
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         $0x42fe0000, AX       // 127.0
	VMOVD        AX, X13
	VMOVDQU      q8permd<>(SB), Y14

qz:
	TESTQ   CX, CX
	JEQ     qzdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y12, Y0, Y4
	VANDPS  Y12, Y1, Y5
	VANDPS  Y12, Y2, Y6
	VANDPS  Y12, Y3, Y7
	VMAXPS  Y5, Y4, Y4
	VMAXPS  Y7, Y6, Y6
	VMAXPS  Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS  X5, X4, X4
	VMOVHLPS X4, X5, X5
	VMAXPS  X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS  X5, X4, X4           // amax
	VDIVSS  X13, X4, X4          // d = amax / 127
	VXORPS  X5, X5, X5
	VUCOMISS X5, X4
	JEQ     qzzero
	VMOVAPS X10, X5
	VDIVSS  X4, X5, X5           // id = 1 / d

qzzero:
	VCVTPS2PH $0, X4, X6
	VMOVD   X6, AX
	MOVW    AX, (DI)
	VBROADCASTSS X5, Y5
	VMULPS  Y5, Y0, Y0
	VMULPS  Y5, Y1, Y1
	VMULPS  Y5, Y2, Y2
	VMULPS  Y5, Y3, Y3
	ROUNDAWAY(Y0)
	ROUNDAWAY(Y1)
	ROUNDAWAY(Y2)
	ROUNDAWAY(Y3)
	VCVTTPS2DQ Y0, Y0
	VCVTTPS2DQ Y1, Y1
	VCVTTPS2DQ Y2, Y2
	VCVTTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD  Y0, Y14, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ    $128, SI
	ADDQ    $34, DI
	DECQ    CX
	JMP     qz

qzdone:
	VZEROUPPER
	RET

// func quantizeQ8_1AVX2(x *float32, dst *byte, nb int)
// As quantize_row_q8_1_ref: the Q8_0 quantization, quants at offset 4,
// and s = float32(sum of the quants) * d as a half at offset 2.
TEXT ·quantizeQ8_1AVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         dst+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x3f000000, AX       // 0.5
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         $0x3f800000, AX       // 1.0
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         $0x42fe0000, AX       // 127.0
	VMOVD        AX, X13
	VMOVDQU      q8permd<>(SB), Y14
	MOVL         $0x01010101, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15             // bytes 1

q1z:
	TESTQ   CX, CX
	JEQ     q1zdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y12, Y0, Y4
	VANDPS  Y12, Y1, Y5
	VANDPS  Y12, Y2, Y6
	VANDPS  Y12, Y3, Y7
	VMAXPS  Y5, Y4, Y4
	VMAXPS  Y7, Y6, Y6
	VMAXPS  Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS  X5, X4, X4
	VMOVHLPS X4, X5, X5
	VMAXPS  X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS  X5, X4, X4           // amax
	VDIVSS  X13, X4, X4          // d = amax / 127
	VXORPS  X5, X5, X5
	VUCOMISS X5, X4
	JEQ     q1zzero
	VMOVAPS X10, X5
	VDIVSS  X4, X5, X5           // id = 1 / d

q1zzero:
	VCVTPS2PH $0, X4, X6
	VMOVD   X6, AX
	MOVW    AX, (DI)
	VBROADCASTSS X5, Y5
	VMULPS  Y5, Y0, Y0
	VMULPS  Y5, Y1, Y1
	VMULPS  Y5, Y2, Y2
	VMULPS  Y5, Y3, Y3
	ROUNDAWAY(Y0)
	ROUNDAWAY(Y1)
	ROUNDAWAY(Y2)
	ROUNDAWAY(Y3)
	VCVTTPS2DQ Y0, Y0
	VCVTTPS2DQ Y1, Y1
	VCVTTPS2DQ Y2, Y2
	VCVTTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD  Y0, Y14, Y0
	VMOVDQU Y0, 4(DI)
	VPCMPEQW   Y7, Y7, Y7
	VPSRLW     $15, Y7, Y7                // words 1
	VPMADDUBSW Y0, Y15, Y0
	VPMADDWD   Y7, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD     X1, X0, X0
	VPSHUFD    $0x4e, X0, X1
	VPADDD     X1, X0, X0
	VPSHUFD    $0xb1, X0, X1
	VPADDD     X1, X0, X0
	VMOVD      X0, AX
	VCVTSI2SSL AX, X6, X6
	VMULSS     X4, X6, X6                 // float32(sum) * d
	VCVTPS2PH  $0, X6, X6
	VMOVD      X6, AX
	MOVW       AX, 2(DI)
	ADDQ    $128, SI
	ADDQ    $36, DI
	DECQ    CX
	JMP     q1z

q1zdone:
	VZEROUPPER
	RET

// Four-row dots: rows at w, w+stride, w+2*stride, w+3*stride against one
// activation row. Lane r of X0 is row r's sumf, so each row keeps its own
// sequential per-block chain (bit-identical to the one-row kernels) while
// the activation loads, the 8*y sums and the dy conversion are shared and
// the four chains advance in one VADDPS.

// Q4ROW(reg, dst): int32x8 partial sums of sum((q-8)*y) for the Q4_0 block
// at (reg), given Y10 = y quants and Y12 = 8*y pair sums. Clobbers Y8, Y9.
#define Q4ROW(reg, dst) \
	VMOVDQU     2(reg), X8     \
	VPSRLW      $4, X8, X9     \
	VINSERTI128 $1, X9, Y8, Y8 \
	VPAND       Y15, Y8, Y8    \
	VPMADDUBSW  Y10, Y8, Y8    \
	VPSUBW      Y12, Y8, Y8    \
	VPMADDWD    Y13, Y8, dst

// Q8ROW(reg, dst): int32x8 partial sums of the Q8_0 block at (reg) times
// the activation widened in Y10 (values 0-15) and Y11 (16-31).
#define Q8ROW(reg, dst) \
	VPMOVSXBW 2(reg), Y8  \
	VPMOVSXBW 18(reg), Y9 \
	VPMADDWD  Y10, Y8, Y8 \
	VPMADDWD  Y11, Y9, Y9 \
	VPADDD    Y9, Y8, dst

// DX4: X9 = float32 of the four rows' block scales at (R8)..(R11).
#define DX4 \
	MOVWLZX   (R8), AX            \
	VMOVD     AX, X9              \
	VPINSRW   $1, (R9), X9, X9    \
	VPINSRW   $2, (R10), X9, X9   \
	VPINSRW   $3, (R11), X9, X9   \
	VCVTPH2PS X9, X9

// Q4ROW2(reg, dst): Q4ROW without temporaries, for the two-block loop:
// VBROADCASTI128 + VPSRLVQ by [0,0,4,4] puts the low nibbles in the low
// half and the high nibbles in the high half. SI is the block offset; Y11
// holds the shift counts.
#define Q4ROW2(reg, off, dst) \
	VBROADCASTI128 off+2(reg)(SI*1), dst \
	VPSRLVQ        Y11, dst, dst          \
	VPAND          Y15, dst, dst          \
	VPMADDUBSW     Y10, dst, dst          \
	VPSUBW         Y12, dst, dst          \
	VPMADDWD       Y13, dst, dst

DATA q4shift<>+0(SB)/8, $0
DATA q4shift<>+8(SB)/8, $0
DATA q4shift<>+16(SB)/8, $4
DATA q4shift<>+24(SB)/8, $4
GLOBL q4shift<>(SB), RODATA|NOPTR, $32

// func dotQ4_0Q8_0x4AVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)
// Decode calls it with a far stride (pool.go farRows): four long streams
// the hardware prefetchers follow. (Software prefetching of the rows 8
// ahead, which helped consecutive rows, fetched rows outside the worker's
// share there: tg32 Q4_0 ~150 -> ~200 tok/s without it.)
// Two blocks per iteration: eight int32x8 vectors (4 rows × 2 blocks) are
// reduced together into [A0..A3 | B0..B3], scaled as one vector, and block
// A's four products are added to the row sums before block B's, which is
// each row's sequential order.
TEXT ·dotQ4_0Q8_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ    w+0(FP), R8
	MOVQ    stride+8(FP), BX
	MOVQ    y+16(FP), DI
	MOVQ    nb+24(FP), CX
	LEAQ    (R8)(BX*1), R9
	LEAQ    (R9)(BX*1), R10
	LEAQ    (R10)(BX*1), R11
	CONSTS
	VMOVDQU q4shift<>(SB), Y11
	VXORPS  X0, X0, X0
	XORQ    SI, SI

q4x4loop2:
	CMPQ       CX, $2
	JLT        q4x4loop
	VMOVDQU    2(DI), Y10
	VPMADDUBSW Y10, Y14, Y12
	Q4ROW2(R8, 0, Y1)
	Q4ROW2(R9, 0, Y2)
	Q4ROW2(R10, 0, Y3)
	Q4ROW2(R11, 0, Y4)
	VMOVDQU    36(DI), Y10
	VPMADDUBSW Y10, Y14, Y12
	Q4ROW2(R8, 18, Y5)
	Q4ROW2(R9, 18, Y6)
	Q4ROW2(R10, 18, Y7)
	Q4ROW2(R11, 18, Y8)

	// [A0..A3 | B0..B3]
	VPHADDD    Y2, Y1, Y1
	VPHADDD    Y4, Y3, Y3
	VPHADDD    Y3, Y1, Y1
	VPHADDD    Y6, Y5, Y5
	VPHADDD    Y8, Y7, Y7
	VPHADDD    Y7, Y5, Y5
	VPERM2I128 $0x20, Y5, Y1, Y2
	VPERM2I128 $0x31, Y5, Y1, Y3
	VPADDD     Y3, Y2, Y2
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

	// dy of block A in the low half, block B in the high half.
	VPBROADCASTW (DI), X3
	VPBROADCASTW 34(DI), X4
	VPUNPCKLQDQ  X4, X3, X3
	VCVTPH2PS    X3, Y4

	VMULPS       Y9, Y2, Y2
	VMULPS       Y4, Y2, Y2
	VADDPS       X2, X0, X0
	VEXTRACTF128 $1, Y2, X2
	VADDPS       X2, X0, X0
	ADDQ         $36, SI
	ADDQ         $68, DI
	SUBQ         $2, CX
	JMP          q4x4loop2

q4x4loop:
	ADDQ         SI, R8
	ADDQ         SI, R9
	ADDQ         SI, R10
	ADDQ         SI, R11
	TESTQ        CX, CX
	JEQ          q4x4done
	VMOVDQU      2(DI), Y10
	VPMADDUBSW   Y10, Y14, Y12
	Q4ROW(R8, Y1)
	Q4ROW(R9, Y2)
	Q4ROW(R10, Y3)
	Q4ROW(R11, Y4)
	REDUCE4
	DX4
	VPBROADCASTW (DI), X10
	VCVTPH2PS    X10, X10
	VMULPS       X9, X7, X7
	VMULPS       X10, X7, X7
	VADDPS       X7, X0, X0

q4x4done:
	MOVQ    out+32(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET

// Q8ROW2(reg, off, dst): Q8ROW at off(reg)(SI*1) with Y9 as temporary.
#define Q8ROW2(reg, off, dst) \
	VPMOVSXBW off+2(reg)(SI*1), dst  \
	VPMOVSXBW off+18(reg)(SI*1), Y9  \
	VPMADDWD  Y10, dst, dst          \
	VPMADDWD  Y11, Y9, Y9            \
	VPADDD    Y9, dst, dst

// func dotQ8_0Q8_0x4AVX2(w *byte, stride int, y *byte, nb int, out *[4]float32)
// Two blocks per iteration, as dotQ4_0Q8_0x4AVX2. Each row is prefetched
// 1152 bytes ahead in its own stream (decode's far rows; the old prefetch
// of "rows 8 ahead" lay outside the worker's rows there and was dropped,
// tg32 ~85 -> ~110 tok/s): one thread from DRAM 10.2-13.7 -> 12.6-15.1
// GB/s, two 23.8-28.3 -> 26.8-29.3 (CPU time, interleaved, 3 runs).
TEXT ·dotQ8_0Q8_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), R8
	MOVQ   stride+8(FP), BX
	MOVQ   y+16(FP), DI
	MOVQ   nb+24(FP), CX
	LEAQ   (R8)(BX*1), R9
	LEAQ   (R9)(BX*1), R10
	LEAQ   (R10)(BX*1), R11
	VXORPS X0, X0, X0
	XORQ   SI, SI

q8x4loop2:
	CMPQ       CX, $2
	JLT        q8x4loop
	PREFETCHT0 1152(R8)(SI*1)
	PREFETCHT0 1152(R9)(SI*1)
	PREFETCHT0 1152(R10)(SI*1)
	PREFETCHT0 1152(R11)(SI*1)
	PREFETCHT0 1216(R8)(SI*1)
	PREFETCHT0 1216(R9)(SI*1)
	PREFETCHT0 1216(R10)(SI*1)
	PREFETCHT0 1216(R11)(SI*1)
	VPMOVSXBW  2(DI), Y10
	VPMOVSXBW  18(DI), Y11
	Q8ROW2(R8, 0, Y1)
	Q8ROW2(R9, 0, Y2)
	Q8ROW2(R10, 0, Y3)
	Q8ROW2(R11, 0, Y4)
	VPMOVSXBW 36(DI), Y10
	VPMOVSXBW 52(DI), Y11
	Q8ROW2(R8, 34, Y5)
	Q8ROW2(R9, 34, Y6)
	Q8ROW2(R10, 34, Y7)
	Q8ROW2(R11, 34, Y8)

	VPHADDD    Y2, Y1, Y1
	VPHADDD    Y4, Y3, Y3
	VPHADDD    Y3, Y1, Y1
	VPHADDD    Y6, Y5, Y5
	VPHADDD    Y8, Y7, Y7
	VPHADDD    Y7, Y5, Y5
	VPERM2I128 $0x20, Y5, Y1, Y2
	VPERM2I128 $0x31, Y5, Y1, Y3
	VPADDD     Y3, Y2, Y2
	VCVTDQ2PS  Y2, Y2

	MOVWLZX   (R8)(SI*1), AX
	VMOVD     AX, X9
	VPINSRW   $1, (R9)(SI*1), X9, X9
	VPINSRW   $2, (R10)(SI*1), X9, X9
	VPINSRW   $3, (R11)(SI*1), X9, X9
	VPINSRW   $4, 34(R8)(SI*1), X9, X9
	VPINSRW   $5, 34(R9)(SI*1), X9, X9
	VPINSRW   $6, 34(R10)(SI*1), X9, X9
	VPINSRW   $7, 34(R11)(SI*1), X9, X9
	VCVTPH2PS X9, Y9

	VPBROADCASTW (DI), X3
	VPBROADCASTW 34(DI), X4
	VPUNPCKLQDQ  X4, X3, X3
	VCVTPH2PS    X3, Y4

	VMULPS       Y4, Y9, Y9
	VMULPS       Y9, Y2, Y2
	VADDPS       X2, X0, X0
	VEXTRACTF128 $1, Y2, X2
	VADDPS       X2, X0, X0
	ADDQ         $68, SI
	ADDQ         $68, DI
	SUBQ         $2, CX
	JMP          q8x4loop2

q8x4loop:
	ADDQ         SI, R8
	ADDQ         SI, R9
	ADDQ         SI, R10
	ADDQ         SI, R11
	TESTQ        CX, CX
	JEQ          q8x4done
	VPMOVSXBW    2(DI), Y10
	VPMOVSXBW    18(DI), Y11
	Q8ROW(R8, Y1)
	Q8ROW(R9, Y2)
	Q8ROW(R10, Y3)
	Q8ROW(R11, Y4)
	REDUCE4
	DX4
	VPBROADCASTW (DI), X10
	VCVTPH2PS    X10, X10
	VMULPS       X10, X9, X9
	VMULPS       X9, X7, X7
	VADDPS       X7, X0, X0

q8x4done:
	MOVQ    out+32(FP), AX
	VMOVUPS X0, (AX)
	VZEROUPPER
	RET

// Q4_1·Q8_1, Q5_0·Q8_0 and Q5_1·Q8_1: the same exact scheme as Q4_0, four
// blocks per iteration. The fifth bits are expanded to bytes as llama.cpp's
// bytes_from_bits_32 does (broadcast, shuffle, OR with all-but-one-bit
// masks, compare with all ones); Q5_0's offset of 16 is subtracted as
// 16*sum(y) pairs, exactly as Q4_0's offset of 8.

DATA q5shuf<>+0(SB)/8, $0x0000000000000000
DATA q5shuf<>+8(SB)/8, $0x0101010101010101
DATA q5shuf<>+16(SB)/8, $0x0202020202020202
DATA q5shuf<>+24(SB)/8, $0x0303030303030303
GLOBL q5shuf<>(SB), RODATA|NOPTR, $32

// Q5CONSTS: Y15 = 0x0f, Y14 = 0x10, Y13 = words 1, Y12 = q5shuf,
// Y11 = 0x7fbfdfeff7fbfdfe, Y10 = all ones.
#define Q5CONSTS \
	MOVL         $0x0f0f0f0f, AX         \
	VMOVD        AX, X15                 \
	VPBROADCASTD X15, Y15                \
	MOVL         $0x10101010, AX         \
	VMOVD        AX, X14                 \
	VPBROADCASTD X14, Y14                \
	MOVL         $0x00010001, AX         \
	VMOVD        AX, X13                 \
	VPBROADCASTD X13, Y13                \
	VMOVDQU      q5shuf<>(SB), Y12       \
	MOVQ         $0x7fbfdfeff7fbfdfe, AX \
	VMOVQ        AX, X11                 \
	VPBROADCASTQ X11, Y11                \
	VPCMPEQB     Y10, Y10, Y10

// NIB(qsoff): Y8 = the 32 nibbles at qsoff(SI), low ones in the low half.
// Clobbers Y9.
#define NIB(qsoff) \
	VMOVDQU     qsoff(SI), X8  \
	VPSRLW      $4, X8, X9     \
	VINSERTI128 $1, X9, Y8, Y8 \
	VPAND       Y15, Y8, Y8

// HIBITS(qhoff): Y9 = 0x10 in byte i where bit i of the uint32 at
// qhoff(SI) is set.
#define HIBITS(qhoff) \
	VPBROADCASTD qhoff(SI), Y9 \
	VPSHUFB      Y12, Y9, Y9   \
	VPOR         Y11, Y9, Y9   \
	VPCMPEQB     Y10, Y9, Y9   \
	VPAND        Y14, Y9, Y9

// Q41BLK: sum(q*y) of the Q4_1 block at off(SI), Q8_1 block at yoff(DI).
#define Q41BLK(off, yoff, dst) \
	NIB(off+4)                    \
	VPMADDUBSW yoff+4(DI), Y8, Y8 \
	VPMADDWD   Y13, Y8, dst

// Q50BLK: sum((q-16)*y) of the Q5_0 block at off(SI), Q8_0 at yoff(DI).
#define Q50BLK(off, yoff, dst) \
	NIB(off+6)                     \
	HIBITS(off+2)                  \
	VPOR       Y9, Y8, Y8          \
	VPMADDUBSW yoff+2(DI), Y8, Y8  \
	VPMADDUBSW yoff+2(DI), Y14, Y9 \
	VPSUBW     Y9, Y8, Y8          \
	VPMADDWD   Y13, Y8, dst

// Q51BLK: sum(q*y) of the Q5_1 block at off(SI), Q8_1 block at yoff(DI).
#define Q51BLK(off, yoff, dst) \
	NIB(off+8)                    \
	HIBITS(off+4)                 \
	VPOR       Y9, Y8, Y8         \
	VPMADDUBSW yoff+4(DI), Y8, Y8 \
	VPMADDWD   Y13, Y8, dst

// HALF4AT(reg, off, stride, dst): HALF4 of the halves at off+k*stride(reg).
#define HALF4AT(reg, off, stride, dst) \
	MOVWLZX   off(reg), AX            \
	MOVWLZX   off+stride(reg), BX     \
	SHLL      $16, BX                 \
	ORL       BX, AX                  \
	MOVWLZX   off+2*stride(reg), BX   \
	MOVWLZX   off+3*stride(reg), DX   \
	SHLL      $16, DX                 \
	ORL       DX, BX                  \
	SHLQ      $32, BX                 \
	ORQ       BX, AX                  \
	VMOVQ     AX, dst                 \
	VCVTPH2PS dst, dst

// HSUM_Y0: X0[0] = hsum_float_8(Y0) = ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
// Clobbers X1.
#define HSUM_Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X1, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1     \
	VADDSS       X1, X0, X0

// HALF1AT(reg, off, dst): float32 of the half at off(reg). Clobbers AX.
#define HALF1AT(reg, off, dst) \
	MOVWLZX   off(reg), AX \
	VMOVD     AX, dst      \
	VCVTPH2PS dst, dst

// func dotQ4_1Q8_1AVX2(w, y *byte, nb int) float32
// The Go kernel keeps ggml's AVX2 float structure for Q4_1: eight lanes
// acc[l] = fma(dx*dy, sum of elements 4l..4l+3, acc[l]) (the VPMADDWD
// lanes exactly), summs += mx*sy in block order, then hsum_float_8(acc) +
// summs.
TEXT ·dotQ4_1Q8_1AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   nb+16(FP), CX
	Q5CONSTS
	VXORPS Y0, Y0, Y0              // acc
	VXORPS X1, X1, X1              // summs

q41loop:
	TESTQ        CX, CX
	JEQ          q41done
	Q41BLK(0, 0, Y2)
	VCVTDQ2PS    Y2, Y2
	HALF1AT(SI, 0, X5)
	HALF1AT(DI, 0, X6)
	VMULSS       X6, X5, X5
	VBROADCASTSS X5, Y5
	VFMADD231PS  Y5, Y2, Y0
	HALF1AT(SI, 2, X5)
	HALF1AT(DI, 2, X6)
	VMULSS       X6, X5, X5
	VADDSS       X5, X1, X1
	ADDQ         $20, SI
	ADDQ         $36, DI
	DECQ         CX
	JMP          q41loop

q41done:
	VMOVAPS X1, X2
	HSUM_Y0
	VADDSS  X2, X0, X0
	VZEROUPPER
	MOVSS   X0, ret+24(FP)
	RET

// func dotQ5_0Q8_0AVX2(w, y *byte, nb int) float32
// sumf += (dx*dy)*s per block.
TEXT ·dotQ5_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   nb+16(FP), CX
	Q5CONSTS
	VXORPS X0, X0, X0

q50loop4:
	CMPQ   CX, $4
	JLT    q50loop1
	Q50BLK(0, 0, Y1)
	Q50BLK(22, 34, Y2)
	Q50BLK(44, 68, Y3)
	Q50BLK(66, 102, Y4)
	REDUCE4
	HALF4AT(SI, 0, 22, X5)
	HALF4AT(DI, 0, 34, X6)
	VMULPS X6, X5, X5
	VMULPS X5, X7, X7
	ACC4
	ADDQ   $88, SI
	ADDQ   $136, DI
	SUBQ   $4, CX
	JMP    q50loop4

q50loop1:
	TESTQ  CX, CX
	JEQ    q50done
	Q50BLK(0, 0, Y1)
	HSUMI1
	HALF1AT(SI, 0, X5)
	HALF1AT(DI, 0, X6)
	VMULSS X6, X5, X5
	VMULSS X5, X1, X1
	VADDSS X1, X0, X0
	ADDQ   $22, SI
	ADDQ   $34, DI
	DECQ   CX
	JMP    q50loop1

q50done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_1Q8_1AVX2(w, y *byte, nb int) float32
// sumf += (dx*dy)*s + mx*sy per block.
TEXT ·dotQ5_1Q8_1AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   nb+16(FP), CX
	Q5CONSTS
	VXORPS X0, X0, X0

q51loop4:
	CMPQ   CX, $4
	JLT    q51loop1
	Q51BLK(0, 0, Y1)
	Q51BLK(24, 36, Y2)
	Q51BLK(48, 72, Y3)
	Q51BLK(72, 108, Y4)
	REDUCE4
	HALF4AT(SI, 0, 24, X5)
	HALF4AT(DI, 0, 36, X6)
	VMULPS X6, X5, X5
	VMULPS X5, X7, X7
	HALF4AT(SI, 2, 24, X5)
	HALF4AT(DI, 2, 36, X6)
	VMULPS X6, X5, X5
	VADDPS X5, X7, X7
	ACC4
	ADDQ   $96, SI
	ADDQ   $144, DI
	SUBQ   $4, CX
	JMP    q51loop4

q51loop1:
	TESTQ  CX, CX
	JEQ    q51done
	Q51BLK(0, 0, Y1)
	HSUMI1
	HALF1AT(SI, 0, X5)
	HALF1AT(DI, 0, X6)
	VMULSS X6, X5, X5
	VMULSS X5, X1, X1
	HALF1AT(SI, 2, X5)
	HALF1AT(DI, 2, X6)
	VMULSS X6, X5, X5
	VADDSS X5, X1, X1
	VADDSS X1, X0, X0
	ADDQ   $24, SI
	ADDQ   $36, DI
	DECQ   CX
	JMP    q51loop1

q51done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
