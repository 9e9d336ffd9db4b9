/*
 * tb_bgemm_armv7m_core.S - the inner loop of the armv7m family on Thumb-2 cores (Cortex-M3/M4/M7/M33/M55).
 *
 *   void tb_armv7m_pops(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, uint32_t *pop);
 *   uint32_t tb_armv7m_bits(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, const uint32_t *T);
 *
 * pop[o] = popcount(column XOR channel o) for o < n, from the encoded column xe and the encoded weights w
 * of n consecutive channels; shape = blocks | groups << 16. tb_armv7m_bits compares them with the
 * popcount-domain thresholds T (tb_opt_internal.h) instead and returns the bits. The encoding, the arithmetic and a portable C
 * version of exactly this loop are in tb_bgemm_armv7m.c (used on every other target); this file only
 * schedules it for Thumb-2: LDM loads three or four words in one instruction, the SWAR masks are modified
 * immediates, the shifts fold into the ALU operands, and USADA8 (DSP extension: M4/M7/M33/M55) adds the
 * four byte counts into the accumulator (on the M3 five plain instructions do).
 *
 * Registers: r0 column pointer (reset per channel), r1 weight pointer (runs through all n channels),
 * r2 accumulator, r3 loop counter, r12 zero (USADA8's second operand), r4-r11 and lr data.
 * Per nine-word block: 8 LDM, 6 (second level) + 15 (carries) + 5 (carry-save) + 2 x 10 (SWAR) + 7 (bytes)
 * ALU, 1 accumulate, 2 loop = 64 instructions for 288 binary MACs.
 */
#if defined(__thumb2__)

    .syntax unified
    .thumb
    .text

/* acc += sum of the four bytes of \f (each <= 255); \t is clobbered */
.macro ACCUMULATE f, t
#if defined(__ARM_FEATURE_DSP)
    usada8  r2, \f, r12, r2
#else
    and     \t, \f, #0x00FF00FF
    and     \f, \f, #0xFF00FF00
    add     \f, \t, \f, lsr #8
    add     \f, \f, \f, lsl #16
    add     r2, r2, \f, lsr #16
#endif
.endm

/* \n = per nibble pop(\s) + 2 pop(\k) (<= 12), from the product words \s and \k; \s, \k, \t clobbered */
.macro NIBBLES n, s, k, t
    and     \t, \s, #0xAAAAAAAA
    sub     \s, \s, \t, lsr #1          /* s: 2-bit counts */
    and     \t, \k, #0xAAAAAAAA
    sub     \k, \k, \t, lsr #1          /* k: 2-bit counts */
    add     \n, \s, \k, lsl #1          /* u = s + 2k */
    and     \s, \s, #0xCCCCCCCC
    and     \k, \k, #0xCCCCCCCC
    add     \k, \k, \s, lsr #1          /* v = 2 * (high fields of s + 2k) */
    sub     \n, \n, \k
    sub     \n, \n, \k, lsr #1          /* u - 3/2 v */
.endm

/* \m = the carry of one pre-encoded group: x0^w0 ^ ((x01^w01) & (x02^w02)) */
.macro CARRY m, x1, x2, w0, w1, w2
    eor     \m, \w0
    eor     \x1, \w1
    eor     \x2, \w2
    and     \x1, \x2
    eor     \m, \x1
.endm

/*
 * The count of one channel into r2: blocks then groups, from r0 (column, advanced) and r1 (weights,
 * advanced); the block and group counts (each >= 1 when its loop is assembled) are at [sp, #4] and [sp, #8].
 * Clobbers r3-r11, lr. Each function below has three copies of its channel loop, for blocks and groups,
 * blocks only and groups only, chosen once per call, so the loops carry no emptiness checks.
 */
.macro CHANNEL_COUNT blocks, groups
    movs    r2, #0
.if \blocks
    ldr     r3, [sp, #4]
.Lblock\@:
    /* second level: sA, sA^sB, sA^sG, S (4 + 4 words) -> K = sA ^ ((sA^sB) & (sA^sG)), S */
    ldmia   r0!, {r4-r7}
    ldmia   r1!, {r8-r11}
    eor     r4, r8
    eor     r5, r9
    eor     r6, r10
    eor     r7, r11
    and     r5, r6
    eor     r4, r5
    NIBBLES r5, r7, r4, r6              /* r5 = A = nib(S) + 2 nib(K) */
    /* first level: the carries mA, mB, mG of the three groups (3 + 3 words each) */
    ldmia   r0!, {r6-r8}
    ldmia   r1!, {r9-r11}
    CARRY   r6, r7, r8, r9, r10, r11    /* r6 = mA */
    ldmia   r0!, {r7-r9}
    ldmia   r1!, {r10, r11, lr}
    CARRY   r7, r8, r9, r10, r11, lr    /* r7 = mB */
    ldmia   r0!, {r8-r10}
    ldmia   r1!, {r4, r11, lr}
    CARRY   r8, r9, r10, r4, r11, lr    /* r8 = mG */
    /* carry-save adder: C2 = mA^mB^mG, C4 = maj = mA ^ ((mA^mB) & (mA^mG)) */
    eor     r4, r6, r7
    eor     r9, r6, r8
    eor     r8, r4, r8                  /* r8 = C2 */
    and     r4, r9
    eor     r6, r4                      /* r6 = C4 */
    NIBBLES r4, r8, r6, r9              /* r4 = B = nib(C2) + 2 nib(C4) */
    /* F = bytes(A) + 2 bytes(B) = (A + 2B) - 15 hi(A) - 30 hi(B)   (<= 72 per byte) */
    add     r6, r5, r4, lsl #1
    and     r5, r5, #0xF0F0F0F0
    and     r4, r4, #0xF0F0F0F0
    sub     r6, r6, r5
    add     r6, r6, r5, lsr #4
    sub     r6, r6, r4, lsl #1
    add     r6, r6, r4, lsr #3
    ACCUMULATE r6, r4
    subs    r3, #1
    bne     .Lblock\@
.endif
.if \groups
    ldr     r3, [sp, #8]
.Lgroup\@:
    /* one pre-encoded group of three words: s = X^W (sum), m = carry; pop = pop(s) + 2 pop(m) */
    ldmia   r0!, {r4-r7}
    ldmia   r1!, {r8-r11}
    eor     r7, r11
    CARRY   r4, r5, r6, r8, r9, r10
    NIBBLES r5, r7, r4, r6
    and     r4, r5, #0xF0F0F0F0
    sub     r5, r5, r4
    add     r5, r5, r4, lsr #4          /* bytes (<= 24) */
    ACCUMULATE r5, r4
    subs    r3, #1
    bne     .Lgroup\@
.endif
.endm

/* Frame: [sp] column, blocks, groups, then per function: pop pointer and channels left / T pointer, word. */
.macro ENTER
    push    {r4-r11, lr}
    sub     sp, sp, #20
    ldr     r4, [sp, #56]               /* the fifth argument */
    uxth    r5, r2
    lsrs    r6, r2, #16
    str     r0, [sp, #0]
    str     r5, [sp, #4]
    str     r6, [sp, #8]
    str     r4, [sp, #16]
    mov     r12, #0
.endm

/* Branch to \both, \blocks or \groups by which counts are non-zero (r5 = blocks, r6 = groups). */
.macro DISPATCH both, blocks, groups
    cmp     r6, #0
    beq     \blocks
    cmp     r5, #0
    beq     \groups
    b       \both
.endm

.macro POPS_LOOP blocks, groups
1:
    ldr     r0, [sp, #0]
    CHANNEL_COUNT \blocks, \groups
    ldr     r4, [sp, #16]
    str     r2, [r4], #4
    str     r4, [sp, #16]
    ldr     r4, [sp, #12]
    subs    r4, #1
    str     r4, [sp, #12]
    bne     1b
    add     sp, sp, #20
    pop     {r4-r11, pc}
.endm

/* void tb_armv7m_pops(xe, w, shape, n, uint32_t *pop): pop[o] for o < n */
    .global tb_armv7m_pops
    .type   tb_armv7m_pops, %function
    .thumb_func
tb_armv7m_pops:
    ENTER
    str     r3, [sp, #12]               /* channels left */
    cmp     r3, #0
    ble     .Lpops_end
    DISPATCH .Lpops_both, .Lpops_blocks, .Lpops_groups
.Lpops_both:
    POPS_LOOP 1, 1
.Lpops_blocks:
    POPS_LOOP 1, 0
.Lpops_groups:
    POPS_LOOP 0, 1
.Lpops_end:
    add     sp, sp, #20
    pop     {r4-r11, pc}
    .size   tb_armv7m_pops, . - tb_armv7m_pops

.macro BITS_LOOP blocks, groups
1:
    ldr     r0, [sp, #0]
    CHANNEL_COUNT \blocks, \groups
    ldr     r4, [sp, #16]
    ldr     r5, [r4], #4
    str     r4, [sp, #16]
    ldr     r6, [sp, #12]
    cmp     r2, r5                      /* C = pop >= T (unsigned) */
    rrxs    r6, r6                      /* C in at bit 31; C = the bit shifted out */
    str     r6, [sp, #12]
    bcc     1b
    mov     r0, r6
    add     sp, sp, #20
    pop     {r4-r11, pc}
.endm

/*
 * uint32_t tb_armv7m_bits(xe, w, shape, n, const uint32_t *T), 1 <= n <= 32: the n bits (pop[o] >= T[o])
 * in bits 32 - n .. 31, channel 0 lowest (the caller shifts right by 32 - n). A sentinel bit set at n - 1
 * leaves bit 0 through the carry on the n-th RRXS, which also shifts each channel's compare result in at
 * the top: no channel counter.
 */
    .global tb_armv7m_bits
    .type   tb_armv7m_bits, %function
    .thumb_func
tb_armv7m_bits:
    ENTER
    subs    r3, #1
    movs    r4, #1
    lsl     r4, r4, r3
    str     r4, [sp, #12]               /* the output word, with its sentinel */
    DISPATCH .Lbits_both, .Lbits_blocks, .Lbits_groups
.Lbits_both:
    BITS_LOOP 1, 1
.Lbits_blocks:
    BITS_LOOP 1, 0
.Lbits_groups:
    BITS_LOOP 0, 1
    .size   tb_armv7m_bits, . - tb_armv7m_bits

#endif /* __thumb2__ */
