"""The course as a student meets it: ``make lab``, a real browser, Run All, flip a widget.

JupyterLab is started by the README's own command (``make lab``, with ``LAB_FLAGS`` for
the port and a fresh token), the lesson is opened in headless Chromium, every cell is run
from the Run menu, and then we check what is on the screen: no error output, no output
shown twice, and the skip-connection toggle redraws its plot. Screenshots go to
``benchmarks/results/e2e/`` (gitignored).

    pytest tests/e2e/test_browser.py -v -s     # 1-1.5 minutes on 2 cores
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from functools import partial
from pathlib import Path

import pytest
from e2e_env import ROOT

#: The lesson with the skip-connection toggle (override to try the test on another notebook).
TOGGLE_NOTEBOOK = os.environ.get("RESNET_EDU_E2E_NOTEBOOK", "lessons/04_the_skip_connection.ipynb")
TOGGLE_LABEL = re.compile(r"skip.connection", re.IGNORECASE)
START_NOTEBOOK = "lessons/00_start_here.ipynb"  # what `make lab` opens
RUN_ALL_TIMEOUT = 120.0  # seconds for all cells of one lesson
REDRAW_TIMEOUT = 30.0

# JavaScript run in the page. The visible notebook panel only.
_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# The kernel has started and is idle (the indicator says "idle" before a kernel exists too).
_KERNEL_IDLE = f"""() => {{
  const name = document.querySelector('{_PANEL} .jp-KernelName');
  const indicator = document.querySelector('{_PANEL} .jp-Notebook-ExecutionIndicator');
  return name !== null && !/^\\s*(No Kernel)?\\s*$/.test(name.textContent)
    && indicator !== null && indicator.getAttribute('data-status') === 'idle'
    && document.querySelector('{_PANEL} .jp-CodeCell') !== null;
}}"""
# Run All marks every queued cell [*] at once; a MutationObserver records that it happened,
# so stored execution counts from the file cannot pass for a finished run.
_WATCH = f"""() => {{
  window.__resnetEduSawBusy = false;
  const panel = document.querySelector('{_PANEL}');
  const observer = new MutationObserver(() => {{
    if ([...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(p => p.textContent.includes('*')))
      {{ window.__resnetEduSawBusy = true; observer.disconnect(); }}
  }});
  observer.observe(panel, {{subtree: true, childList: true, characterData: true}});
}}"""
# Finished: the run started, no cell is queued or running any more, the kernel is idle.
# (When a cell fails, Run All stops and the cells after it go back to [ ].)
_ALL_RUN = f"""() => {{
  const prompts = [...document.querySelectorAll('{_PANEL} .jp-CodeCell .jp-InputPrompt')];
  const indicator = document.querySelector('{_PANEL} .jp-Notebook-ExecutionIndicator');
  return window.__resnetEduSawBusy && !prompts.some(p => p.textContent.includes('*'))
    && indicator !== null && indicator.getAttribute('data-status') === 'idle';
}}"""
# Per code cell: a fingerprint of each top-level output (its MIME type, visible text and
# image sources); empty outputs (closed progress bars) are left out.
_OUTPUTS = f"""() => [...document.querySelectorAll('{_PANEL} .jp-CodeCell')].map((cell, index) => {{
  const area = cell.querySelector('.jp-Cell-outputArea');
  const children = area ? [...area.children].filter(c => c.classList.contains('jp-OutputArea-child')) : [];
  return {{
    index: index,
    prompt: (cell.querySelector('.jp-InputPrompt') || {{textContent: ''}}).textContent.trim(),
    outputs: children.map(child => {{
      const out = child.querySelector('.jp-OutputArea-output');
      return {{
        mime: out ? out.getAttribute('data-mime-type') || '' : '',
        text: (out ? out.innerText : '').trim(),
        images: [...child.querySelectorAll('img')].map(i => i.src),
      }};
    }}),
  }};
}})"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open_and_run_all(page, server, notebook: str) -> float:
    """Open ``notebook`` in JupyterLab, Run > Run All Cells, wait for the end; return seconds."""
    page.goto(server.lab_url(notebook), timeout=60_000)
    page.wait_for_function(_KERNEL_IDLE, timeout=60_000, polling=250)
    page.evaluate(_WATCH)
    t0 = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(_ALL_RUN, timeout=RUN_ALL_TIMEOUT * 1000, polling=250)
    return time.monotonic() - t0


def _check_outputs(cells: list[dict], notebook: str) -> None:
    """No error or stderr output, and no cell showing the same output twice."""
    problems = []
    for cell in cells:
        where = f"{notebook}, code cell {cell['index'] + 1} {cell['prompt']}"
        seen = set()
        for out in cell["outputs"]:
            # JupyterLab shows tracebacks and stderr alike, as application/vnd.jupyter.stderr.
            if out["mime"] in ("application/vnd.jupyter.stderr", "application/vnd.jupyter.error"):
                problems.append(f"{where} shows an error or stderr output: {out['text'][-400:]}")
            key = (out["mime"], out["text"], tuple(out["images"]))
            if not out["text"] and not out["images"]:
                continue
            if key in seen:
                problems.append(f"{where} shows the same output twice: {out['mime']} {out['text'][:80]!r}")
            seen.add(key)
    not_run = [
        f"{cell['index'] + 1} {cell['prompt']}" for cell in cells if not re.fullmatch(r"\[\d+\]:?", cell["prompt"])
    ]
    if not_run:
        problems.append(f"{notebook}: Run All did not run code cell(s) {', '.join(not_run)}")
    assert not problems, "\n".join(problems)


def _widget_images(cell) -> list[str]:
    """Short digests of the images inside the cell's Output widget(s) (their data: URLs)."""
    sources = cell.locator(".widget-output img").evaluate_all("imgs => imgs.map(i => i.src)")
    return [hashlib.sha256(src.encode()).hexdigest()[:16] for src in sources]


# Latency as the student sees it, timed inside the page: from the event that commits a change
# (a click, or Enter in a slider's readout) to the new image in the widget's output, decoded and
# painted. Playwright's own time to type and to poll is not counted.
_START_CLOCK = """cell => {
  window.__resnetEduClock = {start: null, end: null};
  const clock = window.__resnetEduClock;
  // the last committing event counts: typing a value clicks the readout first, then presses Enter
  const begin = event => { if (event.type === 'click' || event.key === 'Enter') clock.start = performance.now(); };
  cell.addEventListener('click', begin, true);
  cell.addEventListener('keydown', begin, true);
  const observer = new MutationObserver(() => {
    if (clock.start === null) return;
    for (const img of cell.querySelectorAll('.widget-output img')) {
      if (img.__resnetEduSeen) continue;
      img.__resnetEduSeen = true;
      img.decode().then(() => requestAnimationFrame(() => { clock.end = performance.now(); }), () => {});
    }
  });
  for (const img of cell.querySelectorAll('.widget-output img')) img.__resnetEduSeen = true;
  observer.observe(cell, {subtree: true, childList: true});
  clock.stop = () => { observer.disconnect(); cell.removeEventListener('click', begin, true);
    cell.removeEventListener('keydown', begin, true); };
}"""


def _change_and_wait(page, cell, change, before: list[str]) -> tuple[list[str], float]:
    """Run ``change()`` (a click or typed value in ``cell``), wait until the widget's image differs
    from ``before`` and has loaded; return (new image digests, seconds from the committing event to
    the new image painted, timed in the page)."""
    page.evaluate(_START_CLOCK, cell.element_handle())
    t0 = time.monotonic()
    change()
    after = before
    try:
        # Polls rarely and cheaply (two numbers), so the test itself takes little CPU from the kernel
        # it measures; the page's clock, not this loop, gives the time.
        while time.monotonic() - t0 < REDRAW_TIMEOUT:
            page.wait_for_timeout(100)
            clock = page.evaluate("() => [window.__resnetEduClock.start, window.__resnetEduClock.end]")
            if None not in clock:
                after = _widget_images(cell)
                if after and after != before:
                    return after, (clock[1] - clock[0]) / 1000
        return after, time.monotonic() - t0
    finally:
        page.evaluate("() => window.__resnetEduClock.stop()")


def _flip(page, control, cell, before: list[str]) -> tuple[list[str], float]:
    """Click the toggle; wait until the widget's image changes; return (new sources, seconds)."""
    target = control.locator("input") if control.locator("input").count() else control
    return _change_and_wait(page, cell, target.click, before)


@pytest.fixture
def page(browser, lab_server, artifacts: Path, request):
    """A new tab; a screenshot of its last state is saved whatever the outcome, then the
    tab is closed and the kernels it started are shut down."""
    page = browser.new_page()
    yield page
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(artifacts / f"{name}.png"), timeout=10_000)
    finally:
        page.close()
        lab_server.shutdown_kernels()


def test_make_lab_serves_with_token_auth_on_localhost(lab_server) -> None:
    assert lab_server.url.startswith("http://127.0.0.1:")
    assert lab_server.request("/api/contents/lessons") == 200
    assert lab_server.request("/api/contents/lessons", token=False) in (401, 403), (
        "the server answers without its token"
    )


def test_start_here_runs_in_the_browser(page, lab_server) -> None:
    """Lesson 00, the page `make lab` opens: Run All shows no error and nothing twice."""
    stored = _sha256(ROOT / START_NOTEBOOK)
    seconds = _open_and_run_all(page, lab_server, START_NOTEBOOK)
    cells = page.evaluate(_OUTPUTS)
    _check_outputs(cells, START_NOTEBOOK)
    assert any(out["text"] or out["images"] for cell in cells for out in cell["outputs"]), "no output at all"
    assert _sha256(ROOT / START_NOTEBOOK) == stored, "running the lesson in the browser rewrote the file"
    print(f"{START_NOTEBOOK}: Run All took {seconds:.1f} s in the browser")


def test_skip_connection_toggle_redraws(page, lab_server, artifacts: Path) -> None:
    """The skip-connection lesson: Run All, then flip the toggle and watch the plot change."""
    path = ROOT / TOGGLE_NOTEBOOK
    assert path.exists(), f"{TOGGLE_NOTEBOOK} is missing"
    stored = _sha256(path)
    seconds = _open_and_run_all(page, lab_server, TOGGLE_NOTEBOOK)
    cells = page.evaluate(_OUTPUTS)
    _check_outputs(cells, TOGGLE_NOTEBOOK)

    toggles = ".widget-toggle-button, .widget-checkbox"
    controls = page.locator(_PANEL).locator(toggles).filter(has_text=TOGGLE_LABEL)
    assert controls.count() == 1, f"expected one skip-connection toggle on the page, found {controls.count()}"
    cell = page.locator(_PANEL).locator(".jp-CodeCell").filter(has=page.locator(toggles).filter(has_text=TOGGLE_LABEL))
    assert cell.count() == 1
    control = cell.locator(toggles).filter(has_text=TOGGLE_LABEL)
    control.scroll_into_view_if_needed()
    first = _widget_images(cell)
    assert first, "the toggle's widget shows no plot"
    counts = [len(c["outputs"]) for c in cells]

    flipped, redraw = _flip(page, control, cell, first)
    assert flipped != first, f"the plot did not change within {REDRAW_TIMEOUT:.0f} s of flipping the toggle"
    assert len(flipped) == len(first), f"the widget showed {len(first)} image(s), then {len(flipped)}"
    page.screenshot(path=str(artifacts / "skip_connection_toggle_flipped.png"))
    back, redraw_back = _flip(page, control, cell, flipped)
    assert back != flipped, "flipping the toggle back did not redraw the plot"

    after = page.evaluate(_OUTPUTS)
    _check_outputs(after, TOGGLE_NOTEBOOK)
    assert [len(c["outputs"]) for c in after] == counts, "flipping the toggle added outputs outside the widget"
    assert _sha256(path) == stored, "running the lesson in the browser rewrote the file"
    print(
        f"{TOGGLE_NOTEBOOK}: Run All {seconds:.1f} s; redraw after a flip {redraw:.2f} s and {redraw_back:.2f} s; "
        f"plot back to the first one: {back == first}"
    )


# ------------------------------------------------------------------ widget latency

#: Where the measured latencies go (``benchmarks/widget_benchmarks.py`` prints them for ``make benchmark``).
LATENCY_FILE = "widget_latency.json"
#: The issue's target on a quiet 2-core machine (median, control change to new figure); checked only
#: when RESNET_EDU_QUIET_MACHINE=1, since other work on the machine inflates every number.
QUIET_TARGET = 0.3
REPEATS = 5
_WIDGET_CELLS = {
    "gradient-flow explorer": "GradientFlowExplorer(depth=50)",
    "skip-connection toggle": "SkipToggle(skip_states(depth=20, steps=100))",
    "depth explorer": 'DepthExplorer(depths=(4, 10), blocks=("plain",))',
    "delete-a-block explorer": "LesionExplorer(models, digits.x_test, digits.y_test)",
    "shattered-gradients explorer": "ShatteredExplorer(depth=16)",
}
_SETUP = """from resnet_edu.startup import start
env = start(seed=0)
from resnet_edu.experiments import digits as load, fresh_mlp, skip_states
from resnet_edu.train import train
from resnet_edu.widgets import DepthExplorer, GradientFlowExplorer, LesionExplorer, ShatteredExplorer, SkipToggle
digits = load()
models = {b: fresh_mlp(0, depth=10, block=b) for b in ("plain", "residual")}
for m in models.values():
    _ = train(m, digits.x_train, digits.y_train, steps=50, progress=False)"""


def _widget_notebook(path: Path) -> None:
    import nbformat

    cells = [nbformat.v4.new_code_cell(_SETUP)] + [nbformat.v4.new_code_cell(code) for code in _WIDGET_CELLS.values()]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), path)


def _type_into_readout(page, cell, value: int) -> None:
    readout = cell.locator(".widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def test_widgets_answer_at_once(page, lab_server, artifacts: Path) -> None:
    """Every widget: median time from a control change to the new figure in the browser; a bad
    value (an odd depth) shows a message in the widget and the widget keeps answering."""
    import json
    import statistics

    notebook = artifacts / "widget_latency.ipynb"
    _widget_notebook(notebook)
    _open_and_run_all(page, lab_server, str(notebook.relative_to(ROOT)))
    _check_outputs(page.evaluate(_OUTPUTS), notebook.name)
    cells = page.locator(_PANEL).locator(".jp-CodeCell")
    medians, spreads = {}, {}
    for index, name in enumerate(_WIDGET_CELLS, start=1):
        cell = cells.nth(index)
        cell.scroll_into_view_if_needed()
        images = _widget_images(cell)
        assert images, f"the {name} shows no figure"
        times = []
        for i in range(REPEATS):
            if name == "gradient-flow explorer":
                change = partial(_type_into_readout, page, cell, 40 + 2 * i)
            elif name == "shattered-gradients explorer":
                change = partial(_type_into_readout, page, cell, 20 + 2 * i)
            elif name == "skip-connection toggle":
                change = cell.locator(".widget-checkbox input").first.click
            elif name == "depth explorer":
                change = cell.locator(".widget-toggle-button", has_text="residual").click
            else:
                change = cell.locator(".widget-toggle-button").nth(i % 3).click
            after, seconds = _change_and_wait(page, cell, change, images)
            assert after != images, f"the {name} did not redraw within {REDRAW_TIMEOUT:.0f} s"
            times.append(seconds)
            images = after
        medians[name] = statistics.median(times)
        spreads[name] = f"{1000 * min(times):.0f}-{1000 * max(times):.0f}"
    # a bad value: an odd depth typed into the gradient-flow explorer
    cell = cells.nth(1)
    _type_into_readout(page, cell, 51)
    message = cell.locator(".widget-html-content")
    page.wait_for_function(
        "el => el.innerText.includes('Cannot show')", arg=message.first.element_handle(), timeout=15_000
    )
    images = _widget_images(cell)
    after, _ = _change_and_wait(page, cell, partial(_type_into_readout, page, cell, 30), images)
    assert after != images, "after a bad value the gradient-flow explorer stopped answering"
    (artifacts / LATENCY_FILE).write_text(json.dumps({k: round(v, 3) for k, v in medians.items()}, indent=1))
    print(
        f"widget latency in the browser (median of {REPEATS}): "
        + ", ".join(f"{k} {1000 * v:.0f} ms ({spreads[k]})" for k, v in medians.items())
    )
    if os.environ.get("RESNET_EDU_QUIET_MACHINE") == "1":
        slow = {k: v for k, v in medians.items() if k != "depth explorer" and v > QUIET_TARGET}
        assert not slow, f"widgets slower than {QUIET_TARGET * 1000:.0f} ms: {slow}"
