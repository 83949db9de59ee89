# The two set-up commands of the README:
#   make demo   create/reuse .venv, install the pinned stack, run the main job
#   make test   create/reuse .venv, install the pinned stack, run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: env demo test

env:
	bash tools/install_env.sh $(VENV)

demo: env
	$(PY) tools/demo.py

test: env
	$(PY) -m pytest -q tests
