# Two commands do everything on a fresh clone:
#   make lab    create .venv if needed, install, start JupyterLab (localhost, token auth)
#   make test   create .venv if needed, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first. PyPI gives a CPU build on macOS/Windows (and on this project's CI
# machines); on Linux add a CPU index for the small build (see README), e.g.
#   make lab TORCH='torch==2.13.0' TORCH_PIP_FLAGS='--index-url <your index>'
TORCH ?= torch==2.13.0
TORCH_PIP_FLAGS ?=
READY := $(VENV)/.ready

.PHONY: setup lab test benchmark robustness clean

setup: $(READY)

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "resnet-edu needs Python 3.10 or newer; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_FLAGS) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	@# Build matplotlib's font cache now, so no notebook prints the one-time notice.
	@$(BIN)/python -c "import matplotlib.pyplot"
	@command -v dot >/dev/null 2>&1 || echo "NOTE: Graphviz's 'dot' program was not found. Lesson 05 draws autograd graphs with it; install it with 'sudo apt-get install graphviz', 'brew install graphviz' or 'conda install graphviz' (see README)."
	@touch $@

# The server's root is the repository (lessons/, exercises/ in the file browser), not the
# folder of the notebook it opens. Extra options for JupyterLab go in LAB_FLAGS, e.g.
#   make lab LAB_FLAGS="--no-browser --port=8899"
# Token authentication and the 127.0.0.1 address stay on whatever is passed there.
LAB_FLAGS ?=

lab: setup
	$(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=. $(LAB_FLAGS) lessons/00_start_here.ipynb

test: setup
	$(BIN)/python -m pytest tests/
	$(BIN)/pytest --nbval lessons/
	$(BIN)/python -m resnet_edu.assign --check
	$(BIN)/pytest --nbval solutions/

# The whole test suite with no network at all (Linux; root or user namespaces), as CI runs it.
.PHONY: test-offline
test-offline: setup
	.ci/offline $(MAKE) --no-print-directory test

benchmark: setup
	$(BIN)/python benchmarks/run.py

# Do the lessons' claims hold on other machines? Every lesson and solution in a fresh kernel,
# with the stored seeds, every seed shifted by 1-5, and 2 torch threads (benchmarks/robustness.py);
# the table goes to benchmarks/results/robustness.md. Narrow it down, e.g.
#   make robustness ROBUSTNESS_FLAGS="--lessons 07 --shifts 1 2 --threads"
ROBUSTNESS_FLAGS ?= --solutions
robustness: setup
	$(BIN)/python benchmarks/robustness.py $(ROBUSTNESS_FLAGS)

clean:
	rm -rf $(VENV)
