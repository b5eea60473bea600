"""The course as a static website (`make site`): built from the stored outputs, offline.

Every lesson and exercise has a page; each lesson links to the next; every figure a lesson
stores is on its page; the widgets are replaced by a note (their static figures stay); the
execution times come from the README; MathJax and every other asset are served by the site
itself; and no page links to a solution or shows a line of one.

    pytest tests/test_site.py -v      # needs `make site-setup` once (Sphinx, MyST-NB, furo)
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "e2e"))
from site_build import build_site  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


class Page(HTMLParser):
    """The links, images, scripts and visible text of one HTML page."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.next: str | None = None
        self.imgs: list[str] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.text: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "link" and a.get("rel") == "next":
            self.next = a.get("href")
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])

    def handle_data(self, data):
        self.text.append(data)

    @property
    def plain(self) -> str:
        return "".join(self.text)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(tmp_path_factory.getbasetemp() / "site")


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def page_of(site: Path, notebook: Path) -> Path:
    return site / notebook.parent.name / (notebook.stem + ".html")


def nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_build_is_clean(site: Path) -> None:
    log = (site.parent / "build.log").read_text()
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "Sphinx warned while building the site:\n" + "\n".join(warnings)


def test_every_lesson_and_exercise_has_a_page(site: Path) -> None:
    assert len(LESSONS) >= 9 and len(EXERCISES) >= 6
    missing = [str(p.relative_to(ROOT)) for p in LESSONS + EXERCISES if not page_of(site, p).exists()]
    assert not missing, f"no page for {missing}"
    for notebook in LESSONS + EXERCISES:  # the page shows the notebook's title
        title = "".join(nb(notebook)["cells"][0]["source"]).splitlines()[0].lstrip("# ").strip()
        plain = Page(page_of(site, notebook)).plain
        assert title.replace("`", "") in plain, (notebook.name, title)


def test_each_lesson_links_to_the_next(site: Path) -> None:
    for lesson, following in zip(LESSONS, LESSONS[1:]):
        page = Page(page_of(site, lesson))
        assert page.next == following.stem + ".html", (lesson.name, page.next)
        assert following.stem + ".html" in page.hrefs, f"{lesson.name}: no link to {following.name}"
    last = Page(page_of(site, LESSONS[-1]))
    assert last.next == f"../exercises/{EXERCISES[0].stem}.html", last.next


def test_landing_page_has_the_readme_overview_and_every_lesson(site: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = Page(site / "index.html")
    overview = readme.split("<!-- site: overview start -->")[1].split("<!-- site: overview end -->")[0]
    first_sentence = re.sub(r"\s+", " ", overview.strip().split(":")[0]).replace("**", "")
    assert first_sentence in re.sub(r"\s+", " ", page.plain), first_sentence
    for notebook in LESSONS + EXERCISES:
        assert f"{notebook.parent.name}/{notebook.stem}.html" in page.hrefs, notebook.name


def test_every_figure_of_a_lesson_is_on_its_page(site: Path) -> None:
    for lesson in LESSONS:
        page = Page(page_of(site, lesson))
        for cell in nb(lesson)["cells"]:
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png is None:
                    continue
                name = hashlib.sha256(base64.b64decode("".join(png))).hexdigest() + ".png"
                assert f"../_images/{name}" in page.imgs, f"{lesson.name}: figure {name} not on its page"
                assert (site / "_images" / name).exists(), name


def test_widgets_are_notes_next_to_their_static_figures(site: Path) -> None:
    for lesson in LESSONS:
        explorers = [
            output["data"]["text/plain"]
            for cell in nb(lesson)["cells"]
            for output in cell.get("outputs", [])
            if WIDGET in output.get("data", {}) and "(children=" in "".join(output["data"].get("text/plain", ""))
        ]
        plain = Page(page_of(site, lesson)).plain
        assert "(children=" not in plain, f"{lesson.name}: a widget's text repr is on its page"
        assert plain.count("Interactive widget") == len(explorers), lesson.name


def test_each_lesson_page_shows_its_execution_time(site: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## The numbers", 1)[1]
    times = dict(re.findall(r"^\| (\d\d) [^|]*\| ([\d.]+ s) \|", readme, flags=re.M))
    assert set(times) == {lesson.name[:2] for lesson in LESSONS}, "README's benchmark table vs lessons/"
    for lesson in LESSONS:
        assert f"executes in {times[lesson.name[:2]]}" in Page(page_of(site, lesson)).plain, lesson.name


def test_math_and_every_asset_come_from_the_site_itself(site: Path) -> None:
    math_pages = 0
    for path in pages(site):
        page = Page(path)
        external = [url for url in page.scripts + page.stylesheets + page.imgs if re.match(r"(https?:)?//", url)]
        assert not external, f"{path.relative_to(site)} loads {external}"
        for url in page.scripts + page.stylesheets + page.imgs:
            assert (path.parent / url.split("?")[0]).exists(), f"{path.relative_to(site)}: {url} is missing"
        if any("mathjax" in url for url in page.scripts):
            math_pages += 1
    assert math_pages >= 3, "MathJax is not on the lesson pages with math"
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()


def _solution_lines() -> set[str]:
    """Lines of code that only the solutions have (not in any exercise or lesson, not in the
    package, whose source is public and which lessons print, and not trivial)."""
    public_text = "\n".join("".join(cell["source"]) for path in EXERCISES + LESSONS for cell in nb(path)["cells"])
    public_text += "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "resnet_edu").rglob("*.py"))
    lines = set()
    for path in SOLUTIONS:
        for cell in nb(path)["cells"]:
            if not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                continue
            for line in "".join(cell["source"]).splitlines():
                line = line.strip()
                if (
                    len(line) > 25
                    and not line.startswith(("#", '"""', "def ", "class ", "return"))
                    and line not in public_text
                ):
                    lines.add(line)
    return lines


def test_no_page_links_to_or_contains_a_solution(site: Path) -> None:
    assert not (site / "solutions").exists()
    lines = _solution_lines()
    assert len(lines) > 20, "found too few solution lines to check against"
    for path in pages(site):
        page = Page(path)
        links = [h for h in page.hrefs if "solution" in h.lower()]
        assert not links, f"{path.relative_to(site)} links to {links}"
        text = html.unescape(page.plain)
        shown = [line for line in lines if line in text]
        assert not shown, f"{path.relative_to(site)} shows solution code: {shown[:3]}"
