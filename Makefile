# Two commands do everything on a fresh clone:
#   make lab    create .venv if needed, install, start JupyterLab (localhost, token auth)
#   make test   create .venv if needed, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch where one is at hand; override for a GPU or another index, e.g.
#   make lab TORCH='torch==2.13.0' TORCH_PIP_FLAGS='--index-url <your index>'
TORCH ?= torch==2.13.0
TORCH_PIP_FLAGS ?=
READY := $(VENV)/.ready

.PHONY: setup lab test test-lessons benchmark clean

setup: $(READY)

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "resnet-edu needs Python 3.10 or newer; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_FLAGS) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	@# Build matplotlib's font cache now, so no notebook prints the one-time notice.
	@$(BIN)/python -c "import matplotlib.pyplot"
	@command -v dot >/dev/null 2>&1 || echo "NOTE: Graphviz's 'dot' program was not found. Lessons 05+ draw autograd graphs with it; install it with 'sudo apt-get install graphviz', 'brew install graphviz' or 'conda install graphviz' (see README)."
	@touch $@

lab: setup
	$(BIN)/jupyter lab --ip=127.0.0.1 lessons/00_start_here.ipynb

test: setup
	$(BIN)/python -m pytest tests/
	$(BIN)/pytest --nbval lessons/

benchmark: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV)
