"""The exercise generator (resnet_edu.assign) and the nbgrader metadata of solutions/."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from resnet_edu import assign

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def nbgrader(grade_id, solution=False, grade=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def sample_notebook():
    solution = new_code_cell(
        "class Block:\n"
        "    def __init__(self, n):\n"
        "        ### BEGIN SOLUTION\n"
        "        self.n = n\n"
        "        ### END SOLUTION\n"
        "\n"
        "    def forward(self, x):\n"
        "        if x:\n"
        "            ### BEGIN SOLUTION\n"
        "            return x * self.n\n"
        "            ### END SOLUTION\n"
        "        return 0\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "ANSWER = 42\n"
        "### END SOLUTION",
        execution_count=3,
        outputs=[new_output("stream", name="stdout", text="hi\n")],
    )
    solution.metadata["nbgrader"] = nbgrader("block", solution=True)
    solution.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    answer = new_markdown_cell("Explain:\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    answer.metadata["nbgrader"] = nbgrader("why", solution=True)
    check = new_code_cell(
        "assert Block(2).forward(3) == 6\n### BEGIN HIDDEN TESTS\nassert ANSWER == 42\n### END HIDDEN TESTS"
    )
    check.metadata["nbgrader"] = nbgrader("check-block", grade=True, locked=True, points=2)
    nb = new_notebook(cells=[new_markdown_cell("# Title"), solution, answer, check])
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.9"}
    return nb


def test_markers_are_replaced_at_their_indentation():
    nb = assign.make_exercise(sample_notebook())
    assert nb.cells[1].source == (
        "class Block:\n"
        "    def __init__(self, n):\n"
        "        # YOUR CODE HERE\n"
        "        raise NotImplementedError()\n"
        "\n"
        "    def forward(self, x):\n"
        "        if x:\n"
        "            # YOUR CODE HERE\n"
        "            raise NotImplementedError()\n"
        "        return 0\n"
        "\n"
        "# YOUR CODE HERE\n"
        "raise NotImplementedError()"
    )
    assert nb.cells[2].source == "Explain:\n\nYOUR ANSWER HERE"
    assert nb.cells[3].source == "assert Block(2).forward(3) == 6"  # hidden tests removed


def test_a_markdown_answer_without_markers_is_replaced_whole():
    nb = sample_notebook()
    nb.cells[2].source = "The answer is: skip connections."
    assert assign.make_exercise(nb).cells[2].source == "YOUR ANSWER HERE"


def test_outputs_and_run_metadata_are_cleared_and_input_is_not_changed():
    original = sample_notebook()
    before = copy.deepcopy(original)
    nb = assign.make_exercise(original)
    assert original == before
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert all("execution" not in c.metadata for c in nb.cells)
    assert "raises-exception" in nb.cells[3].metadata["tags"]
    assert nb.cells[1].metadata["nbgrader"] == before.cells[1].metadata["nbgrader"]
    assert nb.metadata["language_info"] == {"name": "python"}


def test_output_is_deterministic(tmp_path):
    src = tmp_path / "solutions"
    src.mkdir()
    nbformat.write(sample_notebook(), src / "01_sample.ipynb")
    first, second = tmp_path / "a", tmp_path / "b"
    assert assign.main(["--solutions", str(src), "--exercises", str(first)]) == 0
    assert assign.main(["--solutions", str(src), "--exercises", str(second)]) == 0
    data = (first / "01_sample.ipynb").read_bytes()
    assert data == (second / "01_sample.ipynb").read_bytes()
    assert data.endswith(b"\n") and b"\r\n" not in data
    # Re-running the generator on its own output changes nothing either.
    assert assign.main(["--solutions", str(src), "--exercises", str(first)]) == 0
    assert (first / "01_sample.ipynb").read_bytes() == data


def test_check_detects_drift_and_says_how_to_fix(tmp_path, capsys):
    src, out = tmp_path / "solutions", tmp_path / "exercises"
    src.mkdir()
    nbformat.write(sample_notebook(), src / "01_sample.ipynb")
    assert assign.main(["--solutions", str(src), "--exercises", str(out)]) == 0
    (out / "README.md").write_text("instructors' guide\n")  # other files are not the generator's
    assert assign.main(["--check", "--solutions", str(src), "--exercises", str(out)]) == 0
    capsys.readouterr()

    target = out / "01_sample.ipynb"
    edited = nbformat.read(target, as_version=4)
    edited.cells[1].source = edited.cells[1].source.replace("return 0", "return 1")
    nbformat.write(edited, target)
    assert assign.main(["--check", "--solutions", str(src), "--exercises", str(out)]) == 1
    err = capsys.readouterr().err
    assert "01_sample.ipynb" in err and "cell 1 differs" in err and "python -m resnet_edu.assign" in err

    target.unlink()
    assert assign.main(["--check", "--solutions", str(src), "--exercises", str(out)]) == 1
    assert "is missing" in capsys.readouterr().err

    assign.main(["--solutions", str(src), "--exercises", str(out)])
    nbformat.write(sample_notebook(), out / "99_orphan.ipynb")
    assert assign.main(["--check", "--solutions", str(src), "--exercises", str(out)]) == 1
    assert "99_orphan.ipynb has no source" in capsys.readouterr().err


def test_unclosed_marker_is_an_error(tmp_path, capsys):
    nb = sample_notebook()
    nb.cells[1].source = nb.cells[1].source.replace("        ### END SOLUTION\n\n    def", "\n    def", 1)
    src = tmp_path / "solutions"
    src.mkdir()
    nbformat.write(nb, src / "01_bad.ipynb")
    assert assign.main(["--solutions", str(src), "--exercises", str(tmp_path / "out")]) == 2
    assert "inside another solution region" in capsys.readouterr().err


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "inside another hidden tests region"),
        ("x\n### END HIDDEN TESTS", "line 2: ### END HIDDEN TESTS without ### BEGIN HIDDEN TESTS"),
        ("### BEGIN HIDDEN TESTS\nx", "### BEGIN HIDDEN TESTS is never closed by ### END HIDDEN TESTS"),
    ],
)
def test_bad_hidden_test_markers_are_errors(source, message):
    nb = sample_notebook()
    nb.cells[3].source = source
    with pytest.raises(assign.AssignError, match=re.escape(message)):
        assign.make_exercise(nb)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda nb: nb.cells[3].metadata["nbgrader"].update(grade_id="block"), "used twice"),
        (lambda nb: nb.cells[3].metadata["nbgrader"].update(grade_id="check block!"), "must match"),
        (lambda nb: nb.cells[3].metadata["nbgrader"].pop("points"), "needs points"),
        (lambda nb: nb.cells[3].metadata["nbgrader"].update(locked=False), "must be locked"),
        (lambda nb: nb.cells[1].metadata["nbgrader"].update(schema_version=1), "schema_version must be 3"),
        (lambda nb: nb.cells[1].metadata.pop("nbgrader"), "no nbgrader metadata"),
    ],
)
def test_bad_nbgrader_metadata_is_rejected(change, message):
    nb = sample_notebook()
    change(nb)
    with pytest.raises(assign.AssignError, match=re.escape(message)):
        assign.validate_nbgrader(nb)


# ----- the real solutions/ and exercises/ -----------------------------------------------------


def test_at_least_eight_solution_notebooks():
    assert len(SOLUTIONS) >= 8


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_solution_metadata_follows_nbgrader(path):
    nb = nbformat.read(path, as_version=4)
    assign.validate_nbgrader(nb, path.name)  # raises on any problem
    metas = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    assert metas and all(m["schema_version"] == 3 for m in metas)
    ids = [m["grade_id"] for m in metas]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-zA-Z0-9_-]+", i) for i in ids)
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert solutions and len(checks) == len(solutions)
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and not cell.metadata["nbgrader"]["locked"]
    for cell in checks:
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] and not meta["solution"] and meta["points"] > 0
        assert re.fullmatch(r"check_\w+\(\w+\)", cell.source.strip()), cell.source
    # Each solution cell is followed by its check cell before the next solution cell.
    kinds = ["S" if c in solutions else "C" for c in nb.cells if c in solutions or c in checks]
    assert "".join(kinds) == "SC" * len(solutions)


def test_grade_ids_are_unique_across_the_course():
    ids = [
        c.metadata["nbgrader"]["grade_id"]
        for path in SOLUTIONS
        for c in nbformat.read(path, as_version=4).cells
        if "nbgrader" in c.metadata
    ]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_exercise_keeps_signatures_and_hides_solutions(path):
    solution = nbformat.read(path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    assert len(solution.cells) == len(exercise.cells)
    for sol, ex in zip(solution.cells, exercise.cells):
        assert "### BEGIN SOLUTION" not in ex.source
        if not sol.metadata.get("nbgrader", {}).get("solution"):
            assert sol.source == ex.source
            continue
        assert "raise NotImplementedError()" in ex.source

        signature = re.compile(r"^\s*(def|class) ")
        outside, inside = [], False
        for line in sol.source.split("\n"):
            if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
                inside = line.strip() == "### BEGIN SOLUTION"
            elif signature.match(line):
                (outside if not inside else []).append(line)
        given = [line for line in ex.source.split("\n") if signature.match(line)]
        assert outside and given == outside  # every class / def line is given to the student
        compile(ex.source, path.name, "exec")


def test_committed_exercises_are_in_sync():
    assert assign.check(ROOT / "solutions", ROOT / "exercises") == []
