"""Benchmarks of the course (not a test): how long each lesson notebook takes to execute,
each widget's median redraw time, and the training loop's overhead over a bare PyTorch loop.

    python benchmarks/run.py                 # every lesson and every widget
    python benchmarks/run.py --lessons 00 03 # only these lessons, no widgets
    python benchmarks/run.py --baseline 4c04da0   # lessons and widgets now and at that commit
    python benchmarks/run.py --baseline 4c04da0 --widgets-only

With ``--baseline REV`` each lesson is timed as it is now and as it was at commit REV (its
notebooks run against its own package, from a temporary git worktree), alternating, so both
columns see the same machine load; then the widget redraws, now and with REV's package,
alternating over two rounds.

Each notebook runs in a fresh kernel, as `pytest --nbval lessons/` does; the kernel start
(about 1-2 s) is reported separately from the execution time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def time_notebook(path: pathlib.Path, package_root: pathlib.Path | None = None) -> tuple[float, float]:
    """(kernel start, cell execution) in seconds for one notebook.

    With ``package_root``, the kernel imports ``resnet_edu`` from there (a baseline worktree).
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    saved = os.environ.get("PYTHONPATH")
    if package_root is not None:
        os.environ["PYTHONPATH"] = str(package_root)
    t0 = time.perf_counter()
    with client.setup_kernel():
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        t1 = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        t2 = time.perf_counter()
    failed = [
        i for i, cell in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
    ]
    if failed:
        print(f"  ({path.name}: cells {failed} raised an error; the time covers the whole run anyway)", flush=True)
    return t1 - t0, t2 - t1


def widget_timings(repeats: int = 7) -> list[tuple[str, float]]:
    """Median redraw time of every widget listed in ``widget_benchmarks.WIDGETS``, set up as
    in a lesson (``start()``: one torch thread, seeded)."""
    from widget_benchmarks import WIDGETS

    from resnet_edu.startup import start

    start()
    results = []
    for name, make, change in WIDGETS:
        widget = make()
        times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            change(widget, i)
            times.append(time.perf_counter() - t0)
        results.append((name, statistics.median(times)))
    return results


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[pathlib.Path]:
    """A temporary, detached git worktree of ``rev`` (removed afterwards)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev], check=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def widget_timings_with(package_root: pathlib.Path | None = None) -> dict[str, float]:
    """:func:`widget_timings` in a fresh process, importing ``resnet_edu`` from ``package_root``
    (a baseline worktree) or from this tree."""
    here = pathlib.Path(__file__).resolve().parent
    path = os.pathsep.join(str(p) for p in (package_root or ROOT, here))
    code = "import json, run; print(json.dumps(dict(run.widget_timings())))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=here, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"  (widget timings failed: {done.stderr.strip().splitlines()[-1:]})", flush=True)
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_widgets_with_baseline(base: pathlib.Path, rev: str, rounds: int = 2) -> None:
    """Each widget's median redraw now and with the package at ``rev``, alternating; print the
    range over the rounds."""
    now: dict[str, list[float]] = {}
    before: dict[str, list[float]] = {}
    for round_ in range(rounds):
        order = ((now, None), (before, base))
        for timings, root in order if round_ % 2 == 0 else order[::-1]:  # each goes first once
            for name, seconds in widget_timings_with(root).items():
                timings.setdefault(name, []).append(seconds)

    def span(values: list[float] | None) -> str:
        return "-" if not values else f"{1000 * min(values):.0f}-{1000 * max(values):.0f} ms"

    print(f"\n{'widget redraw (median of 7, per round)':40s} {'now':>14s} {rev[:10]:>14s}")
    for name in now:
        print(f"{name:40s} {span(now[name]):>14s} {span(before.get(name)):>14s}", flush=True)


def compare_with_baseline(paths: list[pathlib.Path], rev: str, widgets: bool = True) -> None:
    """Time each lesson now and at ``rev``, alternating; print both and the totals. Then the
    widgets, the same way (unless ``widgets`` is False)."""
    with worktree(rev) as base:
        if paths:
            compare_lessons_with_baseline(paths, base, rev)
        if widgets:
            compare_widgets_with_baseline(base, rev)


def compare_lessons_with_baseline(paths: list[pathlib.Path], base: pathlib.Path, rev: str) -> None:
    """Each lesson now and in the worktree ``base`` (commit ``rev``), alternating."""
    print(f"{'lesson':40s} {'now':>10s} {rev[:10]:>10s}   (execution, kernel start excluded)")
    totals = [0.0, 0.0]
    for path in paths:
        old = base / "lessons" / path.name
        now = time_notebook(path)[1]
        before = time_notebook(old, package_root=base)[1] if old.exists() else None
        totals[0] += now
        totals[1] += before or 0.0
        shown = "(new)" if before is None else f"{before:9.1f}s"
        print(f"{path.name:40s} {now:9.1f}s {shown:>10s}", flush=True)
    print(f"{'total':40s} {totals[0]:9.1f}s {totals[1]:9.1f}s")


def machine_description() -> str:
    """CPU model, cores available, Python and torch versions."""
    import os

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"machine: {cpu}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", help="lesson numbers to run (default: all)")
    parser.add_argument("--baseline", metavar="REV", help="also time lessons and widgets at commit REV, alternating")
    parser.add_argument("--no-browser", action="store_true", help="show the browser latencies of the last test run")
    parser.add_argument("--widgets-only", action="store_true", help="with --baseline: compare only the widgets")
    args = parser.parse_args()
    if args.widgets_only and (not args.baseline or args.lessons):
        parser.error("--widgets-only goes with --baseline, without --lessons")
    paths = sorted(LESSONS.glob("*.ipynb"))
    if args.lessons:
        paths = [p for p in paths if p.name[:2] in args.lessons]
    print(machine_description())
    if args.baseline:
        compare_with_baseline([] if args.widgets_only else paths, args.baseline, widgets=not args.lessons)
        return
    print(f"{'lesson':40s} {'kernel start':>12s} {'execution':>10s}")
    total = 0.0
    for path in paths:
        start, run = time_notebook(path)
        total += start + run
        print(f"{path.name:40s} {start:11.1f}s {run:9.1f}s", flush=True)
    print(f"{'total (with kernel starts)':40s} {'':>12s} {total:9.1f}s")
    if args.lessons:
        return
    timings = widget_timings()
    if timings:
        print(f"\n{'widget redraw':40s} {'median':>10s}")
        for name, seconds in timings:
            print(f"{name:40s} {1000 * seconds:8.0f}ms")
    from widget_benchmarks import browser_latencies

    latencies, note = browser_latencies(run=not args.no_browser)
    print(f"\n{'widget, change to new figure in Chromium':40s} {'median':>10s}   ({note})")
    for name, seconds in latencies.items():
        print(f"{name:40s} {1000 * seconds:8.0f}ms")
    from training_overhead import training_overhead

    overhead = training_overhead()
    print(f"\n{'training loop, MLP depth 20, ' + str(overhead.steps) + ' steps':40s} {'median':>10s}")
    print(f"{'bare PyTorch loop':40s} {overhead.bare:9.2f}s")
    print(f"{'resnet_edu.train.train':40s} {overhead.course:9.2f}s")
    warning = "" if overhead.same_result else "  (WARNING: the two loops ended on different losses)"
    print(f"{'overhead':40s} {overhead.percent:+9.1f}%{warning}")


if __name__ == "__main__":
    main()
