"""The install logic, without downloading anything.

* tools/torch_pip_flags.py picks pip's flags for torch: PyTorch's CPU index on Linux without an
  NVIDIA GPU, pip's default index (and one printed line) when that index cannot be reached,
  nothing on a GPU machine, macOS and Windows; an explicit TORCH_PIP_FLAGS wins in the Makefile.
  A local HTTP server stands in for the CPU index; a fake `nvidia-smi` on PATH for a GPU.
* `make -n` shows the commands `make setup` and `make lab` would run (nothing is installed).
* Binder (repo2docker) reads binder/ only and installs the CPU build of the Makefile's torch.

    pytest tests/test_install.py -v
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "torch_pip_flags.py"
NOTE = "cannot be reached"

spec = importlib.util.spec_from_file_location("torch_pip_flags", SCRIPT)
flags_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flags_module)

GPU_HERE = shutil.which("nvidia-smi") is not None or os.path.exists(flags_module.NVIDIA_PROC)
needs_no_gpu = pytest.mark.skipif(GPU_HERE, reason="this machine has an NVIDIA driver")


class _Index(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # a PEP 503 page for torch, and 404 for anything else
        found = self.path.rstrip("/") == "/whl/cpu/torch"
        self.send_response(200 if found else 404)
        self.end_headers()
        if found:
            self.wfile.write(b"<html><body></body></html>")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def cpu_index() -> Iterator[str]:
    """A stand-in for PyTorch's CPU index on 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def unreachable_index() -> str:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/whl/cpu"


@pytest.fixture
def fake_gpu(tmp_path: Path) -> Path:
    """A folder with an `nvidia-smi`, to put first on PATH."""
    tool = tmp_path / "gpu" / "nvidia-smi"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho 'NVIDIA-SMI (fake)'\n")
    tool.chmod(0o755)
    return tool.parent


# --- the decision --------------------------------------------------------------------------


def _never(index: str) -> bool:
    raise AssertionError("the CPU index must not be probed here")


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_macos_and_windows_keep_pips_default_index(system: str) -> None:
    assert flags_module.torch_pip_flags(system, gpu=False, reachable=_never) == ("", None)


def test_linux_with_a_gpu_keeps_pips_default_index() -> None:
    assert flags_module.torch_pip_flags("Linux", gpu=True, reachable=_never) == ("", None)


def test_linux_without_a_gpu_takes_the_cpu_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCH_CPU_INDEX", raising=False)
    flags, note = flags_module.torch_pip_flags("Linux", gpu=False, reachable=lambda index: True)
    assert flags == "--index-url https://download.pytorch.org/whl/cpu" and note is None


def test_linux_without_a_gpu_falls_back_when_the_index_is_unreachable() -> None:
    flags, note = flags_module.torch_pip_flags("Linux", gpu=False, reachable=lambda index: False)
    assert flags == ""
    assert NOTE in note and "\n" not in note


def test_gpu_detection(fake_gpu: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(flags_module, "NVIDIA_PROC", str(tmp_path / "no-such-driver"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not flags_module.has_nvidia_gpu()
    monkeypatch.setenv("PATH", str(fake_gpu))
    assert flags_module.has_nvidia_gpu()
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(flags_module, "NVIDIA_PROC", str(tmp_path))  # a driver's /proc entry
    assert flags_module.has_nvidia_gpu()


def test_probe(cpu_index: str, unreachable_index: str) -> None:
    assert flags_module.index_reachable(cpu_index)
    assert not flags_module.index_reachable(cpu_index + "/nothing-here")  # 404
    start = time.monotonic()
    assert not flags_module.index_reachable(unreachable_index)
    assert not flags_module.index_reachable("https://host.invalid/whl/cpu")  # no such host
    assert time.monotonic() - start < 2 * flags_module.PROBE_TIMEOUT


# --- the Makefile: `make -n` prints the commands, runs none of them --------------------------


def _make(
    *args: str, path_first: Path | None = None, index: str | None = None, tmp_path: Path
) -> subprocess.CompletedProcess:
    make = shutil.which("make")
    if make is None:
        pytest.skip("`make` is not installed")
    env = dict(os.environ)
    env.pop("TORCH_PIP_FLAGS", None)
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
    if index is not None:
        env["TORCH_CPU_INDEX"] = index
    venv = tmp_path / "venv"  # not ready, so `make -n setup` shows every step
    return subprocess.run(
        [make, "-n", "--no-print-directory", f"VENV={venv}", f"PYTHON={sys.executable}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _torch_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stdout.splitlines() if "pip install" in line and "torch==" in line]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


@needs_no_gpu
def test_make_setup_without_a_gpu_uses_the_cpu_index(cpu_index: str, tmp_path: Path) -> None:
    result = _make("setup", index=cpu_index, tmp_path=tmp_path)
    assert f"--index-url {cpu_index} " in _torch_line(result)
    assert NOTE not in result.stderr


@needs_no_gpu
def test_make_setup_falls_back_with_one_line(unreachable_index: str, tmp_path: Path) -> None:
    start = time.monotonic()
    result = _make("setup", index=unreachable_index, tmp_path=tmp_path)
    assert time.monotonic() - start < 20
    assert "--index-url" not in _torch_line(result)
    notes = [line for line in result.stderr.splitlines() if NOTE in line]
    assert len(notes) == 1, result.stderr


def test_make_setup_with_a_gpu_uses_pips_default_index(fake_gpu: Path, cpu_index: str, tmp_path: Path) -> None:
    result = _make("setup", path_first=fake_gpu, index=cpu_index, tmp_path=tmp_path)
    assert "--index-url" not in _torch_line(result)
    assert NOTE not in result.stderr


@pytest.mark.parametrize("flags", ["--index-url https://example.org/simple", ""])
def test_explicit_torch_pip_flags_win(flags: str, unreachable_index: str, tmp_path: Path) -> None:
    result = _make("setup", f"TORCH_PIP_FLAGS={flags}", index=unreachable_index, tmp_path=tmp_path)
    line = _torch_line(result)
    assert (flags in line) if flags else ("--index-url" not in line)
    assert NOTE not in result.stderr  # the script did not even run


def test_make_lab_command(tmp_path: Path) -> None:
    result = _make("lab", "LAB_FLAGS=--port=8899 --ip=0.0.0.0", tmp_path=tmp_path)
    line = next(line for line in result.stdout.splitlines() if "jupyter lab" in line)
    assert "--LabApp.default_url=/lab/tree/lessons/00_start_here.ipynb" in line
    assert (ROOT / "lessons" / "00_start_here.ipynb").exists()
    assert line.rstrip().endswith("--ip=127.0.0.1"), "127.0.0.1 must come last, so LAB_FLAGS cannot change it"
    assert "--port=8899" in line and "token" not in line.lower()
    root = os.geteuid() == 0
    assert ("--allow-root" in line) == root
    assert ("running as root" in result.stdout) == root


# --- Binder ----------------------------------------------------------------------------------


def test_binder_installs_the_cpu_build_of_the_makefiles_torch() -> None:
    makefile = (ROOT / "Makefile").read_text()
    version = re.search(r"^TORCH \?= torch==([\w.]+)$", makefile, flags=re.M).group(1)
    binder = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert f"torch=={version}+cpu" in binder
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in binder
    assert "-r ../requirements.txt" in binder, "the package list lives in the root requirements.txt"


def test_repo2docker_reads_only_binder() -> None:
    """With binder/ present, repo2docker ignores root files: none may be left there to mislead."""
    for name in ("apt.txt", "postBuild", "runtime.txt", "environment.yml", "start", "Project.toml"):
        assert not (ROOT / name).exists(), f"{name} at the root is ignored by repo2docker: move it to binder/"
    assert "graphviz" in (ROOT / "binder" / "apt.txt").read_text().split()
    assert re.fullmatch(r"python-3\.\d+\s*", (ROOT / "binder" / "runtime.txt").read_text())
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)


def test_site_tools_stay_out_of_the_default_install() -> None:
    default = (ROOT / "requirements.txt").read_text().lower()
    for name in ("sphinx", "myst", "furo"):
        assert name not in default, f"{name} belongs in requirements-site.txt"
