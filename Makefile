# tinybnn: the two set-up commands of the README, plus a few helpers.
#   make demo   - the main job on the default emulated board
#   make test   - the test suite
PYTHON ?= python3
export PYTHON
# make test: pytest-xdist workers (logical = one per CPU; 1: one worker process); -p no:benchmark keeps a
# pytest-benchmark plugin the machine may have (tinybnn uses none) from warning once per worker
PYTEST_JOBS ?= logical

.PHONY: setup demo test bench fixtures clean

setup:
	@bash scripts/setup.sh test

demo:
	@bash scripts/setup.sh demo
	@bash scripts/demo.sh

test: setup
	$(PYTHON) -m pytest -q --durations=15 -n $(PYTEST_JOBS) --dist loadgroup -p no:benchmark

# bench_vs_cmsis_nn: tinybnn against CMSIS-NN int8 on qemu-m4 and qemu-m55, CMSIS-NN from ../shared/peers/cmsis-nn
# (or CMSIS_NN_DIR=DIR); without it, it says so in one line and exits 0
bench: setup
	$(PYTHON) benchmarks/bench_golden.py
	$(PYTHON) benchmarks/bench_vs_cmsis_nn.py

# regenerate the trained fixtures (needs the optional torch/brevitas/TF/larq virtualenvs)
fixtures:
	bash scripts/fixtures/setup_venvs.sh && bash scripts/fixtures/make_all.sh

clean:
	rm -rf build dist *.egg-info .pytest_cache out
