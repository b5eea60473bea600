"""The start-up helper every notebook calls first: seeds, one thread, plot defaults."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass

import torch

from .seeding import seed_everything, seed_shift
from .validate import check_int

#: Matplotlib defaults of the course (colours: see resnet_edu.plots.style).
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
                f"seed        {self.seed}" + (f" (shifted by {seed_shift()})" if seed_shift() else ""),
            ]
        )


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


def _show_figures_inline() -> None:
    """In a Jupyter kernel, display ``matplotlib.figure.Figure`` results as PNG images."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")


#: Environment variable that overrides ``start()``'s thread count (set by ``make robustness``).
THREADS_VARIABLE = "RESNET_EDU_THREADS"


def start(seed: int = 0, threads: int = 1) -> Environment:
    """Make a notebook reproducible: seed everything, fix the thread count, style plots.

    One thread is faster for the course's tiny models, and it fixes the order in which
    sums are added, so a notebook's numbers re-appear run after run on one machine. On
    another CPU or torch version training takes another path: the lessons' claims are
    asserts with margins measured over shifted seeds and 2 threads (``make robustness``,
    which sets ``$RESNET_EDU_SEED_SHIFT`` and ``$RESNET_EDU_THREADS``).
    In a notebook, figures returned by :mod:`resnet_edu.plots` then show as images.
    Returns the :class:`Environment`; print it for a report.
    """
    check_int("threads", threads, 1)
    if os.environ.get(THREADS_VARIABLE):
        threads = check_int(THREADS_VARIABLE, int(os.environ[THREADS_VARIABLE]), 1)
    seed_everything(seed)
    torch.set_num_threads(threads)
    import matplotlib

    matplotlib.rcParams.update(PLOT_STYLE)
    _show_figures_inline()
    return environment(seed)
