# The two quickstart commands (README): `make demo` and `make test`.
# torch is pinned first: on the course machines the pin is a local CPU build,
# while an unpinned torch pulls several GB of CUDA packages. Elsewhere, keep
# the torch you have with `make test TORCH=torch`.
PY ?= python3
TORCH ?= torch==2.13.0

.PHONY: install install-dev demo test lessons bench

install:
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e .

install-dev:
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"

demo: install
	$(PY) -m finetune demo

test: install-dev
	@$(PY) -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

lessons: install
	$(PY) -m vit && $(PY) -m imagemae && $(PY) -m videomae
