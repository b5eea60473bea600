"""CI for exercises/: run every exercise notebook up to its stubs and REQUIRE that each check
cell fails with the friendly "not started" message (nbval's raises-exception tag only permits
an error), and that no other cell fails.

Each notebook runs in a kernel of pytest's own Python, as `pytest --nbval` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from nbclient import NotebookClient

from resnet_edu.checks import NOT_STARTED

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


class _CurrentPython(KernelSpecManager):
    """A kernel spec running ipykernel in this interpreter (no installed kernelspec needed)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="current",
            language="python",
            name=kernel_name,
        )


def _is_check(cell: nbformat.NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def test_there_are_eight_exercises_in_course_order():
    names = [p.name for p in EXERCISES]
    assert len(names) >= 8, names
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(1, len(names) + 1)], names


def stub_problems(path: Path) -> list[str]:
    """Execute a notebook and list what breaks the exercises' contract (empty: all is well)."""
    nb = nbformat.read(path, as_version=4)
    kernel = KernelManager(kernel_name="current", kernel_spec_manager=_CurrentPython())
    client = NotebookClient(
        nb, km=kernel, timeout=120, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    problems, checks = [], 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name} cell {index}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        if stderr:
            problems.append(f"{where} wrote to stderr: {stderr[0].text[:200]}")
        if not _is_check(cell):
            if errors:
                problems.append(f"{where} failed: {errors[0].ename}: {errors[0].evalue[:200]}")
            continue
        checks += 1
        if not errors:
            problems.append(f"{where}: the check did not fail on the stub ({cell.source!r})")
            continue
        error = errors[0]
        if error.ename != "CheckFailed" or not error.evalue.startswith(NOT_STARTED):
            problems.append(
                f"{where}: failed with {error.ename}: {error.evalue[:200]!r}, not the 'not started' message"
            )
        shown = "\n".join(error.traceback)
        if "Traceback" in shown or NOT_STARTED not in shown:
            problems.append(f"{where}: the notebook shows a traceback, not the short message")
    if not checks:
        problems.append(f"{path.name} has no check cell")
    return problems


@pytest.mark.parametrize("path", EXERCISES, ids=[p.name for p in EXERCISES])
def test_every_check_cell_fails_on_the_stub_with_not_started(path):
    problems = stub_problems(path)
    assert not problems, "\n".join(problems)


def test_the_rule_rejects_a_check_that_passes():
    """The same rule on a solution notebook (its check passes) must report it."""
    problems = stub_problems(ROOT / "solutions" / "04_residual_block.ipynb")
    assert any("did not fail on the stub" in p for p in problems), problems
