"""Targets: board data files, PlatformIO projects and builds, QEMU, footprints and the library export."""
