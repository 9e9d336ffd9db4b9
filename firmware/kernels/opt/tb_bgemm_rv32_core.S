/*
 * tb_bgemm_rv32_core.S - the inner loop of the rv32 kernels (tb_bgemm_rv32.c) for RV32 cores (RV32I and up, not RV32E).
 *
 * The portable C of tb_bgemm_rv32.c is the specification (same arithmetic, same results): this file only
 * keeps every value in a register. GCC spills the per-pair state around the block loop when it inlines it
 * (the 3x3 conv 64->64 of tinybnn bench: 3.66 M instructions with the C, 3.48 M with this); here the 28
 * usable registers hold the pointers, the four SWAR masks, the two channels' sums and a block's temporaries.
 *
 *   uint32_t tb_rv32_lt(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, const uint32_t *T)
 *       bit i = (pop_i < T[i]) for i < n (bits at and above n unspecified)
 *   void tb_rv32_pops(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, uint32_t *pop)
 *       pop[i] = pop_i for i < n
 * pop_i = popcount(column XOR channel i) from the encoded column xe and the encoded weights w (channel i at
 * w + i * (13 nb + 4 ng)); shape = nb | ng << 16: nb blocks of 13 words (nb <= the C file's
 * BLOCKS_PER_SUM: the halfword sums cannot overflow), then ng <= 3 groups of 4 words; n >= 1.
 *
 * Registers (both functions):
 *   a0 xe, a1 channel pair, a2 end of the column's blocks, s4 end of its groups, a3 channels left,
 *   a4 T or pop (channel i), ra T or pop (channel i + 1, or i for the last of an odd n), a5 bits,
 *   a6 / t3 the two channels' halfword sums, a7 bytes per channel,
 *   s0 0x55555555, s1 0xCCCCCCCC, s2 0x0F0F0F0F, s3 0x00FF00FF,
 *   t0 column, t1 / t2 the two channels' weights, t4-t6 and s5-s11 temporaries.
 */
#if defined(__riscv) && __riscv_xlen == 32 && !defined(__riscv_32e)

/* dst = the carry of the pre-encoded full adder (x0, x1, x2) ^ (w[off], w[off + 4], w[off + 8]):
 * p0 ^ (p1 & p2) of the product words; ta, tb clobbered */
.macro CARRY dst, x0, x1, x2, w, off, ta, tb
    lw      \ta, \off(\w)
    xor     \dst, \x0, \ta
    lw      \ta, \off+4(\w)
    xor     \ta, \x1, \ta
    lw      \tb, \off+8(\w)
    xor     \tb, \x2, \tb
    and     \ta, \ta, \tb
    xor     \dst, \dst, \ta
.endm

/* s = per nibble pop(s) + 2 pop(k) (<= 12); k and t clobbered */
.macro NIBBLES s, k, t
    srli    \t, \s, 1
    and     \t, \t, s0
    sub     \s, \s, \t          /* s2: 2-bit counts of s */
    srli    \t, \k, 1
    and     \t, \t, s0
    sub     \k, \k, \t          /* k2 */
    and     \t, \s, s1
    srli    \t, \t, 1           /* (s2 & 0xCC..) >> 1 */
    add     \s, \s, \k
    add     \s, \s, \k          /* u = s2 + 2 k2 */
    and     \k, \k, s1
    add     \t, \t, \k          /* v */
    sub     \s, \s, \t
    srli    \t, \t, 1
    sub     \s, \s, \t          /* u - v - v / 2 */
.endm

/* n = per byte the sum of its two nibbles; t clobbered */
.macro BYTES n, t
    srli    \t, \n, 4
    and     \t, \t, s2
    and     \n, \n, s2
    add     \n, \n, \t
.endm

/* b = per halfword the sum of its two bytes; t clobbered */
.macro HALVES b, t
    srli    \t, \b, 8
    and     \t, \t, s3
    and     \b, \b, s3
    add     \b, \b, \t
.endm

/* C2 = ma ^ mb ^ mg into mg, C4 = maj(ma, mb, mg) into ma; mb, ta clobbered */
.macro CSA ma, mb, mg, ta
    xor     \ta, \ma, \mb       /* t = ma ^ mb */
    xor     \mb, \ma, \mg       /* ma ^ mg */
    xor     \mg, \ta, \mg       /* C2 */
    and     \ta, \ta, \mb
    xor     \ma, \ma, \ta       /* C4 = ma ^ (t & (ma ^ mg)) */
.endm

/* the body of both functions after their "addi sp, sp, -64" (written after each label, where
 * tinybnn/targets/footprint.py reads the frame size); lt = 1: tb_rv32_lt, 0: tb_rv32_pops */
.macro BODY lt
    sw      ra, 60(sp)
    sw      s0, 56(sp)
    sw      s1, 52(sp)
    sw      s2, 48(sp)
    sw      s3, 44(sp)
    sw      s4, 40(sp)
    sw      s5, 36(sp)
    sw      s6, 32(sp)
    sw      s7, 28(sp)
    sw      s8, 24(sp)
    sw      s9, 20(sp)
    sw      s10, 16(sp)
    sw      s11, 12(sp)
    sw      a3, 8(sp)           /* n */
    li      s0, 0x55555555
    li      s1, 0xCCCCCCCC
    li      s2, 0x0F0F0F0F
    li      s3, 0x00FF00FF
    slli    t4, a2, 16
    srli    t4, t4, 16          /* nb */
    srli    t5, a2, 16          /* ng */
    slli    t6, t4, 1
    add     t6, t6, t4          /* 3 nb */
    slli    t6, t6, 2
    add     t6, t6, t4          /* 13 nb */
    slli    t6, t6, 2           /* 52 nb: bytes of the blocks */
    slli    t5, t5, 4           /* 16 ng: bytes of the groups */
    add     a7, t6, t5          /* bytes per channel */
    add     a2, a0, t6          /* end of the blocks */
    add     s4, a2, t5          /* end of the groups */
    li      a5, 0
1:  /* a pair of channels */
    mv      t0, a0
    mv      t1, a1
    add     t2, a1, a7
    addi    ra, a4, 4
    li      t4, 1
    bne     a3, t4, 2f
    mv      t2, t1              /* the last of an odd n: counted twice, kept once */
    mv      ra, a4
2:  li      a6, 0
    li      t3, 0
    beq     t0, a2, 4f
3:  /* a block: groups A (words 4..6), B (7..9), G (10..12), then the sums (0..3) */
    lw      s5, 16(t0)
    lw      s6, 20(t0)
    lw      s7, 24(t0)
    CARRY   s8, s5, s6, s7, t1, 16, t4, t5      /* mA, channel 0 */
    CARRY   s9, s5, s6, s7, t2, 16, t4, t5      /* mA, channel 1 */
    lw      s5, 28(t0)
    lw      s6, 32(t0)
    lw      s7, 36(t0)
    CARRY   s10, s5, s6, s7, t1, 28, t4, t5     /* mB, channel 0 */
    CARRY   s11, s5, s6, s7, t2, 28, t4, t5     /* mB, channel 1 */
    lw      s5, 40(t0)
    lw      s6, 44(t0)
    lw      s7, 48(t0)
    CARRY   t6, s5, s6, s7, t1, 40, t4, t5      /* mG, channel 0 */
    CSA     s8, s10, t6, t4                     /* C2 = t6, C4 = s8 */
    NIBBLES t6, s8, t4
    BYTES   t6, t4
    slli    s10, t6, 1                          /* channel 0: 2 (pop C2 + 2 pop C4) per byte */
    CARRY   t6, s5, s6, s7, t2, 40, t4, t5      /* mG, channel 1 */
    CSA     s9, s11, t6, t4
    NIBBLES t6, s9, t4
    BYTES   t6, t4
    slli    s11, t6, 1                          /* channel 1 */
    lw      s5, 0(t0)
    lw      s6, 4(t0)
    lw      s7, 8(t0)
    lw      s8, 12(t0)
    lw      t4, 12(t1)
    xor     t6, s8, t4                          /* S, channel 0 */
    CARRY   s9, s5, s6, s7, t1, 0, t4, t5       /* K */
    NIBBLES t6, s9, t4
    BYTES   t6, t4
    add     t6, t6, s10
    HALVES  t6, t4
    add     a6, a6, t6
    lw      t4, 12(t2)
    xor     t6, s8, t4                          /* S, channel 1 */
    CARRY   s9, s5, s6, s7, t2, 0, t4, t5
    NIBBLES t6, s9, t4
    BYTES   t6, t4
    add     t6, t6, s11
    HALVES  t6, t4
    add     t3, t3, t6
    addi    t0, t0, 52
    addi    t1, t1, 52
    addi    t2, t2, 52
    bne     t0, a2, 3b
4:  beq     t0, s4, 6f
    li      s10, 0
    li      s11, 0
5:  /* a group of three words: pop(s) + 2 pop(m) */
    lw      s5, 0(t0)
    lw      s6, 4(t0)
    lw      s7, 8(t0)
    lw      s8, 12(t0)
    lw      t4, 12(t1)
    xor     t6, s8, t4
    CARRY   s9, s5, s6, s7, t1, 0, t4, t5
    NIBBLES t6, s9, t4
    BYTES   t6, t4
    add     s10, s10, t6
    lw      t4, 12(t2)
    xor     t6, s8, t4
    CARRY   s9, s5, s6, s7, t2, 0, t4, t5
    NIBBLES t6, s9, t4
    BYTES   t6, t4
    add     s11, s11, t6
    addi    t0, t0, 16
    addi    t1, t1, 16
    addi    t2, t2, 16
    bne     t0, s4, 5b
    HALVES  s10, t4
    add     a6, a6, s10
    HALVES  s11, t4
    add     t3, t3, s11
6:  /* the two popcounts: the sums of the halfwords */
    slli    t4, a6, 16
    add     a6, a6, t4
    srli    a6, a6, 16
    slli    t4, t3, 16
    add     t3, t3, t4
    srli    t3, t3, 16
.if \lt
    lw      t4, 0(a4)
    lw      t5, 0(ra)
    sltu    t4, a6, t4
    sltu    t5, t3, t5
    slli    t4, t4, 30
    slli    t5, t5, 31
    srli    a5, a5, 2
    or      a5, a5, t4
    or      a5, a5, t5
.else
    sw      t3, 0(ra)
    sw      a6, 0(a4)
.endif
    addi    a4, a4, 8
    add     a1, a1, a7
    add     a1, a1, a7
    addi    a3, a3, -2
    bgtz    a3, 1b
.if \lt
    lw      t4, 8(sp)
    addi    t4, t4, 1
    andi    t4, t4, -2          /* 2 * pairs */
    li      t5, 32
    sub     t4, t5, t4
    srl     a0, a5, t4          /* the pairs' bits, from the top down to bit 0 */
.endif
    lw      ra, 60(sp)
    lw      s0, 56(sp)
    lw      s1, 52(sp)
    lw      s2, 48(sp)
    lw      s3, 44(sp)
    lw      s4, 40(sp)
    lw      s5, 36(sp)
    lw      s6, 32(sp)
    lw      s7, 28(sp)
    lw      s8, 24(sp)
    lw      s9, 20(sp)
    lw      s10, 16(sp)
    lw      s11, 12(sp)
    addi    sp, sp, 64
    ret
.endm

    .section .text.tb_rv32_lt, "ax", @progbits
    .globl  tb_rv32_lt
    .type   tb_rv32_lt, @function
    .p2align 1
tb_rv32_lt:
    addi    sp, sp, -64
    BODY    1
    .size   tb_rv32_lt, . - tb_rv32_lt

    .section .text.tb_rv32_pops, "ax", @progbits
    .globl  tb_rv32_pops
    .type   tb_rv32_pops, @function
    .p2align 1
tb_rv32_pops:
    addi    sp, sp, -64
    BODY    0
    .size   tb_rv32_pops, . - tb_rv32_pops

#endif
