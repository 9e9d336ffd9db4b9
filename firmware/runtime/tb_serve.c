/*
 * tb_serve.c - the protocol main loop (tb_protocol.h): poll the serial
 * port, feed the dispatcher, stop on EXIT.  Portable C99.
 *
 * Called by the application's tb_main() after its start-up output; anything
 * printed before is harmless boot text to the host (no 0x00 byte is needed:
 * the host drops it as a garbage frame).
 */
#include "tb_protocol.h"
#include "tb_port.h"

int tb_serve(void)
{
    tbp_server_init();
    for (;;) {
        int c = tb_port_getc();
        if (c < 0) {
            tbp_server_idle();
            continue;
        }
        if (tbp_server_byte((uint8_t)c) == TBP_SERVE_EXIT)
            tb_port_exit(TB_EXIT_OK); /* the reply has been written out */
    }
}
