"""Widgets timed by run.py: (name, make the widget, change one control: (widget, i) -> None).

Add an entry for every widget in resnet_edu.widgets. `change` must trigger one redraw.
These are the Python-side times (compute, draw, encode the PNG); the time a student sees,
from a click in the browser to the new figure, is measured by tests/e2e/test_browser.py
(``test_widgets_answer_at_once``), which :func:`browser_latencies` runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Written by tests/e2e/test_browser.py::test_widgets_answer_at_once.
BROWSER_LATENCIES = ROOT / "benchmarks" / "results" / "e2e" / "widget_latency.json"


def browser_latencies(run: bool = True) -> tuple[dict[str, float], str]:
    """``({widget: median seconds from a control change to the new figure in the browser},
    how they were obtained)``. With ``run``, the browser test is run now (about 40 s: JupyterLab
    in headless Chromium); otherwise, or if it cannot run here, the file of its last run is read."""
    note = "from the last browser test run"
    if run:
        test = "tests/e2e/test_browser.py::test_widgets_answer_at_once"
        BROWSER_LATENCIES.unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        lines = done.stdout.strip().splitlines()
        note = "measured now" if done.returncode == 0 else f"browser test: {lines[-1] if lines else 'did not run'}"
    try:
        return json.loads(BROWSER_LATENCIES.read_text()), note
    except (OSError, ValueError):
        return {}, note


WIDGETS: list = []


# Lessons 02-04 --------------------------------------------------------------------------


def _gradient_flow():
    from resnet_edu.widgets import GradientFlowExplorer

    return GradientFlowExplorer(depth=50)


def _skip_toggle():
    from resnet_edu.experiments import skip_states
    from resnet_edu.widgets import SkipToggle

    return SkipToggle(skip_states(depth=56, steps=100))


def _depth_explorer():
    from resnet_edu.widgets import DepthExplorer

    return DepthExplorer(depths=(4, 10, 20, 56), blocks=("plain", "residual"))


WIDGETS += [
    # a new depth each time: one backward pass (not cached) plus the redraw
    ("gradient-flow explorer (lesson 02)", _gradient_flow, lambda w, i: setattr(w.depth, "value", 40 + 2 * i)),
    # both states are cached: the redraw only
    ("skip-connection toggle (lesson 04)", _skip_toggle, lambda w, i: setattr(w.skip, "value", not w.skip.value)),
    # runs already trained: the redraw only
    (
        "depth explorer (lessons 03-04)",
        _depth_explorer,
        lambda w, i: setattr(w.block_buttons["residual"], "value", not w.block_buttons["residual"].value),
    ),
]


# Lesson 07 ------------------------------------------------------------------------------


def _lesion_explorer():
    from resnet_edu.experiments import digits as load_digits
    from resnet_edu.experiments import fresh_mlp
    from resnet_edu.train import train
    from resnet_edu.widgets import LesionExplorer

    digits = load_digits()
    models = {}
    for block in ("plain", "residual"):
        models[block] = fresh_mlp(0, depth=20, block=block)
        train(models[block], digits.x_train, digits.y_train, steps=200, progress=False)
    return LesionExplorer(models, digits.x_test, digits.y_test)


def _shattered_explorer():
    from resnet_edu.widgets import ShatteredExplorer

    return ShatteredExplorer(depth=16)


WIDGETS += [
    # toggles one block: two lesioned copies evaluated on the test set, plus the redraw
    (
        "delete-a-block explorer (lesson 07)",
        _lesion_explorer,
        lambda w, i: setattr(w.buttons[i % len(w.buttons)], "value", not w.buttons[i % len(w.buttons)].value),
    ),
    # a new depth each time: two fresh networks and their input gradients, plus the redraw
    (
        "shattered-gradients explorer (lesson 07)",
        _shattered_explorer,
        lambda w, i: setattr(w.depth, "value", 30 + 2 * i),
    ),
]
