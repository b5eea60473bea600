"""The website and `make lab`'s printed link, in headless Chromium (see conftest.py).

* The site built by ``make site`` (tests/e2e/site_build.py), served on 127.0.0.1: the landing
  page, lesson 00 and lesson 04 open with every request answered by the site itself (anything
  else is blocked and fails the test), figures load, MathJax typesets the math, and "next"
  leads from lesson 00 to lesson 01.
* ``make lab`` started the README's way (no --allow-root from us, even as root), with its
  port already taken: the link it prints must open lesson 00 in JupyterLab.

Screenshots go to benchmarks/results/e2e/site/ (gitignored); make-lab-root.png shows what
`make lab` printed above the page its link opened.

    pytest tests/e2e/test_site_browser.py -v
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LabServer, _stop, free_port
from e2e_env import LAB_SETTINGS, ROOT, SERVER_START_TIMEOUT, skip_or_fail
from site_build import build_site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on stderr
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built site, served by a static file server on 127.0.0.1 (as any static host would)."""
    site = build_site(tmp_path_factory.getbasetemp() / "site")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def shots(artifacts: Path) -> Path:
    folder = artifacts / "site"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _local_only(page, base: str) -> list[str]:
    """Block every request that does not go to ``base``; return the list of blocked URLs."""
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(base + "/"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked


def _broken_images(page) -> list[str]:
    return page.eval_on_selector_all(
        "img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)"
    )


def test_site_pages_render_offline(browser, site_url: str, shots: Path) -> None:
    page = browser.new_page()
    blocked = _local_only(page, site_url)
    try:
        page.goto(f"{site_url}/index.html")
        page.get_by_role("link", name="00 · Start here").first.wait_for()
        page.screenshot(path=str(shots / "site-index.png"))

        page.goto(f"{site_url}/lessons/00_start_here.html")
        page.get_by_role("heading", name="00 · Start here").wait_for()
        page.wait_for_load_state("load")
        assert page.locator("article img").count() >= 1
        assert not _broken_images(page)
        page.screenshot(path=str(shots / "site-lesson-00.png"))
        page.locator("a.next-page").click()
        page.wait_for_url(re.compile(r"/lessons/01_plain_deep_stacks\.html$"))

        page.goto(f"{site_url}/lessons/04_the_skip_connection.html")
        page.locator("mjx-container").first.wait_for(timeout=30_000)  # MathJax typeset, from the site
        assert page.locator("mjx-container").count() >= 10
        assert not _broken_images(page)
        page.screenshot(path=str(shots / "site-lesson-04-math.png"))
    finally:
        page.close()
    assert not blocked, f"the site asked for things outside itself: {blocked}"


def _lab_environment(home: Path) -> dict:
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )


def test_make_lab_prints_a_link_that_opens_lesson_00(browser, tmp_path: Path, shots: Path) -> None:
    """As a student types it (as root here, in CI), with port taken: the printed link works."""
    make = shutil.which("make")
    if make is None:
        skip_or_fail("`make` is not installed: the README's `make lab` cannot run")
    taken = socket.socket()
    taken.bind(("127.0.0.1", free_port()))
    taken.listen()
    port = taken.getsockname()[1]
    flags = f"--no-browser --port={port} --FileCheckpoints.checkpoint_dir={tmp_path / 'checkpoints'}"
    command = [make, "--no-print-directory", "lab", f"LAB_FLAGS={flags}"]
    venv = Path(sys.prefix)
    if venv.resolve() != (ROOT / ".venv").resolve() and (venv / ".ready").exists():
        command.append(f"VENV={venv}")
    log_path = shots / "make-lab.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_lab_environment(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = None
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            pattern = re.compile(
                r"^\s*(http://127\.0\.0\.1:(\d+)/lab/tree/lessons/00_start_here\.ipynb\?token=(\w+))\s*$", re.M
            )
            while not (match := pattern.search(log_path.read_text())):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"`make lab` printed no link to lesson 00 (exit {process.poll()}):\n"
                        + log_path.read_text()[-3000:],
                        pytrace=False,
                    )
                time.sleep(0.3)
            link, new_port, token = match.group(1), int(match.group(2)), match.group(3)
            server = LabServer(url=f"http://127.0.0.1:{new_port}", token=token, root=ROOT)
            output = log_path.read_text()
            assert new_port != port, "the port was taken, yet the printed link uses it"
            assert ("--allow-root" in output) == (os.geteuid() == 0)
            if os.geteuid() == 0:
                assert "running as root" in output
            assert server.request("/api/status", token=False) == 403, "the token must stay on"

            page = browser.new_page()
            try:
                page.goto(link)
                heading = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) h1", has_text="00 · Start here")
                heading.first.wait_for(timeout=90_000)
                page.locator(".jp-Notebook-cell").first.wait_for()
                page.wait_for_timeout(1000)
                browser_png = page.screenshot(path=str(shots / "make-lab-root-lesson-00.png"))
                # What `make lab` printed, up to the link, above the page the link opened.
                lines = [
                    line
                    for line in output.splitlines()
                    if line.startswith(("make lab", ".venv", str(venv))) or "127.0.0.1" in line or "port" in line
                ]
                picture = base64.b64encode(browser_png).decode()
                page.set_content(
                    "<body style='margin: 0; background: #222'><pre style='font: 13px monospace; color: #eee;"
                    " white-space: pre-wrap; margin: 0; padding: 12px'>"
                    + html.escape(f"$ make lab LAB_FLAGS='{flags}'\n" + "\n".join(lines))
                    + f"</pre><img style='display: block; width: 100%' src='data:image/png;base64,{picture}'></body>"
                )
                page.screenshot(path=str(shots / "make-lab-root.png"), full_page=True)
            finally:
                page.close()
        finally:
            taken.close()
            if server is not None:
                with contextlib.suppress(OSError):
                    server.shutdown_kernels()
                _stop(process, server)
            else:
                _stop(process, LabServer(url=f"http://127.0.0.1:{port}", token="", root=ROOT))
