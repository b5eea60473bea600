"""Sphinx configuration of the course's website (`make site`; see the README).

The Makefile copies website/*.md, lessons/*.ipynb and exercises/*.ipynb (never solutions/)
into a staging folder and runs ``sphinx-build -c website <staging> _site``. MyST-NB renders the
notebooks with their stored outputs and executes nothing (``nb_execution_mode = "off"``);
math is rendered by a MathJax copied into the site, so the pages work offline.

Two small changes are made to each notebook as it is read (``source-read``), in memory only:
* a lesson gets one line under its title with its execution time, from the README's
  benchmark table (``## The numbers``);
* a live widget (an explorer) cannot run on a static page: its output becomes a short note (the
  lesson shows the widget's default state as a static figure next to it), and tqdm's progress
  bars, which are widgets too, are dropped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

project = "resnet-edu"
html_title = "Residual networks, hands-on"
author = "resnet-edu contributors"
copyright = "resnet-edu contributors, MIT License"

extensions = ["myst_nb", "sphinx-mathjax-offline"]  # the latter sets mathjax_path to its copy
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "README.md"]  # README: only included

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # a notebook may jump heading levels; that is style, not breakage
nb_execution_mode = "off"  # the stored outputs, as committed; nothing runs
nb_merge_streams = True
# A widget's live view needs JavaScript from the internet; its outputs are rewritten below.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

html_theme = "furo"
html_copy_source = False  # no _sources/ copies of the notebooks
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {"navigation_with_keys": True}

WIDGET = "application/vnd.jupyter.widget-view+json"
EXPLORER = re.compile(r"^(\w+)\(children=")


def lesson_times(readme: Path = README) -> dict[str, str]:
    """{"00": "10.8 s", ...} from the lesson column of the README's benchmark table."""
    text = readme.read_text(encoding="utf-8")
    section = text.split("## The numbers", 1)[-1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| (\d\d) [^|]*\| ([\d.]+ s) \|", section, flags=re.M))


TIMES = lesson_times()


def _widget_note(name: str) -> dict:
    text = (
        f"Interactive widget `{name}`: it runs in JupyterLab (run this notebook with `make lab`). "
        "On this page, the static figure next to it shows its default state."
    )
    return {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": f"> {text}"}}


def _rewrite(nb: dict, lesson: str | None) -> dict:
    nb.get("metadata", {}).pop("widgets", None)  # else MyST-NB loads widget scripts from a CDN
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET not in data:
                outputs.append(output)
                continue
            match = EXPLORER.match(str("".join(data.get("text/plain", ""))))
            if match:  # an explorer; anything else is a progress bar, dropped
                outputs.append(_widget_note(match.group(1)))
        cell["outputs"] = outputs
    if lesson in TIMES:
        note = (
            f"*This page shows the lesson with its stored outputs. Run it yourself with `make lab`: "
            f"it executes in {TIMES[lesson]} on two CPU cores (the README's benchmarks).*"
        )
        cells = nb.setdefault("cells", [])
        first = "".join(cells[0].get("source", "")) if cells and cells[0].get("cell_type") == "markdown" else ""
        title, _, rest = first.partition("\n")
        if title.startswith("# "):  # the note goes right under the title
            cells[0] = dict(cells[0], source=title)
            cells.insert(1, {"cell_type": "markdown", "id": "site-lesson-rest", "metadata": {}, "source": rest})
        cells.insert(
            1 if title.startswith("# ") else 0,
            {"cell_type": "markdown", "id": "site-execution-time", "metadata": {}, "source": note},
        )
    return nb


def _on_source_read(app, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".ipynb":
        return
    lesson = path.name[:2] if path.parent.name == "lessons" else None
    source[0] = json.dumps(_rewrite(json.loads(source[0]), lesson))


def setup(app):
    app.connect("source-read", _on_source_read)
    return {"parallel_read_safe": True}
