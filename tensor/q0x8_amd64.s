// Batched Q4_0·Q8_0 and Q8_0·Q8_0 dots for prompt processing, eight weight
// rows per vector. A tile of eight rows is first repacked (once, for all
// the activations) so that lane r of a vector holds row r: the block's
// scales dx as float32, and for each group g of four values (g < 8) the
// rows' values 4g..4g+3 (Q4_0: the unsigned nibbles; Q8_0: |w| and w).
// Each activation's four values 4g..4g+3 are then broadcast to every lane
// and multiplied with VPMADDUBSW, so the sixteen-dot block sums of
// q4x4_amd64.s come out one row per lane with no horizontal sums, and the
// per-block float step runs on eight rows at once:
//
//	Q4_0: sumf += (float(s)*dx)*dy, s = Σq·y - 8·Σy
//	Q8_0: sumf += float(s)*(dx*dy)
//
// lane by lane in the one-row kernels' order (exact integer sums, the same
// float operations), so each output is bit-identical to dotQ of its row.

#include "textflag.h"

DATA q0x8nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q0x8nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q0x8nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q0x8nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q0x8nib<>(SB), RODATA|NOPTR, $32

DATA q0x8c8<>+0(SB)/8, $0x0808080808080808
DATA q0x8c8<>+8(SB)/8, $0x0808080808080808
DATA q0x8c8<>+16(SB)/8, $0x0808080808080808
DATA q0x8c8<>+24(SB)/8, $0x0808080808080808
GLOBL q0x8c8<>(SB), RODATA|NOPTR, $32

DATA q0x8ones<>+0(SB)/8, $0x0001000100010001
DATA q0x8ones<>+8(SB)/8, $0x0001000100010001
DATA q0x8ones<>+16(SB)/8, $0x0001000100010001
DATA q0x8ones<>+24(SB)/8, $0x0001000100010001
GLOBL q0x8ones<>(SB), RODATA|NOPTR, $32

DATA q0x8shift<>+0(SB)/8, $0
DATA q0x8shift<>+8(SB)/8, $0
DATA q0x8shift<>+16(SB)/8, $4
DATA q0x8shift<>+24(SB)/8, $4
GLOBL q0x8shift<>(SB), RODATA|NOPTR, $32

// ROWS8: R8..R15 = w + r*stride (r < 8), from w+0(FP) and stride+8(FP).
#define ROWS8 \
	MOVQ w+0(FP), R8       \
	MOVQ stride+8(FP), BX  \
	LEAQ (R8)(BX*1), R9    \
	LEAQ (R9)(BX*1), R10   \
	LEAQ (R10)(BX*1), R11  \
	LEAQ (R11)(BX*1), R12  \
	LEAQ (R12)(BX*1), R13  \
	LEAQ (R13)(BX*1), R14  \
	LEAQ (R14)(BX*1), R15

// SCALES8: (DI) = the eight rows' block scales (F16 at (Rr)(SI*1)) as
// float32.
#define SCALES8 \
	MOVWLZX   (R8)(SI*1), AX            \
	VMOVD     AX, X0                    \
	VPINSRW   $1, (R9)(SI*1), X0, X0    \
	VPINSRW   $2, (R10)(SI*1), X0, X0   \
	VPINSRW   $3, (R11)(SI*1), X0, X0   \
	VPINSRW   $4, (R12)(SI*1), X0, X0   \
	VPINSRW   $5, (R13)(SI*1), X0, X0   \
	VPINSRW   $6, (R14)(SI*1), X0, X0   \
	VPINSRW   $7, (R15)(SI*1), X0, X0   \
	VCVTPH2PS X0, Y0                    \
	VMOVUPS   Y0, (DI)

// UNPACK(reg, dst): the 32 nibbles of the Q4_0 block at (reg)(SI*1) in
// value order (low nibbles, then high ones).
#define UNPACK(reg, dst) \
	VBROADCASTI128 2(reg)(SI*1), dst          \
	VPSRLVQ        q0x8shift<>(SB), dst, dst \
	VPAND          q0x8nib<>(SB), dst, dst

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

// QSTORE(y, off): |y| at off(DI), y at off+32(DI).
#define QSTORE(y, off) \
	VPABSB  y, Y0         \
	VMOVDQU Y0, off(DI)   \
	VMOVDQU y, off+32(DI)

// ACTS4: R8..R11 = the four activation rows y + c*ystride; AX = 0 (their
// block offset).
#define ACTS4 \
	MOVQ y+16(FP), R8         \
	MOVQ ystride+24(FP), BX   \
	LEAQ (R8)(BX*1), R9       \
	LEAQ (R9)(BX*1), R10      \
	LEAQ (R10)(BX*1), R11     \
	XORQ AX, AX

// STORE4: out + c*ostride (float32 elements) = the sums of activation c
// (Y4..Y7), eight rows each.
#define STORE4 \
	MOVQ    out+32(FP), DI     \
	MOVQ    ostride+40(FP), BX \
	SHLQ    $2, BX             \
	VMOVUPS Y4, (DI)           \
	ADDQ    BX, DI             \
	VMOVUPS Y5, (DI)           \
	ADDQ    BX, DI             \
	VMOVUPS Y6, (DI)           \
	ADDQ    BX, DI             \
	VMOVUPS Y7, (DI)

// G4(g, c, acc): acc (int16) += the four nibbles 4g.. of each row times
// activation c's values 4g..4g+3 (Rc), pair sums from VPMADDUBSW; Y8 =
// the nibble vector.
#define G4(g, reg, acc) \
	VPBROADCASTD 2+4*g(reg)(AX*1), Y10 \
	VPMADDUBSW   Y10, Y8, Y10           \
	VPADDW       Y10, acc, acc

#define G4ALL(g) \
	VMOVDQU 32+32*g(DI), Y8 \
	G4(g, R8, Y0)            \
	G4(g, R9, Y1)            \
	G4(g, R10, Y2)           \
	G4(g, R11, Y3)

// F4(reg, creg, acc, sum): the Q4_0 float step of activation reg: acc =
// Σq·y (int16 pairs) minus 8·Σy (precomputed at (creg)(SI*1)), then
// sum += (float(acc)*dx)*dy.
#define F4(reg, creg, acc, sum) \
	VPMADDWD     Y12, acc, acc      \
	VPBROADCASTD (creg)(SI*1), Y10  \
	VPSUBD       Y10, acc, acc      \
	VCVTDQ2PS    acc, acc           \
	VMULPS       (DI), acc, acc     \
	VPBROADCASTW (reg)(AX*1), X13   \
	VCVTPH2PS    X13, Y13           \
	VMULPS       Y13, acc, acc      \
	VADDPS       acc, sum, sum

// G8(g, reg, acc): acc (int32) += |w|·(y·sign(w)) for values 4g..4g+3 of
// activation reg; Y8 = |w|, Y9 = w of group g.
#define G8(g, reg, acc) \
	VPBROADCASTD 2+4*g(reg)(AX*1), Y10 \
	VPSIGNB      Y9, Y10, Y10           \
	VPMADDUBSW   Y10, Y8, Y10           \
	VPMADDWD     Y12, Y10, Y10          \
	VPADDD       Y10, acc, acc

#define G8ALL(g) \
	VMOVDQU 32+64*g(DI), Y8 \
	VMOVDQU 64+64*g(DI), Y9 \
	G8(g, R8, Y0)            \
	G8(g, R9, Y1)            \
	G8(g, R10, Y2)           \
	G8(g, R11, Y3)

// F8(reg, acc, sum): sum += float(acc)*(dx*dy).
#define F8(reg, acc, sum) \
	VCVTDQ2PS    acc, acc         \
	VPBROADCASTW (reg)(AX*1), X13 \
	VCVTPH2PS    X13, Y13         \
	VMULPS       (DI), Y13, Y13   \
	VMULPS       Y13, acc, acc    \
	VADDPS       acc, sum, sum

// func repackQ4_0x8AVX2(w *byte, stride int, nb int, dst *byte)
// Eight Q4_0 rows at w+r*stride, nb ≥ 1 blocks, into dst: 288 bytes a
// block, the scales at 0, the nibbles of values 4g..4g+3 at 32+32g.
TEXT ·repackQ4_0x8AVX2(SB), NOSPLIT, $0-32
	ROWS8
	MOVQ nb+16(FP), CX
	MOVQ dst+24(FP), DI
	XORQ SI, SI

rq4loop:
	SCALES8
	UNPACK(R8, Y0)
	UNPACK(R9, Y1)
	UNPACK(R10, Y2)
	UNPACK(R11, Y3)
	UNPACK(R12, Y4)
	UNPACK(R13, Y5)
	UNPACK(R14, Y6)
	UNPACK(R15, Y7)
	TRANSPOSE8
	VMOVDQU Y8, 32(DI)
	VMOVDQU Y9, 64(DI)
	VMOVDQU Y10, 96(DI)
	VMOVDQU Y11, 128(DI)
	VMOVDQU Y12, 160(DI)
	VMOVDQU Y13, 192(DI)
	VMOVDQU Y14, 224(DI)
	VMOVDQU Y15, 256(DI)
	ADDQ    $18, SI
	ADDQ    $288, DI
	DECQ    CX
	JNE     rq4loop
	VZEROUPPER
	RET

// func repackQ8_0x8AVX2(w *byte, stride int, nb int, dst *byte)
// Eight Q8_0 rows, nb ≥ 1 blocks, into dst: 544 bytes a block, the scales
// at 0, then for values 4g..4g+3 the magnitudes at 32+64g and the signed
// quants at 64+64g.
TEXT ·repackQ8_0x8AVX2(SB), NOSPLIT, $0-32
	ROWS8
	MOVQ nb+16(FP), CX
	MOVQ dst+24(FP), DI
	XORQ SI, SI

rq8loop:
	SCALES8
	VMOVDQU 2(R8)(SI*1), Y0
	VMOVDQU 2(R9)(SI*1), Y1
	VMOVDQU 2(R10)(SI*1), Y2
	VMOVDQU 2(R11)(SI*1), Y3
	VMOVDQU 2(R12)(SI*1), Y4
	VMOVDQU 2(R13)(SI*1), Y5
	VMOVDQU 2(R14)(SI*1), Y6
	VMOVDQU 2(R15)(SI*1), Y7
	TRANSPOSE8
	QSTORE(Y8, 32)
	QSTORE(Y9, 96)
	QSTORE(Y10, 160)
	QSTORE(Y11, 224)
	QSTORE(Y12, 288)
	QSTORE(Y13, 352)
	QSTORE(Y14, 416)
	QSTORE(Y15, 480)
	ADDQ $34, SI
	ADDQ $544, DI
	DECQ CX
	JNE  rq8loop
	VZEROUPPER
	RET

// func gemmQ4_0x8x4AVX2(buf *byte, nb int, y *byte, ystride int, corr *int32, cstride int, out *float32, ostride int)
// Eight repacked Q4_0 rows (repackQ4_0x8AVX2, nb ≥ 1 blocks) against four
// Q8_0 activation rows y+c*ystride, whose blocks' 8·Σy are at
// corr+c*cstride (bytes; sum8Q8_0AVX2): out[c*ostride+r] = row r · act c.
TEXT ·gemmQ4_0x8x4AVX2(SB), NOSPLIT, $0-64
	MOVQ    buf+0(FP), DI
	MOVQ    nb+8(FP), CX
	ACTS4
	MOVQ    corr+32(FP), R12
	MOVQ    cstride+40(FP), BX
	LEAQ    (R12)(BX*1), R13
	LEAQ    (R13)(BX*1), R14
	LEAQ    (R14)(BX*1), R15
	XORQ    SI, SI
	VMOVDQU q0x8ones<>(SB), Y12
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7

gq4loop:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	G4ALL(0)
	G4ALL(1)
	G4ALL(2)
	G4ALL(3)
	G4ALL(4)
	G4ALL(5)
	G4ALL(6)
	G4ALL(7)
	F4(R8, R12, Y0, Y4)
	F4(R9, R13, Y1, Y5)
	F4(R10, R14, Y2, Y6)
	F4(R11, R15, Y3, Y7)
	ADDQ $288, DI
	ADDQ $34, AX
	ADDQ $4, SI
	DECQ CX
	JNE  gq4loop

	MOVQ    out+48(FP), DI
	MOVQ    ostride+56(FP), BX
	SHLQ    $2, BX
	VMOVUPS Y4, (DI)
	ADDQ    BX, DI
	VMOVUPS Y5, (DI)
	ADDQ    BX, DI
	VMOVUPS Y6, (DI)
	ADDQ    BX, DI
	VMOVUPS Y7, (DI)
	VZEROUPPER
	RET

// func sum8Q8_0AVX2(y *byte, ystride int, nt int, nb int, dst *int32)
// dst[c*nb+b] = 8·Σ of the 32 quants of block b of activation row
// y+c*ystride, for nt ≥ 1 rows of nb ≥ 1 Q8_0 blocks (Q4_0's offset term).
TEXT ·sum8Q8_0AVX2(SB), NOSPLIT, $0-40
	MOVQ    y+0(FP), SI
	MOVQ    ystride+8(FP), BX
	MOVQ    nt+16(FP), R8
	MOVQ    nb+24(FP), R9
	MOVQ    dst+32(FP), DI
	VMOVDQU q0x8c8<>(SB), Y9
	VMOVDQU q0x8ones<>(SB), Y12

s8act:
	MOVQ SI, AX
	MOVQ R9, CX

s8blk:
	VMOVDQU      2(AX), Y10
	VPMADDUBSW   Y10, Y9, Y10
	VPMADDWD     Y12, Y10, Y10
	VEXTRACTI128 $1, Y10, X11
	VPADDD       X11, X10, X10
	VPSHUFD      $0x4e, X10, X11
	VPADDD       X11, X10, X10
	VPSHUFD      $0xb1, X10, X11
	VPADDD       X11, X10, X10
	VMOVD        X10, (DI)
	ADDQ         $4, DI
	ADDQ         $34, AX
	DECQ         CX
	JNE          s8blk
	ADDQ         BX, SI
	DECQ         R8
	JNE          s8act
	VZEROUPPER
	RET

// func gemmQ8_0x8x4AVX2(buf *byte, nb int, y *byte, ystride int, out *float32, ostride int)
// As gemmQ4_0x8x4AVX2 for Q8_0 rows (repackQ8_0x8AVX2). Exact when no
// activation quant is -128 (|y·sign(w)| <= 127 keeps VPMADDUBSW's pair
// sums within int16), which the Q8_0 quantizers never produce; see
// dotQ8_0Q8_0x4x4AVX2.
TEXT ·gemmQ8_0x8x4AVX2(SB), NOSPLIT, $0-48
	MOVQ    buf+0(FP), DI
	MOVQ    nb+8(FP), CX
	ACTS4
	VMOVDQU q0x8ones<>(SB), Y12
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7

gq8loop:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	G8ALL(0)
	G8ALL(1)
	G8ALL(2)
	G8ALL(3)
	G8ALL(4)
	G8ALL(5)
	G8ALL(6)
	G8ALL(7)
	F8(R8, Y0, Y4)
	F8(R9, Y1, Y5)
	F8(R10, Y2, Y6)
	F8(R11, Y3, Y7)
	ADDQ $544, DI
	ADDQ $34, AX
	DECQ CX
	JNE  gq8loop

	STORE4
	VZEROUPPER
	RET

// func prefetchT1(p *byte, n int)
// Hints the n bytes at p into L2 (PREFETCHT1 per 64-byte line): a tile's
// next weight rows come from memory while the current ones compute, where
// the repack alone would wait for them.
TEXT ·prefetchT1(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX

pfloop:
	CMPQ       SI, CX
	JAE        pfdone
	PREFETCHT1 (SI)
	ADDQ       $64, SI
	JMP        pfloop

pfdone:
	RET
