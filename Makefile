# The two commands a newcomer needs: `make demo` and `make test`.
# Both create (or refresh, when settings.ini/setup.py change) the virtual environment in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo_out

.PHONY: demo test venv clean readme bench models docs lab

venv: $(STAMP)

$(STAMP): settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The main job (deblur_demo, < 15 min on 2 cores): blur the bundled scenes, then dataset → train the four U-Nets →
# evaluate → demo_out/report/results.md. Rerunning resumes where an interrupted run stopped.
demo: venv
	$(BIN)/deblur_synth --scene all --overwrite --out $(DEMO_OUT)/synth
	$(BIN)/deblur_demo --out $(DEMO_OUT)

# The models that ship in deblur_nbdev/models/ (hours on a CPU; resumable: rerun to continue). See tools/train_models.py.
models: venv
	$(BIN)/python tools/train_models.py

test: venv
	$(BIN)/python tools/run_tests.py

# The docs site in _docs/ (open _docs/index.html): nbdev_docs where Quarto is installed, else tools/build_docs.py
# (nbdev's pre-processing + nbconvert, from the notebooks' saved outputs; formulas as MathML, widgets offline).
docs: venv
	if command -v quarto >/dev/null; then $(BIN)/nbdev_docs; else $(BIN)/python tools/build_docs.py; fi

# The book, live: JupyterLab on nbs/ (run a notebook's cells, then play with the sliders of 04_synthesis and 08_sync).
lab: venv
	$(BIN)/jupyter lab nbs/

readme: venv
	$(BIN)/python tools/make_readme.py

# Every benchmark in benchmarks/ (bench_peers.py builds its own venv, benchmarks/.venv-peers, from PyPI on first use).
# Each also has a few-second `--smoke` run, which `make test` runs (tests/test_benchmarks.py).
bench: venv
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) _proc _docs $(DEMO_OUT) .pytest_cache .hypothesis
