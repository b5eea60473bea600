"""The failure a check raises: a short message instead of a wall of traceback.

:class:`CheckFailed` is an ``AssertionError``, so nbgrader, nbval and pytest count the cell
or test as failed. In a notebook, IPython calls the exception's ``_render_traceback_``
hook instead of printing the traceback, so the student sees only the message.
"""

from __future__ import annotations

from ..claims import CHECK_MARK, ShortError

#: First words of the message a check gives when the exercise still raises NotImplementedError.
NOT_STARTED = "Not started yet"


class CheckFailed(ShortError):
    """A check found a mistake. ``mistake`` names it (for tests); the message explains it."""

    def __init__(self, message: str, mistake: str = "other") -> None:
        super().__init__(message)
        self.mistake = mistake


def fail(mistake: str, tried: str, expected: str, cause: str, hint: str) -> CheckFailed:
    """Build a :class:`CheckFailed` whose message has the four parts every check message has."""
    lines = [f"Tried: {tried}", f"Expected: {expected}", f"Likely mistake: {cause}", f"Hint: {hint}"]
    return CheckFailed("\n".join(lines), mistake)


def not_started(what: str) -> CheckFailed:
    """The friendly failure of an exercise whose code still raises ``NotImplementedError``."""
    return CheckFailed(
        f"{NOT_STARTED}: {what} still raises NotImplementedError.\n"
        "Replace the lines '# YOUR CODE HERE' and 'raise NotImplementedError()' with your code,\n"
        "run that cell, then run this check again.",
        "not_started",
    )


def passed(text: str) -> None:
    """Print the one line of a successful check."""
    print(f"{CHECK_MARK} {text}")
