"""The exercise generator: ``python -m resnet_edu.assign`` writes ``exercises/`` from ``solutions/``.

``solutions/`` is the single source. In every cell that nbgrader marks
as a solution cell, each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
replaced by ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the marker's
indentation (``YOUR ANSWER HERE`` in a markdown cell), as nbgrader's own ``generate_assignment``
does; regions between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed;
outputs, execution counts and run metadata are cleared. Check cells also get the
``raises-exception`` tag, so ``pytest --nbval exercises/`` accepts their "not started" failure.
The output bytes depend only on the solutions, so ``--check`` can fail CI on drift.

Uses nbformat only (no nbgrader needed).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"
GRADE_ID = re.compile(r"^[a-zA-Z0-9_-]*$")
NBGRADER_KEYS = {"schema_version", "grade", "solution", "locked", "grade_id", "points", "task", "cell_type"}
_REGION = {BEGIN: "solution", BEGIN_HIDDEN: "hidden tests"}  # what a region is called in messages
FIX = "run `python -m resnet_edu.assign` to regenerate exercises/ (edit solutions/, never exercises/)"


class AssignError(ValueError):
    """A solution notebook that cannot be turned into an exercise (bad markers or metadata)."""


def _replace_regions(lines: list[str], begin: str, end: str, stub: list[str], where: str) -> list[str]:
    """``lines`` with every region from a ``begin`` line to an ``end`` line (both included) replaced by
    ``stub``, indented like the ``begin`` marker. Regions cannot nest, and every one must be closed."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise AssignError(f"{where}, line {number}: {begin} inside another {_REGION[begin]} region")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + text for text in stub)
        elif stripped == end:
            if not inside:
                raise AssignError(f"{where}, line {number}: {end} without {begin}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise AssignError(f"{where}: {begin} is never closed by {end}")
    return out


def validate_nbgrader(nb: nbformat.NotebookNode, name: str = "notebook") -> None:
    """Check the cells' nbgrader metadata against nbgrader's rules (schema version 3).

    Unique ``grade_id``s matching ``^[a-zA-Z0-9_-]*$`` on every nbgrader cell, ``points`` >= 0
    on graded cells, solution cells that are not locked, markers only in solution cells.
    Raises :class:`AssignError` naming the cell.
    """
    ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        meta = cell.get("metadata", {}).get("nbgrader")
        source = cell.get("source", "")
        if meta is None:
            if BEGIN in source:
                raise AssignError(f"{where}: has {BEGIN} but no nbgrader metadata with solution=true")
            continue
        unknown = set(meta) - NBGRADER_KEYS
        if unknown:
            raise AssignError(f"{where}: unknown nbgrader keys {sorted(unknown)}")
        if meta.get("schema_version") != 3:
            raise AssignError(f"{where}: nbgrader schema_version must be 3, got {meta.get('schema_version')!r}")
        for key in ("grade", "solution", "locked", "grade_id"):
            if key not in meta:
                raise AssignError(f"{where}: nbgrader metadata lacks {key!r}")
        grade_id = meta["grade_id"]
        if not isinstance(grade_id, str) or not grade_id or not GRADE_ID.match(grade_id):
            raise AssignError(f"{where}: grade_id {grade_id!r} must match {GRADE_ID.pattern} and not be empty")
        if grade_id in ids:
            raise AssignError(f"{where}: grade_id {grade_id!r} is used twice")
        ids.add(grade_id)
        if meta["grade"]:
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise AssignError(f"{where}: a graded cell needs points >= 0, got {points!r}")
        if meta["solution"] and meta["locked"]:
            raise AssignError(f"{where}: a solution cell cannot be locked")
        if meta["solution"] and BEGIN not in source and cell.cell_type == "code":
            raise AssignError(f"{where}: a solution code cell without {BEGIN} / {END} markers")
        if not meta["solution"] and BEGIN in source:
            raise AssignError(f"{where}: {BEGIN} in a cell that is not a solution cell")
        if meta["grade"] and cell.cell_type == "code" and not meta["locked"]:
            raise AssignError(f"{where}: an autograded (check) cell must be locked")


def make_exercise(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The student version of one solution notebook (a new notebook; ``nb`` is not changed)."""
    validate_nbgrader(nb, name)
    nb = nbformat.from_dict(nb)  # a deep copy
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        meta = cell.metadata.get("nbgrader", {})
        lines = cell.source.split("\n")
        if meta.get("solution") and cell.cell_type == "markdown" and BEGIN not in cell.source:
            lines = [MARKDOWN_STUB]  # as nbgrader does: a whole-cell written answer
        elif meta.get("solution"):
            stub = [MARKDOWN_STUB] if cell.cell_type == "markdown" else list(CODE_STUB)
            lines = _replace_regions(lines, BEGIN, END, stub, where)
        lines = _replace_regions(lines, BEGIN_HIDDEN, END_HIDDEN, [], where)
        cell.source = "\n".join(lines)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if meta.get("grade") and not meta.get("solution"):
                tags = list(cell.metadata.get("tags", []))
                if "raises-exception" not in tags:
                    cell.metadata["tags"] = tags + ["raises-exception"]
    nb.metadata = nbformat.from_dict(
        {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The exact text written for a notebook (sorted keys, one-space indent, final newline)."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def expected_files(solutions: Path) -> dict[str, str]:
    """``{file name: text}`` of every exercise the solutions generate."""
    paths = sorted(solutions.glob("*.ipynb"))
    if not paths:
        raise AssignError(f"no notebooks in {solutions}/")
    files = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        files[path.name] = render(make_exercise(nb, str(path)))
    return files


def _first_difference(old: str, new: str) -> str:
    try:
        old_nb, new_nb = nbformat.reads(old, as_version=4), nbformat.reads(new, as_version=4)
    except Exception:  # noqa: BLE001 - not even a notebook
        return "it is not a valid notebook"
    if len(old_nb.cells) != len(new_nb.cells):
        return f"it has {len(old_nb.cells)} cells, the solutions give {len(new_nb.cells)}"
    for index, (a, b) in enumerate(zip(old_nb.cells, new_nb.cells)):
        if a != b:
            first = b.source.split("\n", 1)[0][:60]
            return f"cell {index} differs (expected it to start with {first!r})"
    return "the notebook metadata or formatting differs"


def check(solutions: Path, exercises: Path) -> list[str]:
    """Problems that make ``exercises`` differ from what the generator writes (empty: in sync)."""
    problems = []
    files = expected_files(solutions)
    for name, text in files.items():
        target = exercises / name
        if not target.exists():
            problems.append(f"{target} is missing; {FIX}")
            continue
        old = target.read_text(encoding="utf-8")
        if old != text:
            problems.append(
                f"{target} differs from what {solutions / name} generates: {_first_difference(old, text)}; {FIX}"
            )
    if exercises.is_dir():
        for path in sorted(exercises.glob("*.ipynb")):
            if path.name not in files:
                problems.append(f"{path} has no source {solutions / path.name}; delete it or add the solution notebook")
    return problems


def write(solutions: Path, exercises: Path) -> list[Path]:
    """Write every exercise notebook; returns the paths written. Other files are left alone."""
    files = expected_files(solutions)
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = exercises / name
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resnet_edu.assign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if exercises/ is out of date")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"), help="source folder (default: solutions)")
    parser.add_argument("--exercises", type=Path, default=Path("exercises"), help="output folder (default: exercises)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.solutions, args.exercises)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                return 1
            print(f"{args.exercises}/ is up to date with {args.solutions}/")
            return 0
        for path in write(args.solutions, args.exercises):
            print(f"wrote {path}")
        return 0
    except AssignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
