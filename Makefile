# The two commands of the README: `make demo` and `make test`.
# Both build the project environment (.venv/) first; `make install` does only that.
VENV ?= $(or $(S2D_VENV),.venv)
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test demo lint lock clean-demo

install:
	@bash tools/install.sh

test: install
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS) tests

demo: install
	$(PY) demo/run_demo.py

lock:
	@bash tools/update_lock.sh

lint: install
	$(VENV)/bin/ruff check s2d_mm tools tests configs

clean-demo:
	rm -rf work_dirs/demo
