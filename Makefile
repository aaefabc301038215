SHELL := /bin/bash
# Two commands for a fresh clone (see README): `make reproduce` and `make test`.
# Both create .venv and install everything when it is missing or stale: requirements*.txt say what, requirements-lock.txt
# (constraints) fixes every version to the environment that produced the committed results.
VENV ?= .venv
PY := $(VENV)/bin/python
export BAASPROMPT_DATA_DIR ?= $(abspath ../shared/data)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# one cache (converted models, embeddings, BaasPrompt inits) for notebooks, tests and runs alike
export BAASPROMPT_CACHE ?= $(abspath .cache/baasprompt)
# LLM calls of the chain stage replay from the committed cache (content-addressed: a changed prompt is a miss, then a real call)
export BAASPROMPT_LLM_CACHE ?= $(abspath llm_cache)
export PYTHONWARNINGS := ignore::FutureWarning

.PHONY: install reproduce test test-slow export clean-nbs readme bench nb-outputs
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-offline.txt requirements-lock.txt setup.py settings.ini
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c requirements-lock.txt 2>&1 | { grep -v 'is ignored: it is neither' || true; }; test $${PIPESTATUS[0]} -eq 0
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-offline.txt -c requirements-lock.txt 2>&1 | { grep -v 'is ignored: it is neither' || true; }; test $${PIPESTATUS[0]} -eq 0
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | { grep -v 'is ignored: it is neither' || true; }; test $${PIPESTATUS[0]} -eq 0
	touch $@

# The main job: the default reproduction (demo profile: every method on SciQ, tables, figures), then README from it.
# JOBS grid runs at once, each on the threads its profile sets (1 for demo and quick), so JOBS changes the time, never the numbers
# (2 suits this 2-core machine; see nbs/20_reproduce.ipynb, "Running a grid").
JOBS ?= 2
reproduce: install
	$(VENV)/bin/baasprompt data
	$(VENV)/bin/baasprompt reproduce --profile demo --jobs $(JOBS)
	$(MAKE) readme

# All checks CI runs: notebooks clean, module in sync, nbdev_test (fast cells), pytest; ends with "N passed, N failed".
test: install
	$(PY) tools/check.py --no-slow

# The cells marked #| slow (real offline models on full datasets); not yet part of CI, see issue notes.
test-slow: install
	$(PY) tools/check.py

export: install
	$(VENV)/bin/nbdev_export && $(VENV)/bin/nbdev_clean

# The chapters' fast cells run and their outputs kept in the notebooks (a reader in JupyterLab sees results without running them)
nb-outputs: install
	$(PY) tools/nb_outputs.py

readme: install  # README.md is generated from nbs/index.ipynb (executed, then converted) — never edit it by hand
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace nbs/index.ipynb
	$(VENV)/bin/nbdev_clean --fname nbs/index.ipynb
	$(VENV)/bin/jupyter nbconvert --to markdown --no-input --output-dir . --output README nbs/index.ipynb
	$(PY) -c "import re, pathlib; p = pathlib.Path('README.md'); p.write_text(re.sub(r'\n{3,}', '\n\n', p.read_text()))"   # one blank line between blocks (hidden cells leave runs of them)
