"""A lesson's claims, checked where they are made.

Every claim a lesson's text makes (deeper plain nets train worse, the skip keeps the gradient
alive, ...) is checked in the notebook, right after the experiment, with :func:`claim`::

    claim("the 56-layer plain net ends near chance", plain_56_loss, ">", 1.5)

On success it prints one stable line, ``✓ the 56-layer plain net ends near chance``, never the
measured number (numbers differ between machines; the claim does not). On failure it raises
:class:`ClaimFailed`, an ``AssertionError``, so nbval and pytest fail; in a notebook the student
sees a short message (what the lesson expected, what this run measured, what to do), not a
traceback.

Thresholds are set from the spread measured by ``make robustness`` (seeds shifted, two threads),
which reads every claim from the file named by ``$RESNET_EDU_CLAIMS_LOG``: one JSON line per call.
"""

from __future__ import annotations

import json
import math
import operator
import os

CHECK_MARK = "\u2713"
CROSS = "\u2717"
#: Environment variable naming the file that :func:`claim` appends its records to.
CLAIMS_LOG_VARIABLE = "RESNET_EDU_CLAIMS_LOG"
_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class ShortError(AssertionError):
    """An ``AssertionError`` that a notebook shows as its message alone.

    IPython calls ``_render_traceback_`` instead of printing the traceback; the cell still fails
    (for nbval, nbgrader and pytest alike). The first line is shown in bold red after a cross.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        first, *rest = self.message.splitlines() or [""]
        return [f"\x1b[1;31m{CROSS} {first}\x1b[0m", *rest]


class ClaimFailed(ShortError):
    """A lesson's claim did not hold in this run."""


def margin(value: float, op: str, threshold: float) -> float:
    """How far ``value`` is inside the claim, relative to the threshold (negative: outside).

    ``margin(0.8, "<", 1.0) == 0.2``: the value could grow by 20% of the threshold and the claim
    would still hold.
    """
    if op not in _COMPARISONS:
        raise ValueError(f"op must be one of {', '.join(map(repr, _COMPARISONS))}, got {op!r}")
    scale = abs(threshold) if threshold != 0 else 1.0
    distance = threshold - value if op in ("<", "<=") else value - threshold
    return distance / scale


def claim(statement: str, value: float, op: str, threshold: float, hint: str | None = None) -> None:
    """Check that ``value op threshold`` holds; print ``✓ statement`` or raise :class:`ClaimFailed`.

    ``statement`` is the claim in words, as the lesson's text makes it. ``hint`` (optional) says
    what a student could try when the claim fails (for example, a longer training run).
    """
    if not isinstance(statement, str) or not statement:
        raise TypeError(f"statement must be a non-empty str, got {statement!r}")
    if op not in _COMPARISONS:
        raise ValueError(f"op must be one of {', '.join(map(repr, _COMPARISONS))}, got {op!r}")
    try:
        value, threshold = float(value), float(threshold)
    except (TypeError, ValueError):
        raise TypeError(f"value and threshold must be numbers, got {value!r} and {threshold!r}") from None
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    held = not math.isnan(value) and _COMPARISONS[op](value, threshold)
    _record(statement, value, op, threshold, held)
    if held:
        print(f"{CHECK_MARK} {statement}")
        return
    lines = [
        f"This lesson expected: {statement}.",
        f"This run measured {value:.4g}; the claim needs a value {op} {threshold:.4g}.",
        "Training runs differ a little between machines (CPU, torch version, thread count); the",
        "threshold was set from runs with shifted seeds and two threads, and this run fell outside it.",
        "What to do: re-run the notebook from the top (Kernel > Restart Kernel and Run All Cells).",
        "If it fails again, look at the figure above: you can keep going by running the next cells.",
    ]
    if hint:
        lines.append(f"Hint: {hint}")
    raise ClaimFailed("\n".join(lines))


def _record(statement: str, value: float, op: str, threshold: float, held: bool) -> None:
    """Append the claim to ``$RESNET_EDU_CLAIMS_LOG`` when it is set (for ``make robustness``)."""
    path = os.environ.get(CLAIMS_LOG_VARIABLE)
    if not path:
        return
    record = {
        "statement": statement,
        "value": None if math.isnan(value) else value,
        "op": op,
        "threshold": threshold,
        "margin": None if math.isnan(value) else margin(value, op, threshold),
        "held": held,
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
