"""Nothing in the course touches the network.

``.ci/offline CMD`` runs a command in an empty network namespace (only loopback). CI runs
the whole suite that way (``.ci/run`` ends with ``.ci/offline make test``), so there every
unit test, every lesson and the browser test pass with no network; these tests check the
wrapper really cuts the network, that CI really uses it, and, outside CI, import the whole
package and run the first lesson offline (``make test-offline`` runs everything offline).
Where ``unshare`` is not permitted (no root, no user namespaces) they are skipped outside CI
and fail in CI.

    pytest tests/e2e/test_offline.py -v
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from e2e_env import ROOT, in_ci, skip_or_fail

OFFLINE = ROOT / ".ci" / "offline"
TIMEOUT = 240  # seconds for any one offline run

# Run inside the namespace: no route out, no DNS, but loopback works.
PROBE = """
import socket
for what, attempt in [
    ("a TCP connection to 1.1.1.1:53", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3)),
    ("a DNS lookup of pypi.org", lambda: socket.getaddrinfo("pypi.org", 443)),
]:
    try:
        attempt()
    except OSError:
        continue
    raise SystemExit(what + " succeeded: the network is reachable")
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
socket.create_connection(server.getsockname(), timeout=3).close()
print("offline, loopback up")
"""


def _network_reachable() -> bool:
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=3).close()
        return True
    except OSError:
        return False


def _offline(*command: str) -> subprocess.CompletedProcess:
    """Run ``command`` through .ci/offline from the repository root; skip if not permitted."""
    try:
        result = subprocess.run([str(OFFLINE), *command], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    except FileNotFoundError as error:
        skip_or_fail(f"cannot run .ci/offline: {error}")
    refusals = ("Operation not permitted", "Invalid argument", "unshare not found")
    if result.returncode != 0 and "unshare" in result.stderr and any(r in result.stderr for r in refusals):
        skip_or_fail(
            "`unshare --net` is not permitted here (needs root or user namespaces): "
            + result.stderr.strip().splitlines()[-1]
        )
    return result


def test_offline_wrapper_cuts_the_network() -> None:
    result = _offline(sys.executable, "-c", PROBE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline, loopback up" in result.stdout


def test_ci_runs_the_suite_offline() -> None:
    """In CI this very session runs inside .ci/offline, and the network is really gone."""
    if not in_ci():
        pytest.skip("only in CI (CI set): .ci/run runs `make test` through .ci/offline")
    assert os.environ.get("RESNET_EDU_OFFLINE") == "1", ".ci/run must run `make test` through .ci/offline"
    assert not _network_reachable(), "RESNET_EDU_OFFLINE is set but the network is reachable"


IMPORT_ALL = """
import importlib, pkgutil, resnet_edu
names = [m.name for m in pkgutil.walk_packages(resnet_edu.__path__, "resnet_edu.")]
for name in names:
    importlib.import_module(name)
print(f"imported {len(names)} modules offline")
"""


def test_package_and_first_lesson_run_offline() -> None:
    """Outside CI: every module imports and lesson 00 passes nbval with no network.

    (CI runs the whole suite offline; ``make test-offline`` does the same on any machine.)
    """
    if os.environ.get("RESNET_EDU_OFFLINE") == "1":
        # This whole session runs offline (as in CI): every test and lesson is the proof.
        assert not _network_reachable(), "RESNET_EDU_OFFLINE is set but the network is reachable"
        return
    modules = _offline(sys.executable, "-c", IMPORT_ALL)
    assert modules.returncode == 0, "importing resnet_edu failed offline:\n" + modules.stderr[-3000:]
    assert "modules offline" in modules.stdout
    lesson = _offline(
        sys.executable, "-m", "pytest", "--nbval", "lessons/00_start_here.ipynb", "-q", "-p", "no:cacheprovider"
    )
    assert lesson.returncode == 0, "lesson 00 failed offline:\n" + lesson.stdout[-3000:] + lesson.stderr[-2000:]
    assert " passed" in lesson.stdout
