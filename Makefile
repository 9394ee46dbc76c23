# The README's two commands. Both set up everything themselves.
#   make demo   - demo simulation + energy-area report of the built-in leroux2025 design
#   make test   - the whole test suite (unit, property, reference, SPICE, notebooks)
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: demo test setup ngspice bench lint clean

setup:
	@bash scripts/setup_env.sh

ngspice:
	@bash scripts/ensure_ngspice.sh

demo: setup
	$(PY) -m gaincell demo --out report

test: ngspice
	@GAINCELL_EXTRAS=dev,torch bash scripts/setup_env.sh
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/bench_attention.py

lint: setup
	$(PY) -m ruff check gaincell tests benchmarks

clean:
	rm -rf .venv report build *.egg-info
