# The two commands of the README: `make demo` and `make test`.
# Both build the project environment (.venv/) first; `make install` does only that.
# `make test-kernels` reruns the tests that train something (marker `trains`)
# with the CPU kernels held to AVX2, on one and on two threads: a test tuned
# to one CPU's rounding fails there (docs/testing.md). CI runs both.
VENV ?= $(or $(S2D_VENV),.venv)
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

# what an AVX2-only CPU computes with, on any x86 CPU
AVX2_KERNELS := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2

.PHONY: install test test-kernels demo lint lock clean-demo

install:
	@bash tools/install.sh

test: install
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS) tests

test-kernels: install
	$(AVX2_KERNELS) S2D_TEST_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile -m trains $(PYTEST_ARGS) tests
	$(AVX2_KERNELS) S2D_TEST_THREADS=2 $(PY) -m pytest -m trains $(PYTEST_ARGS) tests

demo: install
	$(PY) -m demo.run_demo

lock:
	@bash tools/update_lock.sh

lint: install
	$(VENV)/bin/ruff check s2d_mm tools tests configs

clean-demo:
	rm -rf work_dirs/demo
