/* start.S - reset entry for the QEMU riscv32 "virt" machine (-bios none). */
    .section .text.start, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la t0, tb_rv_trap
    csrw mtvec, t0
    call tb_rv_start
1:  j 1b
