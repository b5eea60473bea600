"""Print the pip flags for installing torch on this machine (used by the Makefile).

    python3 tools/torch_pip_flags.py        # prints e.g. --index-url https://download.pytorch.org/whl/cpu

* Linux without an NVIDIA GPU: PyTorch's CPU wheel index (a ~200 MB torch instead of PyPI's
  Linux build, which bundles CUDA: several GB). When that index cannot be reached within a few
  seconds, nothing is printed (pip uses its default index) and one line on stderr says so.
* Linux with an NVIDIA GPU (``nvidia-smi`` on PATH, or /proc/driver/nvidia), macOS, Windows:
  nothing (pip's default index, as before).

The Makefile runs this only when TORCH_PIP_FLAGS is not given (``make lab TORCH_PIP_FLAGS=``
forces pip's default index). Standard library only: it runs before the environment has
anything. Set TORCH_CPU_INDEX to use another CPU index (a mirror).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import urllib.error
import urllib.request

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
NVIDIA_PROC = "/proc/driver/nvidia"
PROBE_TIMEOUT = 5.0  # seconds; an unreachable host usually fails at once (no DNS, refused)


def has_nvidia_gpu() -> bool:
    """True where an NVIDIA driver is installed (its tool or its /proc entry)."""
    return shutil.which("nvidia-smi") is not None or os.path.exists(NVIDIA_PROC)


def index_reachable(index: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when ``index``'s page for torch answers (honours HTTPS_PROXY like pip does)."""
    try:
        with urllib.request.urlopen(index.rstrip("/") + "/torch/", timeout=timeout) as response:
            return response.status < 400
    except (OSError, ValueError):  # URLError, HTTPError, timeouts are OSErrors
        return False


def torch_pip_flags(system: str, gpu: bool, reachable) -> tuple[str, str | None]:
    """(flags, note): the pip flags for torch, and the one line to print, if any.

    ``reachable`` is called (with no argument) only when the CPU index would be used.
    """
    if system != "Linux" or gpu:
        return "", None
    index = os.environ.get("TORCH_CPU_INDEX", CPU_INDEX)
    if reachable(index):
        return f"--index-url {index}", None
    return "", (
        f"NOTE: PyTorch's CPU index ({index}) cannot be reached: installing torch from "
        "pip's default index instead (on Linux that can be a large CUDA build; see README)."
    )


def main() -> int:
    flags, note = torch_pip_flags(platform.system(), has_nvidia_gpu(), lambda index: index_reachable(index))
    if note:
        print(note, file=sys.stderr)
    print(flags)
    return 0


if __name__ == "__main__":
    sys.exit(main())
