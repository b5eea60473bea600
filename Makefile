# Two commands do everything on a fresh clone:
#   make lab    create .venv if needed, install, start JupyterLab (localhost, token auth)
#   make test   create .venv if needed, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, with TORCH_PIP_FLAGS. Unless you give them, tools/torch_pip_flags.py
# picks them: on Linux without an NVIDIA GPU, PyTorch's CPU index (a ~200 MB torch instead of a
# several-GB CUDA build), or pip's default index with one printed line if that index cannot be
# reached; on a GPU machine, macOS and Windows, none (pip's default index). Explicit flags win:
#   make lab TORCH_PIP_FLAGS=                                 # pip's default index
#   make lab TORCH='torch==2.13.0' TORCH_PIP_FLAGS='--index-url <your index>'
TORCH ?= torch==2.13.0
TORCH_PIP_FLAGS ?= $(shell $(PYTHON) tools/torch_pip_flags.py)
READY := $(VENV)/.ready
SITE_READY := $(VENV)/.site-ready

.PHONY: setup lab test benchmark robustness clean site site-setup

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
# The printed link (and the browser tab) opens lesson 00 (default_url), with its token. A port
# already in use: Jupyter tries the next ones itself and prints the one it got. As root (Docker,
# cloud VMs) JupyterLab refuses to start without --allow-root, so it is added, with a note.
LAB_FLAGS ?=
LAB_START := /lab/tree/lessons/00_start_here.ipynb
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
LAB_ROOT_NOTE := make lab: running as root (as in Docker and many cloud VMs), so adding --allow-root, without which JupyterLab refuses to start.

lab: setup
	@$(if $(LAB_ROOT_FLAG),echo "$(LAB_ROOT_NOTE)")
	$(BIN)/jupyter lab $(LAB_ROOT_FLAG) --ServerApp.root_dir=. --LabApp.default_url=$(LAB_START) $(LAB_FLAGS) --ip=127.0.0.1

LINTED := resnet_edu tests benchmarks tools website

test: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest tests/
	$(BIN)/pytest --nbval lessons/
	$(BIN)/python -m resnet_edu.assign --check
	$(BIN)/pytest --nbval solutions/

# The whole test suite with no network at all (Linux; root or user namespaces), as CI runs it.
.PHONY: test-offline
# site-setup too: then tests/test_site.py builds the website offline (else it is skipped).
test-offline: setup site-setup
	.ci/offline $(MAKE) --no-print-directory test

# The course as a static website, from the notebooks' stored outputs (nothing is executed),
# offline; its tools (requirements-site.txt) are installed here only. Output: $(SITE)/ (gitignored).
SITE ?= _site
SITE_BUILD ?= build/site

$(SITE_READY): $(READY) requirements-site.txt
	$(BIN)/python -m pip install --quiet -r requirements-site.txt
	@touch $@

site-setup: $(SITE_READY)

# The pages' sources are staged in $(SITE_BUILD)/src: the notebooks of lessons/ and exercises/
# (never solutions/), website/*.md and the README (the landing page includes parts of it).
site: $(SITE_READY)
	@rm -rf $(SITE) $(SITE_BUILD) && mkdir -p $(SITE_BUILD)/src/lessons $(SITE_BUILD)/src/exercises
	@cp website/*.md README.md $(SITE_BUILD)/src/ && cp lessons/*.ipynb $(SITE_BUILD)/src/lessons/ \
	    && cp exercises/*.ipynb $(SITE_BUILD)/src/exercises/
	$(BIN)/python -m sphinx -b html -q -c website -d $(SITE_BUILD)/doctrees $(SITE_BUILD)/src $(SITE_BUILD)/html
	@mkdir -p $(dir $(abspath $(SITE))) && mv $(SITE_BUILD)/html $(SITE)
	@echo "The site is in $(SITE)/ (open $(SITE)/index.html, or publish the folder on any static host)."

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
