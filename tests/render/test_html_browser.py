"""The HTML report in a real browser: headless Chromium (the system's), driven by Playwright.

Pages: ResNet50 with --memory and a device (the README's command, :data:`README_COMMAND`), and
a hand-built report with names that are markup, integers above 2**53 and 1,207 rows (more
than one page of the table).
Skipped without Chromium or Playwright, unless CONVCOST_REQUIRE_BROWSER=1 (CI sets it).
Set CONVCOST_SCREENSHOT=docs/img/html-report.png to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from convcost import render
from convcost.render import html
from tests.conftest import BIG, nasty_report

pytestmark = pytest.mark.slow  # a real browser: in the slow run (CI runs it), not the default

VIEWPORT = {"width": 1400, "height": 900}


class Page:
    """A loaded report, with everything that went wrong on it recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport=VIEWPORT)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning")
                     and self.errors.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: r.url.startswith(("file:", "data:", "blob:"))
                     or self.requests.append(r.url))
        start = time.perf_counter()
        self.page.goto(path.as_uri(), wait_until="domcontentloaded")
        # the charts are drawn once Plotly's 4.8 MB have been parsed
        self.page.wait_for_selector("body[data-ready='1']", state="attached", timeout=120_000)
        self.load_s = time.perf_counter() - start

    def rows(self) -> list[int]:
        """The layer indices of the table's rows, top to bottom."""
        return self.page.eval_on_selector_all("#layers tbody tr",
                                              "rs => rs.map(r => +r.dataset.i)")

    def cells(self, column: int) -> list[str]:
        return self.page.eval_on_selector_all(
            "#layers tbody tr", f"rs => rs.map(r => r.cells[{column}].textContent)")

    def header(self, label: str):
        return self.page.locator("#layers thead th", has_text=label).first

    def wait_rows(self, count: int, timeout: float = 10.0) -> None:
        # not page.wait_for_function: the page's CSP forbids the eval it polls with
        end = time.monotonic() + timeout
        while len(self.page.evaluate("convcostTable.view()")) != count:
            assert time.monotonic() < end, f"never {count} rows"
            time.sleep(0.05)

    def trace(self, chart: str) -> dict:
        return self.page.evaluate(
            f"(() => {{ const t = document.getElementById('{chart}').data[0]; return "
            "{ids: t.ids, parents: t.parents, values: t.values, customdata: t.customdata}; })()")


# The README's command for its screenshot: the page is made by it, so the picture matches it.
README_COMMAND = ("analyze", "resnet50", "--format", "html", "--memory", "--peak-gflops", "100",
                  "--bandwidth-gbs", "10", "--batch-size", "8")


@pytest.fixture(scope="module")
def resnet50_page(browser, tmp_path_factory):
    from tests.conftest import run_ok

    path = tmp_path_factory.mktemp("html") / "resnet50.html"
    start = time.perf_counter()
    run_ok(*README_COMMAND, "-o", str(path))
    print(f"\nResNet50 page: {time.perf_counter() - start:.2f} s, "
          f"{path.stat().st_size / 1e6:.1f} MB")
    page = Page(browser, path)
    print(f"ResNet50 page loaded in {page.load_s:.1f} s")
    yield page
    page.page.close()


@pytest.fixture(scope="module")
def nasty_page(browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "nasty.html"
    path.write_text(render.to_html(nasty_report(repeats=1200)), encoding="utf-8")
    page = Page(browser, path)
    yield page
    page.page.close()


def _leaves(trace: dict) -> list[int]:
    inner = set(trace["parents"])
    return [v for i, v in zip(trace["ids"], trace["values"]) if i not in inner]


# --- ResNet50 ---------------------------------------------------------------------------------


def test_loads_without_errors_or_network(resnet50_page, nasty_page) -> None:
    for page in (resnet50_page, nasty_page):
        assert page.errors == [] and page.requests == []


def test_table_shows_every_layer_and_the_totals(resnet50_page, resnet50_report) -> None:
    assert resnet50_page.cells(1) == [row.path for row in resnet50_report.layers]
    summary = resnet50_page.page.inner_text("#summary")
    assert "25,636,712" in summary  # model.count_params() of ResNet50
    assert f"{resnet50_report.macs:,}" in summary and "batch of 8" in summary
    assert resnet50_page.page.inner_text("#check") == "✓"
    assert not resnet50_page.page.locator("#more").is_visible()


def test_sorting_by_macs_and_back(resnet50_page, resnet50_report) -> None:
    macs = [row.macs for row in resnet50_report.layers]
    header = resnet50_page.header("MACs")
    header.click()
    assert resnet50_page.rows() == sorted(range(len(macs)), key=lambda i: (-macs[i], i))
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert resnet50_page.rows() == sorted(range(len(macs)), key=lambda i: (macs[i], i))
    resnet50_page.header("#").click()
    resnet50_page.header("#").click()
    assert resnet50_page.rows() == list(range(len(macs)))


def test_filter_box(resnet50_page, resnet50_report) -> None:
    resnet50_page.page.fill("#filter", "Conv5_Block3")
    want = [i for i, row in enumerate(resnet50_report.layers) if "conv5_block3" in row.path]
    resnet50_page.wait_rows(len(want))
    assert resnet50_page.rows() == want
    resnet50_page.page.fill("#filter", "")
    resnet50_page.wait_rows(len(resnet50_report.layers))


@pytest.mark.parametrize("chart", ["treemap-block", "treemap-kind"])
def test_treemaps_have_every_layer(resnet50_page, resnet50_report, chart) -> None:
    trace = resnet50_page.trace(chart)
    assert len(_leaves(trace)) == len(resnet50_report.layers)
    assert sum(_leaves(trace)) == trace["values"][0] == resnet50_report.macs
    drawn = resnet50_page.page.locator(f"#{chart} g.slice").count()
    assert drawn > 1


def test_params_toggle(resnet50_page, resnet50_report) -> None:
    page = resnet50_page.page
    page.locator("#treemap-kind .updatemenu-button", has_text="params").click()
    assert resnet50_page.trace("treemap-kind")["values"][0] == resnet50_report.params
    page.locator("#treemap-kind .updatemenu-button", has_text="MACs").click()
    assert resnet50_page.trace("treemap-kind")["values"][0] == resnet50_report.macs


def test_memory_and_roofline_charts_are_drawn(resnet50_page) -> None:
    for chart in ("memory", "roofline"):
        assert resnet50_page.page.locator(f"#{chart} .scatterlayer .trace").count() >= 2


def test_toggle_is_clear_of_the_mode_bar_and_the_title(resnet50_page) -> None:
    page = resnet50_page.page
    page.locator("#treemap-kind").hover()  # the mode bar shows on hover
    toggle = page.locator("#treemap-kind .updatemenu-container").bounding_box()
    for other in ("#treemap-kind .modebar", "#treemap-kind .gtitle"):
        box = page.locator(other).bounding_box()
        assert toggle and box
        apart = (toggle["x"] + toggle["width"] <= box["x"] or box["x"] + box["width"] <=
                 toggle["x"] or toggle["y"] + toggle["height"] <= box["y"] or
                 box["y"] + box["height"] <= toggle["y"])
        assert apart, (other, toggle, box)


def test_readme_screenshot_is_of_its_command() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    command = " ".join(("convcost", *README_COMMAND, "-o", "resnet50.html"))
    before_image = readme[:readme.index("](docs/img/html-report.png)")]
    assert command in " ".join(before_image.split()[-120:]), command


def test_screenshot(resnet50_page, tmp_path) -> None:
    target = Path(os.environ.get("CONVCOST_SCREENSHOT") or tmp_path / "report.png")
    resnet50_page.page.screenshot(path=str(target), full_page=False)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- names that are markup, exact big integers, more rows than a page -----------------------


def test_names_are_text_not_markup(nasty_page) -> None:
    page = nasty_page.page
    assert page.title() == "convcost: </script><script>alert('model')</script>"
    assert page.locator("#layers img, #summary img, #layers b, #layers script").count() == 0
    assert page.locator("#layers tbody tr").first.locator("td").nth(1).text_content() == (
        "<script>alert(1)</script>")
    texts = page.eval_on_selector_all("#treemap-block text", "ts => ts.map(t => t.textContent)")
    assert "</script><script>alert('model')</script>" in texts  # Plotly parses tags in labels


def test_show_all_rows(nasty_page) -> None:
    report = nasty_report(repeats=1200)
    assert len(nasty_page.rows()) == html.PAGE_ROWS
    nasty_page.page.click("#more")
    assert nasty_page.cells(1) == [row.path for row in report.layers]
    assert not nasty_page.page.locator("#more").is_visible()


def test_integers_above_2_53_sort_exactly(nasty_page) -> None:
    nasty_page.header("MACs").click()
    order = nasty_page.rows()
    assert order[:2] == [6, 5]  # huge_b = 2**54 + 2 before huge_a = 2**54 + 1
    assert nasty_page.cells(6)[:2] == [f"{BIG + 1:,}", f"{BIG:,}"]


def test_the_policy_blocks_network_loads(browser, tmp_path) -> None:
    path = tmp_path / "leak.html"
    path.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    f'content="{html.CSP}"></head><body><img src="https://example.invalid/x.png">'
                    "</body></html>", encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text))
    page.goto(path.as_uri())
    page.wait_for_timeout(200)
    page.close()
    assert any("Content Security Policy" in e for e in errors), errors
