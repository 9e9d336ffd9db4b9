"""The device side of the host: the serial protocol, the link to a board, validation and benchmarks."""
