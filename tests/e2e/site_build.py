"""The course's website built once per test session with the README's ``make site``.

Used by tests/test_site.py (the pages' contents) and tests/e2e/test_site_browser.py (the pages
in Chromium). The site's tools (requirements-site.txt) are installed by ``make site`` or ``make
site-setup``, never by the tests: where they are missing the site tests are skipped with the
reason (in CI, where .ci/run installs them, they fail instead).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from e2e_env import ROOT, skip_or_fail

SITE_TOOLS = ("sphinx", "myst_nb", "furo")
BUILD_TIMEOUT = 300  # seconds; the build takes ~15 s on two loaded cores


def build_site(dest: Path) -> Path:
    """Build the site into ``dest/html`` (once: later calls reuse it) and return that folder.

    The build's output (Sphinx's warnings among it) is kept in ``dest/build.log``.
    """
    html = dest / "html"
    if (dest / "built").exists():
        return html
    missing = [name for name in SITE_TOOLS if importlib.util.find_spec(name) is None]
    if missing:
        skip_or_fail(
            f"the website's tools are not installed ({', '.join(missing)}): run `make site-setup` (or `make site`) once"
        )
    make = shutil.which("make")
    if make is None:
        skip_or_fail("`make` is not installed: the README's `make site` cannot run")
    command = [make, "--no-print-directory", "site", f"SITE={html}", f"SITE_BUILD={dest / 'build'}"]
    venv = Path(sys.prefix)
    if venv.resolve() != (ROOT / ".venv").resolve() and (venv / ".ready").exists():
        command.append(f"VENV={venv}")  # the environment these tests run in
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=dict(os.environ)
    )
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "build.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"`make site` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    (dest / "built").touch()
    return html
