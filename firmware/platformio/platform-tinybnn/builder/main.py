"""SCons build script of the tinybnn offline PlatformIO platform.

Everything target-specific comes from the project-local board file
(<project>/boards/<id>.json, written by tinybnn.targets.platformio.write_project):

  build.mcu / build.cpu / build.f_cpu     PlatformIO's usual keys
  upload.maximum_size / maximum_ram_size  flash / RAM checked after the link
  tinybnn.toolchain    "arm-none-eabi" | "riscv64-unknown-elf" (from PATH)
  tinybnn.cflags       cpu flags for compiling (C and .S)
  tinybnn.ldflags      cpu/libc flags for linking
  tinybnn.ldscript     linker script file name in <project>/ld/ (it may
                       INCLUDE other scripts of that folder)
  tinybnn.stack_bytes  stack size (-Wl,--defsym=__stack_size=N)

The board's macros (TB_BOARD_ID, TB_CLOCK_HZ, UART base, ...) are in the
build_flags of platformio.ini, visible to the user.

Outputs in .pio/build/<env>/: firmware.elf, firmware.bin, firmware.hex,
firmware.map and a .su file (-fstack-usage) next to every object.
"""

import os

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
tb = board.get("tinybnn")

prefix = tb["toolchain"] + "-"
ld_dir = os.path.join(env.subst("$PROJECT_DIR"), "ld")
ldscript = os.path.join(ld_dir, tb["ldscript"])
if not os.path.isfile(ldscript):
    raise SystemExit("tinybnn: linker script %s not found" % ldscript)

env.Replace(
    AR=prefix + "gcc-ar",
    AS=prefix + "gcc",
    CC=prefix + "gcc",
    CXX=prefix + "g++",
    GDB=prefix + "gdb",
    OBJCOPY=prefix + "objcopy",
    RANLIB=prefix + "gcc-ranlib",
    SIZETOOL=prefix + "size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    LDSCRIPT_PATH=ldscript,
    # PlatformIO's "RAM:"/"Flash:" lines: flash = code + constants + .data
    # image, RAM = .data + .bss + the reserved stack.
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.rodata|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.stack)\s+(\d+).*",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)

cpu = list(tb["cflags"])
env.Append(
    ASFLAGS=cpu + ["-x", "assembler-with-cpp"],
    CCFLAGS=cpu + [
        "-O2",
        "-g",
        "-Wall",
        "-Wextra",
        "-ffunction-sections",
        "-fdata-sections",
        "-fstack-usage",
        "-fcallgraph-info=su",
        # keep simple loops as loops: no hidden memset/strlen calls pulled in from libc
        "-fno-tree-loop-distribute-patterns",
    ],
    CFLAGS=["-std=c99"],
    CXXFLAGS=["-std=c++11", "-fno-exceptions", "-fno-rtti"],
    LINKFLAGS=list(tb["ldflags"]) + [
        "-nostartfiles",
        "-Wl,--gc-sections",
        "-Wl,-Map,%s" % os.path.join(env.subst("$BUILD_DIR"), "firmware.map"),
        "-Wl,--defsym=__stack_size=%d" % int(tb["stack_bytes"]),
    ],
    LIBPATH=[ld_dir],
    BUILDERS=dict(
        ElfToBin=Builder(
            action=env.VerboseAction(
                "$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"
            ),
            suffix=".bin",
        ),
        ElfToHex=Builder(
            action=env.VerboseAction(
                "$OBJCOPY -O ihex $SOURCES $TARGET", "Building $TARGET"
            ),
            suffix=".hex",
        ),
    ),
)

target_elf = env.BuildProgram()
target_bin = env.ElfToBin(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
target_hex = env.ElfToHex(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
# Alias to the images, never to the .bin alone (SCons would try to run it).
target_buildprog = env.Alias("buildprog", [target_bin, target_hex])

# Flashing is done by tinybnn.targets.qemu (emulated boards), not by "pio run -t upload".
AlwaysBuild(
    env.Alias(
        "upload",
        target_elf,
        env.VerboseAction(
            "@echo tinybnn: emulated board, run it with tinybnn.targets.qemu", "Upload"
        ),
    )
)

Default([target_buildprog])
