"""The depth explorer (lessons 03, 04): final training loss against depth, plain and/or residual.

Pick depths and block types; every (block type, depth) is trained once with the degradation
settings of :func:`resnet_edu.experiments.training_run` and cached, so the runs a lesson has
made already cost nothing and a new 56-layer run takes a few seconds. While runs train, the
status line says which; clicks made meanwhile are not queued: the newest selection wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import DepthSweep, depth_sweep, training_run
from ..plots.depth import plot_sweep
from .output import Explorer

DEPTH_CHOICES = (4, 10, 20, 32, 44, 56)
BLOCKS = ("plain", "residual")


def _event_loop() -> asyncio.AbstractEventLoop | None:
    """The kernel's running event loop (in JupyterLab), or None (in a plain script or test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class DepthExplorer(Explorer):
    """Toggle buttons per depth (``depth_buttons``) and per block type (``block_buttons``), a
    ``status`` line and an ``output``; ``sweep`` holds the plotted :class:`DepthSweep`."""

    title = "Depth explorer"

    def __init__(
        self,
        depths: Iterable[int] = (4, 10, 20, 56),
        blocks: Iterable[str] = BLOCKS,
        seed: int = 0,
    ) -> None:
        depths, blocks = tuple(depths), tuple(blocks)
        for d in depths:
            if d not in DEPTH_CHOICES:
                raise ValueError(f"depths must be among {DEPTH_CHOICES}, got {d!r}")
        for b in blocks:
            if b not in BLOCKS:
                raise ValueError(f"blocks must be among {BLOCKS}, got {b!r}")
        self.seed = seed
        self.depth_buttons = {
            d: widgets.ToggleButton(
                value=d in depths,
                description=str(d),
                layout=widgets.Layout(width="60px"),
                tooltip=f"train {d}-layer stacks",
            )
            for d in DEPTH_CHOICES
        }
        self.block_buttons = {
            b: widgets.ToggleButton(value=b in blocks, description=b, layout=widgets.Layout(width="90px"))
            for b in BLOCKS
        }
        self.status = widgets.Label()
        self.sweep: DepthSweep | None = None
        self._generation = 0  # counts control changes, so a background run can tell it is outdated
        self._task: asyncio.Task | None = None
        rows = [
            widgets.HBox([widgets.Label("depths:"), *self.depth_buttons.values()]),
            widgets.HBox([widgets.Label("blocks:"), *self.block_buttons.values()]),
            self.status,
        ]
        super().__init__(rows, [], self.figure())
        for control in (*self.depth_buttons.values(), *self.block_buttons.values()):
            control.observe(self._changed, names="value")

    def selection(self) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The selected depths and block types."""
        depths = tuple(d for d, b in self.depth_buttons.items() if b.value)
        blocks = tuple(k for k, b in self.block_buttons.items() if b.value)
        return depths, blocks

    def missing(self) -> list[tuple[str, int]]:
        """The selected (block type, depth) runs that are not trained yet."""
        depths, blocks = self.selection()
        return [(b, d) for b in blocks for d in depths if not training_run.is_cached(d, b, self.seed)]

    def figure(self) -> Figure:
        depths, blocks = self.selection()
        if not depths or not blocks:
            raise ValueError("select at least one depth and one block type")
        self.sweep = depth_sweep(depths, blocks, seeds=(self.seed,), progress=False)
        note = "Residual stacks start with each branch at zero (zero-init gamma). " if "residual" in blocks else ""
        self.status.value = note + "Click depths and block types to add or remove runs."
        return plot_sweep(self.sweep, layout="fixed")

    def _changed(self, change: object = None) -> None:
        self._generation += 1
        loop = _event_loop()
        if not self.missing() or loop is None:  # nothing to train, or no kernel to train in the background of
            self.redraw()
        elif self._task is None or self._task.done():
            self._task = loop.create_task(self._train_then_redraw())

    async def _train_then_redraw(self) -> None:
        """Train the missing runs one by one; between runs, let the kernel take newer clicks in,
        and start over with the newest selection if there was one (no stale figure is drawn)."""
        while True:
            generation, missing = self._generation, self.missing()
            for i, (block, depth) in enumerate(missing):
                self.status.value = (
                    f"Training {block}-{depth} ({i + 1} of {len(missing)}, about "
                    f"{max(1, round(0.05 * depth))} s) ... you can keep clicking."
                )
                await asyncio.sleep(0.05)  # the kernel reads clicks made meanwhile
                if self._generation != generation:
                    break
                training_run(depth, block, self.seed)
            else:
                await asyncio.sleep(0.05)
                if self._generation == generation:
                    self.redraw()
                    return
