"""Shared settings of the end-to-end tests (imported by conftest.py and the test files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("RESNET_EDU_CHROMIUM", "/usr/bin/chromium")
# Flags that work headless on these machines (no GPU, no sandbox as root, nothing phoning home).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Screenshots and the server log land here (gitignored): benchmarks/results/e2e/.
ARTIFACTS = Path(os.environ.get("RESNET_EDU_E2E_ARTIFACTS", ROOT / "benchmarks" / "results" / "e2e"))
SERVER_START_TIMEOUT = 90.0  # seconds, includes `make`'s up-to-date check
# JupyterLab user settings for the test session only: never autosave (running the lessons
# must not rewrite the committed notebooks), keep every cell in the DOM, ask nothing.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def in_ci() -> bool:
    """True when the environment variable CI is set to something other than false/0/no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; in CI (``CI`` set) fail instead, since a skip would hide it."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)
