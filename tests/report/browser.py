"""Open a report in Debian's headless Chromium (through Playwright's DevTools driver).

``inspect_report(path)`` loads the page with every network request refused (the page must be
self-contained), and returns the console errors and the number of data points of each chart.
``python -m tests.report.browser RUN_DIR OUT.png`` builds RUN_DIR's report and screenshots it
(this is how docs/img/report.png is made).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, Request, Route, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MISSING = (
    "Debian's chromium is not installed: run `bash scripts/install-system.sh` (or make install)"
)

# Every Plotly chart's count of non-null y values over its traces, and its title.
_CHART_POINTS_JS = """
() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(div => ({
  title: (div.layout && div.layout.title && div.layout.title.text) || div.id,
  points: (div.data || []).reduce(
    (n, tr) => n + Array.from(tr.y || []).filter(v => v !== null && v !== undefined).length, 0),
  drawn: div.querySelectorAll('.main-svg').length > 0,
  traces: (div.data || []).map(tr => tr.name || ''),
}))
"""


@dataclass
class PageCheck:
    """What a browser saw on the report page."""

    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    charts: list[dict[str, object]] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    flame_frames: int = 0


def _open(page: Page, path: Path, check: PageCheck) -> None:
    page.on("console", lambda msg: check.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: check.errors.append(str(err)))

    def refuse_outside(route: Route, request: Request) -> None:
        if request.url.startswith("file:") or request.url.startswith("data:"):
            route.continue_()
        else:
            check.outside_requests.append(request.url)
            route.abort()

    page.route("**/*", refuse_outside)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".every(d => d.querySelector('.main-svg'))",
        timeout=30_000,
    )


def inspect_report(path: Path, screenshot: Path | None = None, height: int = 900) -> PageCheck:
    """Load ``path`` in headless Chromium (a 1366 x ``height`` window); optionally save a
    screenshot of that window."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(MISSING)
    check = PageCheck()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": height})
            _open(page, path, check)
            check.charts = page.evaluate(_CHART_POINTS_JS)
            check.sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
            if page.query_selector("iframe.flame"):
                check.flame_frames = (
                    page.frame_locator("iframe.flame").locator("#frames > g").count()
                )
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return check


def main(argv: list[str]) -> int:
    from agentload.report.build import build_report

    run_dir, out = Path(argv[0]), Path(argv[1])
    check = inspect_report(build_report(run_dir), screenshot=out, height=1640)
    print(f"{out}: {len(check.charts)} charts, console errors: {check.errors or 'none'}")
    return 1 if check.errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
