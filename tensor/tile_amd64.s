// Batched float dots for prompt processing: four weight rows against three
// activation rows per call (twelve dots), each result bit-identical to the
// one-row kernel of float_amd64.s on that row and activation.
//
// The one-row kernels keep four 8-lane accumulators acc0..acc3 over the
// values 32i+8j..32i+8j+7 (j = 0..3), an 8-value loop into acc0, the
// reduction (acc0+acc1)+(acc2+acc3), a horizontal sum and a sequential
// scalar tail. Forty-eight accumulators do not fit in sixteen registers, so
// the tile makes four passes over its rows, one per j, with twelve
// accumulators (Y0..Y11, Y(3r+c) for row r and activation c), and keeps
// the partial vectors in its frame: acc0 and then acc0+acc1 at 0(SP),
// acc2 at 384(SP). Each weight vector is loaded (or widened from F16) once
// and used for three activations, each activation vector once for four
// rows: 7 loads per 12 FMAs instead of 8 per 4 (four one-row dots). The tile's
// data (4 rows + 3 activations) stays in L1/L2 across the passes.

#include "textflag.h"

#define ZERO12 \
	VXORPS Y0, Y0, Y0    \
	VXORPS Y1, Y1, Y1    \
	VXORPS Y2, Y2, Y2    \
	VXORPS Y3, Y3, Y3    \
	VXORPS Y4, Y4, Y4    \
	VXORPS Y5, Y5, Y5    \
	VXORPS Y6, Y6, Y6    \
	VXORPS Y7, Y7, Y7    \
	VXORPS Y8, Y8, Y8    \
	VXORPS Y9, Y9, Y9    \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11

// SAVE12(base): base+32i(SP) = Yi.
#define SAVE12(base) \
	VMOVUPS Y0, base+0(SP)    \
	VMOVUPS Y1, base+32(SP)   \
	VMOVUPS Y2, base+64(SP)   \
	VMOVUPS Y3, base+96(SP)   \
	VMOVUPS Y4, base+128(SP)  \
	VMOVUPS Y5, base+160(SP)  \
	VMOVUPS Y6, base+192(SP)  \
	VMOVUPS Y7, base+224(SP)  \
	VMOVUPS Y8, base+256(SP)  \
	VMOVUPS Y9, base+288(SP)  \
	VMOVUPS Y10, base+320(SP) \
	VMOVUPS Y11, base+352(SP)

// ADDSAVED(base, y): y = saved + y, the saved vector as the first operand
// (the one-row kernels' VADDPS operand order). Clobbers Y12.
#define ADDSAVED(off, y) \
	VMOVUPS off(SP), Y12 \
	VADDPS  y, Y12, y

#define ADD12(base) \
	ADDSAVED(base+0, Y0)    \
	ADDSAVED(base+32, Y1)   \
	ADDSAVED(base+64, Y2)   \
	ADDSAVED(base+96, Y3)   \
	ADDSAVED(base+128, Y4)  \
	ADDSAVED(base+160, Y5)  \
	ADDSAVED(base+192, Y6)  \
	ADDSAVED(base+224, Y7)  \
	ADDSAVED(base+256, Y8)  \
	ADDSAVED(base+288, Y9)  \
	ADDSAVED(base+320, Y10) \
	ADDSAVED(base+352, Y11)

// HSUMR(y, x, t): x[0] = the sum of y's lanes in HSUM_Y0's order.
#define HSUMR(y, x, t) \
	VEXTRACTF128 $1, y, t \
	VADDPS       t, x, x  \
	VMOVHLPS     x, t, t  \
	VADDPS       t, x, x  \
	VMOVSHDUP    x, t     \
	VADDSS       t, x, x

#define HSUM12 \
	HSUMR(Y0, X0, X12)   \
	HSUMR(Y1, X1, X12)   \
	HSUMR(Y2, X2, X12)   \
	HSUMR(Y3, X3, X12)   \
	HSUMR(Y4, X4, X12)   \
	HSUMR(Y5, X5, X12)   \
	HSUMR(Y6, X6, X12)   \
	HSUMR(Y7, X7, X12)   \
	HSUMR(Y8, X8, X12)   \
	HSUMR(Y9, X9, X12)   \
	HSUMR(Y10, X10, X12) \
	HSUMR(Y11, X11, X12)

// LOADX(off): Y12..Y14 = the three activations' 8 values at off(AX*1).
#define LOADX(off) \
	VMOVUPS off(DI)(AX*1), Y12  \
	VMOVUPS off(R14)(AX*1), Y13 \
	VMOVUPS off(R15)(AX*1), Y14

// FMA3(a, b, c): a += Y15*Y12, b += Y15*Y13, c += Y15*Y14.
#define FMA3(a, b, c) \
	VFMADD231PS Y12, Y15, a \
	VFMADD231PS Y13, Y15, b \
	VFMADD231PS Y14, Y15, c

// F32STEP(off): one 8-value step of the tile at byte offset off (+AX).
#define F32STEP(off) \
	LOADX(off)                    \
	VMOVUPS off(R8)(AX*1), Y15  \
	FMA3(Y0, Y1, Y2)            \
	VMOVUPS off(R9)(AX*1), Y15  \
	FMA3(Y3, Y4, Y5)            \
	VMOVUPS off(R10)(AX*1), Y15 \
	FMA3(Y6, Y7, Y8)            \
	VMOVUPS off(R11)(AX*1), Y15 \
	FMA3(Y9, Y10, Y11)

// F32PASS(name, mid, end, off): the 32-value loop of one accumulator j
// (off = 32j), two chunks per iteration.
#define F32PASS(name, mid, end, off) \
	ZERO12          \
	XORQ AX, AX     \
	MOVQ CX, DX     \
name:               \
	CMPQ DX, $64    \
	JLT  mid    \
	F32STEP(off)    \
	F32STEP(off+128) \
	ADDQ $256, AX   \
	SUBQ $64, DX    \
	JMP  name       \
mid:            \
	CMPQ DX, $32    \
	JLT  end        \
	F32STEP(off)    \
	ADDQ $128, AX   \
	SUBQ $32, DX    \
end:

// STORE12: out[c*ostride+r] = X(3r+c), with SI = out and BX = ostride
// in bytes. Clobbers DX.
#define STORE12 \
	VMOVSS X0, (SI)      \
	VMOVSS X3, 4(SI)     \
	VMOVSS X6, 8(SI)     \
	VMOVSS X9, 12(SI)    \
	LEAQ   (SI)(BX*1), DX \
	VMOVSS X1, (DX)      \
	VMOVSS X4, 4(DX)     \
	VMOVSS X7, 8(DX)     \
	VMOVSS X10, 12(DX)   \
	LEAQ   (DX)(BX*1), DX \
	VMOVSS X2, (DX)      \
	VMOVSS X5, 4(DX)     \
	VMOVSS X8, 8(DX)     \
	VMOVSS X11, 12(DX)

// SFMA3(a, b, c): scalar a += X15*X12, b += X15*X13, c += X15*X14.
#define SFMA3(a, b, c) \
	VFMADD231SS X12, X15, a \
	VFMADD231SS X13, X15, b \
	VFMADD231SS X14, X15, c

// func dotF32x4x3AVX2(w *float32, stride int, x *float32, xstride int, n int, out *float32, ostride int)
// Rows w+k*stride (k < 4), activations x+c*xstride (c < 3), all strides in
// float32 values; out[c*ostride+k] = row k · activation c.
TEXT ·dotF32x4x3AVX2(SB), 0, $768-56
	MOVQ w+0(FP), R8
	MOVQ stride+8(FP), BX
	SHLQ $2, BX
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), BX
	SHLQ $2, BX
	LEAQ (DI)(BX*1), R14
	LEAQ (R14)(BX*1), R15
	MOVQ n+32(FP), CX

	// j = 0, then the 8-value loop into acc0 as the one-row kernel does.
	F32PASS(f32t0, f32t0m, f32t0e, 0)

f32t0r8:
	CMPQ DX, $8
	JLT  f32t0done
	F32STEP(0)
	ADDQ $32, AX
	SUBQ $8, DX
	JMP  f32t0r8

f32t0done:
	MOVQ AX, R12 // scalar tail: offset
	MOVQ DX, R13 // and length
	SAVE12(0)

	F32PASS(f32t1, f32t1m, f32t1e, 32)
	ADD12(0)     // acc0 + acc1
	SAVE12(0)

	F32PASS(f32t2, f32t2m, f32t2e, 64)
	SAVE12(384)

	F32PASS(f32t3, f32t3m, f32t3e, 96)
	ADD12(384)   // acc2 + acc3
	ADD12(0)     // (acc0+acc1) + (acc2+acc3)
	HSUM12

	MOVQ R12, AX
	MOVQ R13, DX

f32ttail:
	TESTQ  DX, DX
	JEQ    f32tstore
	VMOVSS (DI)(AX*1), X12
	VMOVSS (R14)(AX*1), X13
	VMOVSS (R15)(AX*1), X14
	VMOVSS (R8)(AX*1), X15
	SFMA3(X0, X1, X2)
	VMOVSS (R9)(AX*1), X15
	SFMA3(X3, X4, X5)
	VMOVSS (R10)(AX*1), X15
	SFMA3(X6, X7, X8)
	VMOVSS (R11)(AX*1), X15
	SFMA3(X9, X10, X11)
	ADDQ   $4, AX
	DECQ   DX
	JMP    f32ttail

f32tstore:
	MOVQ out+40(FP), SI
	MOVQ ostride+48(FP), BX
	SHLQ $2, BX
	STORE12
	VZEROUPPER
	RET

// F16STEP(off, hoff): F32STEP with F16 weights at hoff(reg)(SI*1), widened by
// VCVTPH2PS once for the three activations.
#define F16STEP(off, hoff) \
	LOADX(off)                      \
	VCVTPH2PS hoff(R8)(SI*1), Y15  \
	FMA3(Y0, Y1, Y2)              \
	VCVTPH2PS hoff(R9)(SI*1), Y15  \
	FMA3(Y3, Y4, Y5)              \
	VCVTPH2PS hoff(R10)(SI*1), Y15 \
	FMA3(Y6, Y7, Y8)              \
	VCVTPH2PS hoff(R11)(SI*1), Y15 \
	FMA3(Y9, Y10, Y11)

#define F16PASS(name, mid, end, off, hoff) \
	ZERO12                  \
	XORQ AX, AX             \
	XORQ SI, SI             \
	MOVQ CX, DX             \
name:                       \
	CMPQ DX, $64            \
	JLT  mid                \
	F16STEP(off, hoff)      \
	F16STEP(off+128, hoff+64) \
	ADDQ $256, AX           \
	ADDQ $128, SI           \
	SUBQ $64, DX            \
	JMP  name               \
mid:                        \
	CMPQ DX, $32            \
	JLT  end                \
	F16STEP(off, hoff)      \
	ADDQ $128, AX           \
	ADDQ $64, SI            \
	SUBQ $32, DX            \
end:

// HALFTO(reg, dst): dst[0] = float32 of the half at (reg)(SI*1). Clobbers BX.
#define HALFTO(reg, dst) \
	MOVWLZX   (reg)(SI*1), BX \
	VMOVD     BX, dst         \
	VCVTPH2PS dst, dst

// func dotF16x4x3AVX2(w *byte, stride int, x *float32, xstride int, n int, out *float32, ostride int)
// As dotF32x4x3AVX2 with F16 weight rows; stride is in bytes.
TEXT ·dotF16x4x3AVX2(SB), 0, $768-56
	MOVQ w+0(FP), R8
	MOVQ stride+8(FP), BX
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), BX
	SHLQ $2, BX
	LEAQ (DI)(BX*1), R14
	LEAQ (R14)(BX*1), R15
	MOVQ n+32(FP), CX

	F16PASS(f16t0, f16t0m, f16t0e, 0, 0)

f16t0r8:
	CMPQ DX, $8
	JLT  f16t0done
	F16STEP(0, 0)
	ADDQ $32, AX
	ADDQ $16, SI
	SUBQ $8, DX
	JMP  f16t0r8

f16t0done:
	MOVQ AX, R12 // scalar tail: float offset (the half offset is R12/2)
	MOVQ DX, R13 // and length
	SAVE12(0)

	F16PASS(f16t1, f16t1m, f16t1e, 32, 16)
	ADD12(0)
	SAVE12(0)

	F16PASS(f16t2, f16t2m, f16t2e, 64, 32)
	SAVE12(384)

	F16PASS(f16t3, f16t3m, f16t3e, 96, 48)
	ADD12(384)
	ADD12(0)
	HSUM12

	MOVQ R12, AX
	MOVQ R12, SI
	SHRQ $1, SI
	MOVQ R13, DX

f16ttail:
	TESTQ  DX, DX
	JEQ    f16tstore
	VMOVSS (DI)(AX*1), X12
	VMOVSS (R14)(AX*1), X13
	VMOVSS (R15)(AX*1), X14
	HALFTO(R8, X15)
	SFMA3(X0, X1, X2)
	HALFTO(R9, X15)
	SFMA3(X3, X4, X5)
	HALFTO(R10, X15)
	SFMA3(X6, X7, X8)
	HALFTO(R11, X15)
	SFMA3(X9, X10, X11)
	ADDQ   $4, AX
	ADDQ   $2, SI
	DECQ   DX
	JMP    f16ttail

f16tstore:
	MOVQ out+40(FP), SI
	MOVQ ostride+48(FP), BX
	SHLQ $2, BX
	STORE12
	VZEROUPPER
	RET

// K-blocked tiles for long rows (the FFN down projection's 2048 values):
// four rows and three activations of 2048 F32 values are 56 KiB, more than
// L1, so each of the four passes above would stream them from L2 again.
// These run the four passes over blocks of 512 values instead (14 KiB of
// rows and activations, in L1 for the four passes), keeping the twelve
// accumulators of each pass j in the frame at 384j(SP) between blocks.
// Every accumulator still sees its chunks in order, then the same 8-value
// loop, reduction and scalar tail: the same bits as the one-row kernel.

// LOAD12(base): Yi = base+32i(SP).
#define LOAD12(base) \
	VMOVUPS base+0(SP), Y0    \
	VMOVUPS base+32(SP), Y1   \
	VMOVUPS base+64(SP), Y2   \
	VMOVUPS base+96(SP), Y3   \
	VMOVUPS base+128(SP), Y4  \
	VMOVUPS base+160(SP), Y5  \
	VMOVUPS base+192(SP), Y6  \
	VMOVUPS base+224(SP), Y7  \
	VMOVUPS base+256(SP), Y8  \
	VMOVUPS base+288(SP), Y9  \
	VMOVUPS base+320(SP), Y10 \
	VMOVUPS base+352(SP), Y11

// KPASSF32(name, done, j): pass j over the current block (R12 = its byte
// offset, BX = its chunk count), resuming and saving its accumulators.
#define KPASSF32(name, done, j) \
	LOAD12(384*j)       \
	MOVQ R12, AX        \
	MOVQ BX, DX         \
name:                   \
	TESTQ DX, DX        \
	JEQ   done          \
	F32STEP(32*j)       \
	ADDQ  $128, AX      \
	DECQ  DX            \
	JMP   name          \
done:                   \
	SAVE12(384*j)

// func dotF32x4x3KAVX2(w *float32, stride int, x *float32, xstride int, n int, out *float32, ostride int)
// As dotF32x4x3AVX2 (same arguments, same results), K-blocked.
TEXT ·dotF32x4x3KAVX2(SB), 0, $1536-56
	MOVQ w+0(FP), R8
	MOVQ stride+8(FP), BX
	SHLQ $2, BX
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), BX
	SHLQ $2, BX
	LEAQ (DI)(BX*1), R14
	LEAQ (R14)(BX*1), R15
	MOVQ n+32(FP), CX

	ZERO12
	SAVE12(0)
	SAVE12(384)
	SAVE12(768)
	SAVE12(1152)
	MOVQ CX, R13
	SHRQ $5, R13                   // full 32-value chunks left
	XORQ R12, R12                  // byte offset of the block

f32kblock:
	TESTQ R13, R13
	JEQ   f32kafter
	MOVQ  R13, BX
	CMPQ  BX, $16
	JLE   f32kfull
	MOVQ  $16, BX                  // chunks in this block (512 values)

f32kfull:
	KPASSF32(f32kp0, f32kp0e, 0)
	KPASSF32(f32kp1, f32kp1e, 1)
	KPASSF32(f32kp2, f32kp2e, 2)
	KPASSF32(f32kp3, f32kp3e, 3)
	SUBQ  BX, R13
	SHLQ  $7, BX
	ADDQ  BX, R12
	JMP   f32kblock

f32kafter:
	// The 8-value loop into acc0, then the reduction as dotF32x4x3AVX2.
	LOAD12(0)
	MOVQ R12, AX
	MOVQ CX, DX
	ANDQ $31, DX

f32kr8:
	CMPQ DX, $8
	JLT  f32kr8done
	F32STEP(0)
	ADDQ $32, AX
	SUBQ $8, DX
	JMP  f32kr8

f32kr8done:
	MOVQ AX, R12                   // scalar tail: offset
	MOVQ DX, R13                   // and length
	SAVE12(0)
	LOAD12(384)
	ADD12(0)                       // acc0 + acc1
	SAVE12(0)
	LOAD12(1152)
	ADD12(768)                     // acc2 + acc3
	ADD12(0)                       // (acc0+acc1) + (acc2+acc3)
	HSUM12
	MOVQ R12, AX
	MOVQ R13, DX

f32kttail:
	TESTQ  DX, DX
	JEQ    f32ktstore
	VMOVSS (DI)(AX*1), X12
	VMOVSS (R14)(AX*1), X13
	VMOVSS (R15)(AX*1), X14
	VMOVSS (R8)(AX*1), X15
	SFMA3(X0, X1, X2)
	VMOVSS (R9)(AX*1), X15
	SFMA3(X3, X4, X5)
	VMOVSS (R10)(AX*1), X15
	SFMA3(X6, X7, X8)
	VMOVSS (R11)(AX*1), X15
	SFMA3(X9, X10, X11)
	ADDQ   $4, AX
	DECQ   DX
	JMP    f32kttail

f32ktstore:
	MOVQ out+40(FP), SI
	MOVQ ostride+48(FP), BX
	SHLQ $2, BX
	STORE12
	VZEROUPPER
	RET
