// Batched Q4_K·Q8_K dots for prompt processing, eight weight rows per
// vector (as q0x8_amd64.s). The one-row algorithm (dotQ45K) keeps, per
// super-block, eight int32 sums aux[k] over the positions ≡ k mod 8 of
// each 32-value sub-block, scaled by the sub-block's 6-bit scale, and eight
// float lanes sums[k] += d·float(aux[k]); the mins go into a scalar
// sumf -= (dmin·yd)·float(Σ bsums·mins); the result is sumf + sums[0] + ...
// + sums[7]. Here lane r of every vector is weight row r: a tile of eight
// rows is repacked once (repackQ4_Kx8AVX2 and q4kx8_amd64.go) so that for
// sub-block t and position class k a vector holds each row's four nibbles
// at positions k, 8+k, 16+k, 24+k; each activation's super-blocks are
// permuted the same way (repackQ8_Kx8AVX2) so that one VPBROADCASTD gives
// the four matching quants. VPMADDUBSW then VPMADDWD by the rows' scales
// gives s·Σq·y of one class per lane, so aux[k] of the eight rows is one
// vector and the float steps run on eight rows at once, in the one-row
// order: bit-identical to dotQ4_KQ8_KGo.
//
// Repacked super-block (2624 bytes): d at 0 and dmin at 32 (8 float32),
// mins at 64+32m (int16 pairs min,min), scales at 320+32t (int16 pairs),
// nibbles at 576+32(8t+k).

#include "textflag.h"

DATA q4kx8nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kx8nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kx8nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kx8nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4kx8nib<>(SB), RODATA|NOPTR, $32

// Byte order (p, p+8) for p < 8 in each 128-bit half.
DATA q4kx8m1<>+0(SB)/8, $0x0b030a0209010800
DATA q4kx8m1<>+8(SB)/8, $0x0f070e060d050c04
DATA q4kx8m1<>+16(SB)/8, $0x0b030a0209010800
DATA q4kx8m1<>+24(SB)/8, $0x0f070e060d050c04
GLOBL q4kx8m1<>(SB), RODATA|NOPTR, $32

// Word order 0,4,1,5,2,6,3,7 in each 128-bit half.
DATA q4kx8m2<>+0(SB)/8, $0x0b0a030209080100
DATA q4kx8m2<>+8(SB)/8, $0x0f0e07060d0c0504
DATA q4kx8m2<>+16(SB)/8, $0x0b0a030209080100
DATA q4kx8m2<>+24(SB)/8, $0x0f0e07060d0c0504
GLOBL q4kx8m2<>(SB), RODATA|NOPTR, $32

// CLASS(y): permute the 32 bytes of y so that dword k holds bytes k, 8+k,
// 16+k, 24+k.
#define CLASS(y) \
	VPSHUFB q4kx8m1<>(SB), y, y \
	VPERMQ  $0xd8, y, y         \
	VPSHUFB q4kx8m2<>(SB), y, y

// NIB(reg, off, shift, dst): the 32 nibbles of sub-block bytes off(reg)(SI*1)
// (low ones, or with shift the high ones), in position classes.
#define NIBLO(reg, off, dst) \
	VMOVDQU off(reg)(SI*1), dst       \
	VPAND   q4kx8nib<>(SB), dst, dst \
	CLASS(dst)

#define NIBHI(reg, off, dst) \
	VMOVDQU off(reg)(SI*1), dst       \
	VPSRLW  $4, dst, dst              \
	VPAND   q4kx8nib<>(SB), dst, dst \
	CLASS(dst)

// TRANSPOSE8: Y0..Y7 hold rows 0..7 as eight dwords each; afterwards
// Y(8+g) holds dword g of every row, row r in lane r.
#define TRANSPOSE8 \
	VPUNPCKLDQ  Y1, Y0, Y8         \
	VPUNPCKHDQ  Y1, Y0, Y9         \
	VPUNPCKLDQ  Y3, Y2, Y10        \
	VPUNPCKHDQ  Y3, Y2, Y11        \
	VPUNPCKLDQ  Y5, Y4, Y12        \
	VPUNPCKHDQ  Y5, Y4, Y13        \
	VPUNPCKLDQ  Y7, Y6, Y14        \
	VPUNPCKHDQ  Y7, Y6, Y15        \
	VPUNPCKLQDQ Y10, Y8, Y0        \
	VPUNPCKHQDQ Y10, Y8, Y1        \
	VPUNPCKLQDQ Y11, Y9, Y2        \
	VPUNPCKHQDQ Y11, Y9, Y3        \
	VPUNPCKLQDQ Y14, Y12, Y4       \
	VPUNPCKHQDQ Y14, Y12, Y5       \
	VPUNPCKLQDQ Y15, Y13, Y6       \
	VPUNPCKHQDQ Y15, Y13, Y7       \
	VPERM2I128  $0x20, Y4, Y0, Y8  \
	VPERM2I128  $0x20, Y5, Y1, Y9  \
	VPERM2I128  $0x20, Y6, Y2, Y10 \
	VPERM2I128  $0x20, Y7, Y3, Y11 \
	VPERM2I128  $0x31, Y4, Y0, Y12 \
	VPERM2I128  $0x31, Y5, Y1, Y13 \
	VPERM2I128  $0x31, Y6, Y2, Y14 \
	VPERM2I128  $0x31, Y7, Y3, Y15

// STORE8(off): off+32g(DI) = Y(8+g).
#define STORE8(off) \
	VMOVDQU Y8, off(DI)      \
	VMOVDQU Y9, off+32(DI)   \
	VMOVDQU Y10, off+64(DI)  \
	VMOVDQU Y11, off+96(DI)  \
	VMOVDQU Y12, off+128(DI) \
	VMOVDQU Y13, off+160(DI) \
	VMOVDQU Y14, off+192(DI) \
	VMOVDQU Y15, off+224(DI)

// SUBLO/SUBHI(off, t): sub-block t (nibbles of bytes off..off+31) of the
// eight rows, transposed into 576+256t(DI).
#define SUBLO(off, t) \
	NIBLO(R8, off, Y0)  \
	NIBLO(R9, off, Y1)  \
	NIBLO(R10, off, Y2) \
	NIBLO(R11, off, Y3) \
	NIBLO(R12, off, Y4) \
	NIBLO(R13, off, Y5) \
	NIBLO(R14, off, Y6) \
	NIBLO(R15, off, Y7) \
	TRANSPOSE8          \
	STORE8(576+256*t)

#define SUBHI(off, t) \
	NIBHI(R8, off, Y0)  \
	NIBHI(R9, off, Y1)  \
	NIBHI(R10, off, Y2) \
	NIBHI(R11, off, Y3) \
	NIBHI(R12, off, Y4) \
	NIBHI(R13, off, Y5) \
	NIBHI(R14, off, Y6) \
	NIBHI(R15, off, Y7) \
	TRANSPOSE8          \
	STORE8(576+256*t)

// HALVES8(off, dst): the eight rows' F16 at off(Rr)(SI*1) as float32 at dst(DI).
#define HALVES8(off, dst) \
	MOVWLZX   off(R8)(SI*1), AX          \
	VMOVD     AX, X0                     \
	VPINSRW   $1, off(R9)(SI*1), X0, X0  \
	VPINSRW   $2, off(R10)(SI*1), X0, X0 \
	VPINSRW   $3, off(R11)(SI*1), X0, X0 \
	VPINSRW   $4, off(R12)(SI*1), X0, X0 \
	VPINSRW   $5, off(R13)(SI*1), X0, X0 \
	VPINSRW   $6, off(R14)(SI*1), X0, X0 \
	VPINSRW   $7, off(R15)(SI*1), X0, X0 \
	VCVTPH2PS X0, Y0                     \
	VMOVUPS   Y0, dst(DI)

// STEP(t, k, acc): acc += s_t · Σ (nibbles of class k) · (quants of class
// k) for the eight rows; Y8 = the scales of sub-block t, SI = the permuted
// activation super-block.
#define STEP(t, k, acc) \
	VPBROADCASTD 32*t+4*k(SI), Y9            \
	VMOVDQU      576+256*t+32*k(DI), Y10     \
	VPMADDUBSW   Y9, Y10, Y10                \
	VPMADDWD     Y8, Y10, Y10                \
	VPADDD       Y10, acc, acc

#define SUB(t) \
	VMOVDQU 320+32*t(DI), Y8 \
	STEP(t, 0, Y0)           \
	STEP(t, 1, Y1)           \
	STEP(t, 2, Y2)           \
	STEP(t, 3, Y3)           \
	STEP(t, 4, Y4)           \
	STEP(t, 5, Y5)           \
	STEP(t, 6, Y6)           \
	STEP(t, 7, Y7)

// MINS(m): Y11 += min_m · (bsum 2m + bsum 2m+1) of the activation (DX).
#define MINS(m) \
	VPBROADCASTD 260+4*m(DX), Y9 \
	VPMADDWD     64+32*m(DI), Y9, Y9 \
	VPADDD       Y9, Y11, Y11

// LANE(k, acc): sums[k] (frame) += d·float(acc), Y13 = d (eight rows).
#define LANE(k, acc) \
	VCVTDQ2PS acc, acc           \
	VMULPS    Y13, acc, acc      \
	VADDPS    32*k(SP), acc, acc \
	VMOVUPS   acc, 32*k(SP)

// func repackQ4_Kx8AVX2(w *byte, stride int, nsb int, dst *byte)
// Eight Q4_K rows at w+r*stride, nsb ≥ 1 super-blocks: d, dmin and the
// nibbles of each into dst (2624 bytes a super-block; the scales and mins
// are q4kx8_amd64.go's).
TEXT ·repackQ4_Kx8AVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), R8
	MOVQ stride+8(FP), BX
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	LEAQ (R12)(BX*1), R13
	LEAQ (R13)(BX*1), R14
	LEAQ (R14)(BX*1), R15
	MOVQ nsb+16(FP), CX
	MOVQ dst+24(FP), DI
	XORQ SI, SI

rq4kloop:
	HALVES8(0, 0)
	HALVES8(2, 32)
	SUBLO(16, 0)
	SUBHI(16, 1)
	SUBLO(48, 2)
	SUBHI(48, 3)
	SUBLO(80, 4)
	SUBHI(80, 5)
	SUBLO(112, 6)
	SUBHI(112, 7)
	ADDQ $144, SI
	ADDQ $2624, DI
	DECQ CX
	JNE  rq4kloop
	VZEROUPPER
	RET

// func repackQ8_Kx8AVX2(y *byte, nsb int, dst *byte)
// The 256 quants of each of nsb ≥ 1 Q8_K super-blocks at y, in position
// classes (CLASS per 32-value sub-block), into dst (256 bytes each).
TEXT ·repackQ8_Kx8AVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), SI
	MOVQ nsb+8(FP), CX
	MOVQ dst+16(FP), DI

rq8kloop:
	VMOVDQU 4(SI), Y0
	VMOVDQU 36(SI), Y1
	VMOVDQU 68(SI), Y2
	VMOVDQU 100(SI), Y3
	VMOVDQU 132(SI), Y4
	VMOVDQU 164(SI), Y5
	VMOVDQU 196(SI), Y6
	VMOVDQU 228(SI), Y7
	CLASS(Y0)
	CLASS(Y1)
	CLASS(Y2)
	CLASS(Y3)
	CLASS(Y4)
	CLASS(Y5)
	CLASS(Y6)
	CLASS(Y7)
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	ADDQ    $292, SI
	ADDQ    $256, DI
	DECQ    CX
	JNE     rq8kloop
	VZEROUPPER
	RET

// func gemmQ4_Kx8AVX2(w *byte, nsb int, yp *byte, ypstride int, y *byte, ystride int, nt int, out *float32, ostride int)
// Eight repacked Q4_K rows (nsb ≥ 1 super-blocks) against nt ≥ 1
// activations: permuted quants at yp+c*ypstride, the Q8_K blocks (d, bsums)
// at y+c*ystride; out[c*ostride+r] = row r · activation c.
TEXT ·gemmQ4_Kx8AVX2(SB), NOSPLIT, $288-72
	MOVQ yp+16(FP), R8
	MOVQ y+32(FP), R9
	MOVQ out+56(FP), R10
	MOVQ nt+48(FP), R11

gq4kact:
	VXORPS  Y0, Y0, Y0
	VMOVUPS Y0, 0(SP)
	VMOVUPS Y0, 32(SP)
	VMOVUPS Y0, 64(SP)
	VMOVUPS Y0, 96(SP)
	VMOVUPS Y0, 128(SP)
	VMOVUPS Y0, 160(SP)
	VMOVUPS Y0, 192(SP)
	VMOVUPS Y0, 224(SP)
	VMOVUPS Y0, 256(SP)            // sumf
	MOVQ    w+0(FP), DI
	MOVQ    R8, SI
	MOVQ    R9, DX
	MOVQ    nsb+8(FP), CX

gq4ksb:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	SUB(0)
	SUB(1)
	SUB(2)
	SUB(3)
	SUB(4)
	SUB(5)
	SUB(6)
	SUB(7)
	VPXOR        Y11, Y11, Y11
	MINS(0)
	MINS(1)
	MINS(2)
	MINS(3)
	MINS(4)
	MINS(5)
	MINS(6)
	MINS(7)
	VBROADCASTSS (DX), Y12         // yd
	VMULPS       (DI), Y12, Y13    // d·yd
	LANE(0, Y0)
	LANE(1, Y1)
	LANE(2, Y2)
	LANE(3, Y3)
	LANE(4, Y4)
	LANE(5, Y5)
	LANE(6, Y6)
	LANE(7, Y7)
	VMULPS       32(DI), Y12, Y14  // dmin·yd
	VCVTDQ2PS    Y11, Y11
	VMULPS       Y11, Y14, Y14
	VMOVUPS      256(SP), Y15
	VSUBPS       Y14, Y15, Y15
	VMOVUPS      Y15, 256(SP)
	ADDQ         $2624, DI
	ADDQ         $256, SI
	ADDQ         $292, DX
	DECQ         CX
	JNE          gq4ksb

	// sumf + sums[0] + ... + sums[7], in order.
	VMOVUPS 256(SP), Y15
	VADDPS  0(SP), Y15, Y15
	VADDPS  32(SP), Y15, Y15
	VADDPS  64(SP), Y15, Y15
	VADDPS  96(SP), Y15, Y15
	VADDPS  128(SP), Y15, Y15
	VADDPS  160(SP), Y15, Y15
	VADDPS  192(SP), Y15, Y15
	VADDPS  224(SP), Y15, Y15
	VMOVUPS Y15, (R10)

	ADDQ ypstride+24(FP), R8
	ADDQ ystride+40(FP), R9
	MOVQ ostride+64(FP), AX
	LEAQ (R10)(AX*4), R10
	DECQ R11
	JNE  gq4kact
	VZEROUPPER
	RET
