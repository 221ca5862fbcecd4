# The two quickstart commands (README): `make demo` and `make test`.
# torch is installed only when none is importable: a Kaggle notebook or a CUDA
# laptop keeps the torch it has. Where none is installed, the pin is the course
# machines' local CPU build (an unpinned torch pulls several GB of CUDA packages);
# `make test TORCH=torch` picks pip's default instead.
PY ?= python3
TORCH ?= torch==2.13.0
RUFF ?= ruff==0.17.6

.PHONY: install install-dev torch demo test lint lessons exercises kaggle-dataset

torch:
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "keeping the installed torch $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	else $(PY) -m pip install -q "$(TORCH)"; fi

install: torch
	$(PY) -m pip install -q -e .

install-dev: torch
	$(PY) -m pip install -q -e ".[dev]"

demo: install
	$(PY) -m finetune demo

# pytest-xdist runs the tests in JOBS processes, one per core up to 4 (2 cores: 1.7x faster than one process);
# `make test JOBS=0` runs them in this process
JOBS ?= $(shell $(PY) -c "import os; n = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
	else os.cpu_count(); print(min(4, n or 1))" 2>/dev/null || echo 0)

test: install-dev
	@$(PY) -m pytest -q -n $(JOBS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

# ruff with the rules in pyproject.toml; the version is pinned because new ruff releases add rules
lint:
	@$(PY) -m ruff --version 2>/dev/null | grep -qx "ruff $(subst ruff==,,$(RUFF))" || $(PY) -m pip install -q "$(RUFF)"
	$(PY) -m ruff check .

# the four lessons, in reading order (docs/01 to docs/05)
lessons: install
	$(PY) -m vit && $(PY) -m imagemae && $(PY) -m videomae && $(PY) -m videomae.why

# grade your exercises/ against the real code (`make exercises NAME=attention` for one)
exercises: install
	$(PY) -m exercises check $(NAME)

# what to upload to Kaggle as a dataset, to install this package with no internet
kaggle-dataset:
	$(PY) kaggle/build_dataset.py --out dist/kaggle-dataset
