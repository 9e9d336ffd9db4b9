/*
 * tb_port.h - the ONLY target-specific API of tinybnn firmware.
 *
 * Everything outside firmware/port/ is portable C99 and talks to the device
 * through these functions.  One implementation per port family lives in
 * firmware/port/<family>/ (mps2, microbit, riscv-virt, arduino); the board
 * file (boards/<id>.json, key "port") selects the family.
 *
 * Program flow (identical on every port):
 *
 *     start-up (or Arduino setup())
 *       -> .data copy, .bss zero, stack painted with TB_STACK_PAINT
 *       -> tb_port_init()
 *       -> rc = tb_main()            <- the portable application
 *       -> tb_port_exit(rc)          <- QEMU exits with rc; hardware idles
 *
 * The application therefore defines `int tb_main(void)` and never `main`
 * (Arduino cores own `main`).
 *
 * Build-time macros supplied by the build (from the board file):
 *   TB_BOARD_ID        string, e.g. "qemu-m4"
 *   TB_EMULATED        1 under QEMU, 0 on hardware
 *   TB_CLOCK_HZ        core clock in Hz
 *   TB_TICK_NS_NUM/DEN nanoseconds per timer tick as a reduced fraction
 *                      (SysTick ports; QEMU -icount shift=0 => 1 instr = 1 ns)
 */
#ifndef TB_PORT_H
#define TB_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes owned by the port layer (the application uses 0..63). */
#define TB_EXIT_OK 0
#define TB_EXIT_FAULT 70 /* CPU fault or trap: "tb: fault" was printed */

/* Word written over the whole stack at start-up (high-water mark). */
#define TB_STACK_PAINT 0xA5A5A5A5u

/* The portable application entry point (defined outside the port layer). */
int tb_main(void);

/* Bring up the serial port and the cycle counter.  Called by start-up. */
void tb_port_init(void);

/* Blocking write of one byte to the serial port. */
void tb_port_putc(uint8_t c);

/* Non-blocking read: the next received byte (0..255), or -1 if none. */
int tb_port_getc(void);

/* Blocking write of n bytes. */
void tb_port_write(const uint8_t *buf, size_t n);

/*
 * Free-running 32-bit counter; subtract two readings (unsigned, wraps).
 * Unit given by tb_port_cycles_kind:
 *   "instructions" - under QEMU -icount shift=0 (deterministic, exact for
 *                    minstret, resolution of one SysTick tick on Cortex-M:
 *                    TB_TICK_NS_NUM/TB_TICK_NS_DEN instructions)
 *   "cycles"       - core clock cycles on hardware
 */
uint32_t tb_port_cycles(void);
extern const char tb_port_cycles_kind[];

/* Deepest stack use since reset in bytes (scan of the painted stack). */
uint32_t tb_port_stack_used(void);

/* Size of the stack region in bytes. */
uint32_t tb_port_stack_size(void);

/*
 * Stop.  Under QEMU the emulator exits with `code` (semihosting
 * SYS_EXIT_EXTENDED on Cortex-M, sifive_test on riscv virt); on real
 * boards the device loops forever.
 */
void tb_port_exit(int code)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* TB_PORT_H */
