/*
 * tb_port_arduino.cpp - port layer for real boards built with PlatformIO's
 * official platforms and the Arduino framework (nucleo_*, nano33ble, pico,
 * teensy41, esp32*).  The Arduino core owns main(): setup() runs the same
 * flow as the bare-metal start-up (tb_port_init, tb_main, tb_port_exit).
 *
 * Build macros (from the board file via platformio.ini build_flags):
 *   TB_SERIAL_BAUD, TB_SERIAL_USB_CDC, TB_CLOCK_HZ,
 *   TB_CYCLE_COUNTER_DWT | _CCOUNT | _MCYCLE | _SYSTICK
 *
 * There is no emulator to stop on hardware: tb_port_exit prints the line
 * "tb: exit <code>" (the host scans for it) and idles.
 */
#include <Arduino.h>

#include "tb_port.h"

#ifndef TB_SERIAL_BAUD
#define TB_SERIAL_BAUD 115200
#endif
#ifndef TB_CLOCK_HZ
#define TB_CLOCK_HZ 1000000u
#endif
/* Bytes painted below the stack pointer of tb_port_init (Arduino owns the
 * real stack, so the high-water mark is relative to that point). */
#ifndef TB_PORT_STACK_PAINT_BYTES
#define TB_PORT_STACK_PAINT_BYTES 2048u
#endif
#define TB_PORT_STACK_MARGIN 128u

#if defined(TB_CYCLE_COUNTER_DWT)
#define TB_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TB_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TB_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TB_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#endif

static volatile uint32_t *tb_paint_lo;
static volatile uint32_t *tb_paint_hi;

extern "C" {

const char tb_port_cycles_kind[] = "cycles";

__attribute__((noinline)) static void tb_paint_stack(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t hi = (sp - TB_PORT_STACK_MARGIN) & ~(uintptr_t)3u;
    tb_paint_hi = (volatile uint32_t *)hi;
    tb_paint_lo = (volatile uint32_t *)(hi - TB_PORT_STACK_PAINT_BYTES);
    for (volatile uint32_t *p = tb_paint_lo; p < tb_paint_hi; ++p)
        *p = TB_STACK_PAINT;
}

void tb_port_init(void)
{
    Serial.begin(TB_SERIAL_BAUD);
#if defined(TB_SERIAL_USB_CDC) && TB_SERIAL_USB_CDC
    /* USB CDC: give the host up to 3 s to open the port. */
    unsigned long t0 = millis();
    while (!Serial && millis() - t0 < 3000u) {
    }
#endif
#if defined(TB_CYCLE_COUNTER_DWT)
    TB_DEMCR |= (1u << 24); /* TRCENA */
    TB_DWT_LAR = 0xC5ACCE55u; /* unlock (Cortex-M7) */
    TB_DWT_CYCCNT = 0u;
    TB_DWT_CTRL |= 1u; /* CYCCNTENA */
#endif
    tb_paint_stack();
}

void tb_port_putc(uint8_t c) { Serial.write(c); }

int tb_port_getc(void) { return Serial.available() > 0 ? Serial.read() : -1; }

void tb_port_write(const uint8_t *buf, size_t n) { Serial.write(buf, n); }

uint32_t tb_port_cycles(void)
{
#if defined(TB_CYCLE_COUNTER_DWT)
    return TB_DWT_CYCCNT;
#elif defined(ARDUINO_ARCH_ESP32)
    return (uint32_t)ESP.getCycleCount(); /* CCOUNT (Xtensa) / mpccr (C3) */
#else
    /* No free cycle counter (e.g. RP2040 under mbed, whose RTOS owns
     * SysTick): microseconds scaled to the core clock. */
    return (uint32_t)micros() * (uint32_t)(TB_CLOCK_HZ / 1000000u);
#endif
}

uint32_t tb_port_stack_used(void)
{
    volatile uint32_t *p = tb_paint_lo;
    if (p == 0)
        return 0u;
    while (p < tb_paint_hi && *p == TB_STACK_PAINT)
        ++p;
    return (uint32_t)((uintptr_t)tb_paint_hi - (uintptr_t)p);
}

uint32_t tb_port_stack_size(void) { return TB_PORT_STACK_PAINT_BYTES; }

void tb_port_exit(int code)
{
    Serial.print("\ntb: exit ");
    Serial.println(code);
    Serial.flush();
    for (;;)
        delay(1000); /* keeps RTOS watchdogs (ESP32) fed */
}

} /* extern "C" */

void setup()
{
    tb_port_init();
    tb_port_exit(tb_main());
}

void loop() {}
