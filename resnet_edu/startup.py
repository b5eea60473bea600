"""The start-up helper every notebook calls first: seeds, one thread, plot defaults."""

from __future__ import annotations

import platform
import random
import shutil
from dataclasses import dataclass

import numpy as np
import torch

#: Okabe-Ito colours (colour-blind safe), one meaning across the whole course.
PLOT_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
}


@dataclass(frozen=True)
class Environment:
    """What the course runs on; ``str()`` gives a short report."""

    python: str
    torch: str
    threads: int
    graphviz: str | None  # path of the ``dot`` program, or None
    widgets: str | None  # ipywidgets version, or None
    seed: int

    def __str__(self) -> str:
        dot = self.graphviz or "NOT FOUND (install Graphviz to draw autograd graphs; see README)"
        widgets = self.widgets or "NOT FOUND (pip install ipywidgets)"
        return "\n".join(
            [
                f"Python      {self.python}",
                f"torch       {self.torch} (CPU threads: {self.threads})",
                f"Graphviz    {dot}",
                f"ipywidgets  {widgets}",
                f"seed        {self.seed}",
            ]
        )


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def environment(seed: int = 0) -> Environment:
    """Describe the current environment (no side effects)."""
    try:
        import ipywidgets

        widgets: str | None = ipywidgets.__version__
    except ImportError:
        widgets = None
    return Environment(
        python=platform.python_version(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        graphviz=shutil.which("dot"),
        widgets=widgets,
        seed=seed,
    )


def start(seed: int = 0, threads: int = 1) -> Environment:
    """Make a notebook reproducible: seed everything, fix the thread count, style plots.

    One thread is both faster for the course's tiny models and the only way to get
    bit-identical numbers on every machine (reductions split across threads add in a
    different order). Returns the :class:`Environment`; print it for a report.
    """
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    seed_everything(seed)
    torch.set_num_threads(threads)
    import matplotlib

    matplotlib.rcParams.update(PLOT_STYLE)
    return environment(seed)
