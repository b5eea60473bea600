"""Do the lessons' claims hold on other machines? (`make robustness`; a benchmark, not a test.)

One thread and fixed seeds make a notebook repeat itself on one machine only: on another CPU,
torch build or thread count, float rounding differs and training follows another path. This
script stands in for other machines: it executes each notebook in a fresh kernel under
perturbations and records every claim the notebook checks with ``resnet_edu.claims.claim``:

    k0   the stored seeds, on this machine
    kN   every seed shifted by N ($RESNET_EDU_SEED_SHIFT=N: torch, NumPy, Python, the data split
         and the package's own generators, all through resnet_edu.seeding)
    tN   the stored seeds with N torch threads ($RESNET_EDU_THREADS=N)

It writes a table per claim (threshold, value in the k0 run, min and max over the perturbed
runs, the smallest margin, how many runs held) and per run (time, failures) to
``benchmarks/results/robustness.md`` and ``.json`` (``--out`` names them otherwise), and
exits non-zero if any claim failed or any cell raised an unexpected error in any run.

    python benchmarks/robustness.py                           # lessons, k0, k1-k5 and t2
    python benchmarks/robustness.py --lessons 06 07 --shifts 1 2
    python benchmarks/robustness.py --solutions --shifts 1 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
EXPECTED_ERRORS = {"raises-exception", "nbval-raises-exception"}


@dataclass(frozen=True)
class Perturbation:
    """A stand-in for another machine: a seed shift and a torch thread count."""

    shift: int = 0
    threads: int = 1

    @property
    def name(self) -> str:
        return f"t{self.threads}" if self.threads != 1 else f"k{self.shift}"

    def environment(self, claims_log: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            RESNET_EDU_SEED_SHIFT=str(self.shift),
            RESNET_EDU_THREADS=str(self.threads),
            RESNET_EDU_CLAIMS_LOG=claims_log,
            PYTHONWARNINGS=env.get("PYTHONWARNINGS", ""),
        )
        if self.threads > 1:
            # Sleeping, not spinning, OpenMP workers: the same numbers, but a busy machine (other
            # runs, other notebooks) no longer slows a multi-thread run down by 10x or more.
            env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        return env


def run_notebook(path: pathlib.Path) -> dict:
    """Execute ``path`` cell by cell in a fresh kernel (in this process's environment).

    Returns the claims recorded by each code cell, the unexpected errors, and the times.
    """
    import nbformat
    from nbclient import NotebookClient

    log = pathlib.Path(os.environ["RESNET_EDU_CLAIMS_LOG"])
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    claims, errors = [], []
    t0 = time.perf_counter()
    code_index = -1
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_index += 1
            before = log.stat().st_size if log.exists() else 0
            client.execute_cell(cell, index)
            if log.exists():
                with log.open(encoding="utf-8") as f:
                    f.seek(before)
                    for line in f:
                        record = json.loads(line)
                        claims.append({**record, "cell": code_index})
            tags = set(cell.metadata.get("tags", []))
            for output in cell.get("outputs", []):
                if output.output_type == "error" and not tags & EXPECTED_ERRORS:
                    if output.ename == "ClaimFailed":
                        continue  # already recorded as a claim that did not hold
                    errors.append({"cell": code_index, "error": f"{output.ename}: {output.evalue}"[:500]})
    return {"claims": claims, "errors": errors, "seconds": time.perf_counter() - t0}


def run_in_subprocess(path: pathlib.Path, perturbation: Perturbation) -> dict:
    """Run one notebook under one perturbation in a child process (so the environment is clean)."""
    with tempfile.TemporaryDirectory() as tmp:
        log, out = pathlib.Path(tmp) / "claims.jsonl", pathlib.Path(tmp) / "result.json"
        env = perturbation.environment(str(log))
        proc = subprocess.run(
            [sys.executable, __file__, "--run-one", str(path), "--result", str(out)],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not out.exists():
            result = {"claims": [], "errors": [{"cell": None, "error": proc.stderr.strip()[-800:]}], "seconds": 0.0}
        else:
            result = json.loads(out.read_text())
    result.update(notebook=path.name, perturbation=perturbation.name)
    return result


def summarise(runs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Per claim (notebook, cell, statement): threshold, k0 value, range over the others, margin."""
    by_claim: dict[tuple, dict] = {}
    for run in runs:
        for c in run["claims"]:
            key = (run["notebook"], c["cell"], c["statement"])
            row = by_claim.setdefault(
                key,
                {
                    "notebook": run["notebook"],
                    "cell": c["cell"],
                    "statement": c["statement"],
                    "op": c["op"],
                    "threshold": c["threshold"],
                    "values": {},
                    "margins": {},
                    "held": {},
                },
            )
            row["values"][run["perturbation"]] = c["value"]
            row["margins"][run["perturbation"]] = c["margin"]
            row["held"][run["perturbation"]] = c["held"]
    rows = sorted(by_claim.values(), key=lambda r: (r["notebook"], r["cell"]))
    errors = [{**e, "notebook": r["notebook"], "perturbation": r["perturbation"]} for r in runs for e in r["errors"]]
    return rows, errors


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def write_report(runs: list[dict], names: list[str], machine: str, out: str) -> tuple[int, int]:
    """Write ``out``.md and ``out``.json in benchmarks/results; return (failed claims, unexpected errors)."""
    rows, errors = summarise(runs)
    failed = [r for r in rows if not all(r["held"].values())]
    lines = [
        "# Lesson claims under perturbation (`make robustness`)",
        "",
        machine,
        f"Perturbations: {', '.join(names)} (kN: every seed shifted by N; tN: N torch threads).",
        f"Claims: {len(rows)}, failed in some run: {len(failed)}; unexpected cell errors: {len(errors)}.",
        "Margin: how far the value is inside the threshold, relative to the threshold (negative = failed).",
        "",
        "| notebook | cell | claim | needs | k0 value | min | max | smallest margin | held |",
        "|---|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        values = [v for v in r["values"].values() if v is not None]
        margins = [m for m in r["margins"].values() if m is not None]
        held = sum(r["held"].values())
        lines.append(
            f"| {r['notebook'][:2]} | {r['cell']} | {r['statement']} | {r['op']} {r['threshold']:.4g} "
            f"| {fmt(r['values'].get('k0'))} | {fmt(min(values) if values else None)} "
            f"| {fmt(max(values) if values else None)} | {fmt(min(margins) if margins else None)} "
            f"| {held}/{len(r['held'])}{'' if held == len(r['held']) else ' **FAIL**'} |"
        )
    missing = sorted({(run["notebook"], run["perturbation"]) for run in runs if not run["claims"]})
    if missing:
        lines += ["", "Runs that recorded no claim: " + ", ".join(f"{n} {p}" for n, p in missing)]
    if errors:
        lines += ["", "## Unexpected errors", ""]
        lines += [f"- {e['notebook']} [{e['perturbation']}] cell {e['cell']}: {e['error']}" for e in errors]
    lines += [
        "",
        "## Execution time (s, kernel start included)",
        "",
        "| notebook | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for notebook in sorted({r["notebook"] for r in runs}):
        times = {r["perturbation"]: r["seconds"] for r in runs if r["notebook"] == notebook}
        lines.append(f"| {notebook} | " + " | ".join(fmt(times.get(n)) for n in names) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{out}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS / f"{out}.json").write_text(json.dumps({"machine": machine, "runs": runs}, indent=1), encoding="utf-8")
    return len(failed), len(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", help="lesson numbers (default: all lessons)")
    parser.add_argument("--solutions", action="store_true", help="also run the solutions notebooks")
    parser.add_argument("--no-lessons", action="store_true", help="run no lesson (with --solutions)")
    parser.add_argument("--shifts", nargs="*", type=int, default=[1, 2, 3, 4, 5], help="seed shifts (default 1-5)")
    parser.add_argument("--threads", nargs="*", type=int, default=[2], help="thread counts (default 2)")
    parser.add_argument("--no-stored", action="store_true", help="skip the run with the stored seeds (k0)")
    parser.add_argument("--jobs", type=int, default=2, help="one-thread runs at once (default 2)")
    parser.add_argument(
        "--merge", nargs="+", metavar="JSON", help="run nothing: merge the runs of these result files into one table"
    )
    parser.add_argument("--out", default="robustness", help="name of the result files in benchmarks/results/")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        result = run_notebook(pathlib.Path(args.run_one))
        pathlib.Path(args.result).write_text(json.dumps(result))
        return 0

    if args.merge:
        results = [json.loads(pathlib.Path(f).read_text()) for f in args.merge]
        runs = [run for result in results for run in result["runs"]]
        names = sorted({run["perturbation"] for run in runs}, key=lambda n: (n[0] == "t", int(n[1:])))
        failed, errors = write_report(runs, names, results[0]["machine"], args.out)
        print(f"{failed} claims failed in some run, {errors} unexpected errors; table: {RESULTS / (args.out + '.md')}")
        return 1 if failed or errors else 0

    paths = [] if args.no_lessons else sorted((ROOT / "lessons").glob("*.ipynb"))
    if args.lessons:
        paths = [p for p in paths if p.name[:2] in args.lessons]
    if args.solutions:
        paths += sorted((ROOT / "solutions").glob("*.ipynb"))
    perturbations = ([] if args.no_stored else [Perturbation()]) + [Perturbation(shift=k) for k in args.shifts]
    perturbations += [Perturbation(threads=n) for n in args.threads if n != 1]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import machine_description

    machine = machine_description()
    print(machine, flush=True)
    print(f"{len(paths)} notebooks x {len(perturbations)} perturbations", flush=True)

    def job(item: tuple[pathlib.Path, Perturbation]) -> dict:
        result = run_in_subprocess(*item)
        bad = sum(not c["held"] for c in result["claims"]) + len(result["errors"])
        print(
            f"  {result['notebook']:40s} {result['perturbation']:4s} {result['seconds']:6.1f}s  "
            f"{len(result['claims'])} claims, {bad} failed",
            flush=True,
        )
        return result

    single = [(p, q) for q in perturbations if q.threads == 1 for p in paths]
    multi = [(p, q) for q in perturbations if q.threads != 1 for p in paths]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = list(pool.map(job, single))
    runs += [job(item) for item in multi]  # several threads each: one run at a time
    failed, errors = write_report(runs, [p.name for p in perturbations], machine, args.out)
    print(f"{failed} claims failed in some run, {errors} unexpected errors; table: {RESULTS / (args.out + '.md')}")
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
