"""Fixtures for the end-to-end tests: JupyterLab started by ``make lab``, headless Chromium.

The browser is Debian's ``chromium`` driven by the ``playwright`` Python package
(``executable_path``); ``playwright install`` is never needed. Where Chromium or playwright
is missing the browser tests are skipped with the reason, except when the environment
variable ``CI`` is set: there a skip would hide a broken set-up, so they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_env import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, LAB_SETTINGS, ROOT, SERVER_START_TIMEOUT, skip_or_fail


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LabServer:
    url: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # the server's root directory (the repository)

    def lab_url(self, notebook: str) -> str:
        """Address of ``notebook`` (relative to the repository) in JupyterLab, with the token."""
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"

    def request(self, path: str, token: bool = True, method: str = "GET", timeout: float = 5.0) -> int:
        """HTTP status of one request to the server's REST API."""
        headers = {"Authorization": f"token {self.token}"} if token else {}
        data = b"" if method in ("POST", "PUT") else None
        req = urllib.request.Request(self.url + path, headers=headers, method=method, data=data)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (sessions end with them)."""
        req = urllib.request.Request(self.url + "/api/kernels", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=5) as response:
            kernels = json.load(response)
        for kernel in kernels:
            self.request(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=15)


def _stop(process: subprocess.Popen, server: LabServer) -> None:
    """Shut the server down (its kernels with it), then end make's process group if needed."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            server.request("/api/shutdown", method="POST")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)  # the group of the make we started: make + jupyter lab
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab started the README's way, ``make lab``, on 127.0.0.1 with a fresh token."""
    make = shutil.which("make")
    if make is None:
        skip_or_fail("`make` is not installed: the README's `make lab` cannot run")
    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    token = secrets.token_hex(24)
    port = free_port()
    flags = (
        f"--no-browser --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
        f" --FileCheckpoints.checkpoint_dir={home / 'checkpoints'}"  # not .ipynb_checkpoints/ in lessons/
    )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags += " --allow-root"  # CI containers run as root; JupyterLab refuses root otherwise
    command = [make, "--no-print-directory", "lab", f"LAB_FLAGS={flags}"]
    venv = Path(sys.prefix)
    if venv.resolve() != (ROOT / ".venv").resolve() and (venv / ".ready").exists():
        command.append(f"VENV={venv}")  # the environment these tests run in, made by `make setup`
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "jupyterlab.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root=ROOT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while True:
                if process.poll() is not None:
                    pytest.fail(
                        f"`make lab` exited with {process.returncode}; see {log_path}:\n"
                        + log_path.read_text()[-3000:],
                        pytrace=False,
                    )
                try:
                    if server.request("/api/status") == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not answer within {SERVER_START_TIMEOUT:.0f} s; see {log_path}", pytrace=False
                    )
                time.sleep(0.3)
            yield server
        finally:
            _stop(process, server)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The gitignored folder for screenshots and the server log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """A headless Chromium (Debian's), fresh profile, driven by playwright; closed after the module.

    Not kept for the whole session: playwright's sync API leaves an asyncio event loop running in
    the main thread while it is open, which would change how later tests' widgets behave.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail(
            "the `playwright` Python package is not installed (pip install playwright; "
            "no `playwright install` needed, the test uses the system Chromium)"
        )
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(
            f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; "
            "or set RESNET_EDU_CHROMIUM to a Chromium binary)"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
            timeout=60_000,
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
