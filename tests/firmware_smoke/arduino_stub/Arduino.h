/* Minimal stand-in for <Arduino.h>: lets the host compiler check the
 * arduino port (firmware/port/arduino) for syntax and types only. */
#ifndef TB_ARDUINO_STUB_H
#define TB_ARDUINO_STUB_H
#include <stddef.h>
#include <stdint.h>

struct TbStubSerial {
    void begin(unsigned long) {}
    size_t write(uint8_t) { return 1; }
    size_t write(const uint8_t *, size_t n) { return n; }
    int available() { return 0; }
    int read() { return -1; }
    void flush() {}
    size_t print(const char *) { return 0; }
    size_t println(int) { return 0; }
    explicit operator bool() const { return true; }
};
extern TbStubSerial Serial;

#if defined(ARDUINO_ARCH_ESP32)
struct TbStubEsp {
    uint32_t getCycleCount() { return 0; }
};
extern TbStubEsp ESP;
#endif

unsigned long millis(void);
unsigned long micros(void);
void delay(unsigned long);
#endif
