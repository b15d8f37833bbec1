"""The web dashboard in a real browser: the API app with its dashboard on
uvicorn on a free loopback port (test_api.Server), on the demo factory with
one user per role, driven by Debian's headless Chromium through playwright
(the system browser; playwright downloads none).

A plant manager signs in, sees the plant overview, opens an SEU and its
charts (the very PNG the engine draws for that report), acknowledges an
alert (then read back through the API, with the comment) and downloads the
SEU's PDF (pdftotext shows the SEU). An auditor sees no acknowledge button,
the API refuses the acknowledgement anyway, and downloads the audit package.
On a 390 x 844 phone screen no element reaches past the screen's width.
Screenshots and downloads go to tests/artifacts/dashboard/ (git-ignored).

SQLite only: the pages reach the database through the API, which
test_api.py runs on SQLite and PostgreSQL alike.

Under CI=true a missing chromium or playwright fails; elsewhere the tests
skip with one line.
"""
import hashlib
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import demo_database
from engine import alerts, catalog, figures, permissions, reports, users
from engine.demo import train_demo_baselines
from engine.periods import parse_period

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from test_api import Server, password  # noqa: E402 - needs the API extra

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SEU = ("Boiler-1", "natural_gas")
SEU_NAME = "Boiler-1 natural_gas"
PHONE = {"width": 390, "height": 844}
WAIT_MS = 60_000


def _playwright():
    """playwright's sync API and the system chromium, or a skip (a failure under CI=true)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright, why = None, "playwright is not installed (pip install playwright)"
    else:
        why = None if CHROMIUM else "chromium is not installed (apt-get install chromium)"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; CI=true requires the dashboard's browser tests", pytrace=False)
        pytest.skip(f"dashboard browser tests: {why}")
    return sync_playwright


@pytest.fixture(scope="module", params=["sqlite"])
def server(request, tmp_path_factory):
    """The demo factory with its baselines, the alerts of 2025-03, one user
    per role (named as the role) and the app serving it."""
    with demo_database(request, tmp_path_factory) as (store, _truth, url):
        for role in permissions.ROLES:
            users.create_user(store, role, role, password=password(role), actor="test")
        train_demo_baselines(store)
        alerts.evaluate(store, date(2025, 3, 1), date(2025, 3, 31), notifiers=[])
        api = Server(store, url)
        api.home = api.base.removesuffix("/api/v1")
        try:
            yield api
        finally:
            api.stop()


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start;
        # a container's small /dev/shm would crash its renderers.
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_for(browser):
    """A new browser page (its own session) at a viewport size; pages close afterwards."""
    contexts = []

    def make(viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900},
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        return page
    yield make
    for context in contexts:
        context.close()


def sign_in(page, server, role: str) -> None:
    """From the server's root to the plant overview, signed in as ``role``."""
    page.goto(server.home + "/")
    assert page.url.endswith("/dashboard/"), page.url  # / leads to the dashboard
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", password(role))
    page.click("form.login button[type=submit]")
    page.wait_for_selector("#seus table")
    assert page.locator("#user").inner_text() == f"{role} ({role.replace('_', ' ', 1)})"


def wait_for_charts(page) -> None:
    """Every chart on the page loaded as an image with pixels (none failed)."""
    page.wait_for_function("() => [...document.querySelectorAll('img.chart')].length > 0 && "
                           "[...document.querySelectorAll('img.chart')].every("
                           "i => i.classList.contains('loaded'))")
    sizes = page.eval_on_selector_all("img.chart", "imgs => imgs.map(i => [i.alt, "
                                      "i.naturalWidth, i.naturalHeight])")
    for alt, width, height in sizes:
        assert width > 300 and height > 150, (alt, width, height)


def downloaded_pdf(page, button: str, name: str, timeout_ms: int = WAIT_MS) -> str:
    """Click an export button, keep what the browser downloads in the
    artefacts, check it is the PDF ``name``; its text (pdftotext)."""
    with page.expect_download(timeout=timeout_ms) as download:
        page.click(button)
    saved = ARTIFACTS / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == name
    assert saved.read_bytes().startswith(b"%PDF")
    return subprocess.run(["pdftotext", "-layout", str(saved), "-"], capture_output=True,
                          text=True, check=True).stdout


# The SHA-256 of a shown image's RGBA pixels, hashed in the page (the pixels
# themselves are megabytes).
SHOWN_PIXELS = """async (selector) => {
  const img = document.querySelector(selector);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const digest = await crypto.subtle.digest('SHA-256', pixels);
  return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def drawn_pixels(path: Path) -> str:
    """The SHA-256 of a PNG file's RGBA pixels."""
    from PIL import Image  # matplotlib's own dependency
    with Image.open(path) as image:
        return hashlib.sha256(image.convert("RGBA").tobytes()).hexdigest()


def shows_engine_chart(page, store, period: str, tmp_path) -> bool:
    """The page's daily chart is, pixel for pixel, the engine's drawing of the SEU's report."""
    report = reports.build(store, *SEU, *parse_period(period))
    drawn = figures.daily_chart(store, report, tmp_path)
    return page.evaluate(SHOWN_PIXELS, "img[data-chart='/charts/seu/daily']") == \
        drawn_pixels(drawn)


def open_seu(page, server, period: str) -> None:
    """The SEU's page for ``period`` with its report, monthly table and charts."""
    page.goto(f"{server.home}/dashboard/#/seu/{SEU[0]}/{SEU[1]}?period={period}")
    page.wait_for_selector("#report dl")
    page.wait_for_selector("#months table")
    wait_for_charts(page)


def test_plant_manager_opens_an_seu_acknowledges_an_alert_and_downloads_its_pdf(
        server, page_for, tmp_path):
    store = server.store
    page = page_for()
    sign_in(page, server, "plant_manager")
    # The overview: savings, every SEU, the plant charts and the open alerts.
    wait_for_charts(page)
    seus = page.locator("#seus tbody tr")
    assert seus.count() == len(catalog.list_entries(store, "seu"))
    open_ids = [a["id"] for a in alerts.list_alerts(store, "open")]
    assert page.locator("#alerts tbody tr").count() == len(open_ids) > 0
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)

    # The SEU from the overview's link: the latest month with data.
    page.click(f"#seus a:text-is('{SEU_NAME}')")
    period = re.search(r"period=(\d{4}-\d{2})", page.url).group(1)
    assert period == "2025-10"  # the demo's data end on 2025-10-31
    page.wait_for_selector("#report dl")
    wait_for_charts(page)
    report = reports.build(store, *SEU, *parse_period(period))
    assert page.locator("h1").inner_text() == SEU_NAME
    shown = page.locator("#report").inner_text()
    assert f"{report['actual']:,.0f} m3" in shown and f"{report['expected']:,.0f} m3" in shown
    # The chart is the engine's own drawing of this report, not a placeholder.
    assert shows_engine_chart(page, store, period, tmp_path)
    page.screenshot(path=ARTIFACTS / f"seu-{period}.png", full_page=True)

    # March has the alerts: acknowledge one with a finding.
    open_seu(page, server, "2025-03")
    assert shows_engine_chart(page, store, "2025-03", tmp_path)
    alert = next(a for a in alerts.list_alerts(store, "open", subject=SEU_NAME))
    finding = "burner fouling found on Boiler-1 and cleaned"
    page.click(f"#alerts button[data-alert='{alert['id']}']")
    page.fill(f"form[data-alert='{alert['id']}'] textarea", finding)
    page.click(f"form[data-alert='{alert['id']}'] button[type=submit]")
    row = page.locator("#alerts tbody tr", has_text=finding)
    row.wait_for()
    assert "acknowledged by plant_manager" in row.inner_text()
    answer = server.call("GET", f"/alerts/{alert['id']}", role="auditor")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["acknowledged_by"], answer.json()["comment"]) \
        == ("acknowledged", "plant_manager", finding)
    page.screenshot(path=ARTIFACTS / "seu-2025-03-acknowledged.png", full_page=True)

    # The PDF of the SEU's month, as the browser saves it.
    text = downloaded_pdf(page, "#export-pdf", "boiler-1_natural_gas_2025-03.pdf")
    assert f"Energy performance report: {SEU_NAME}, 2025-03" in text
    assert page.js_errors == []


def test_auditor_reads_without_acknowledging_and_exports_the_audit_package(server, page_for):
    store = server.store
    page = page_for()
    sign_in(page, server, "auditor")
    open_seu(page, server, "2025-03")
    page.wait_for_selector("#alerts table")
    still_open = [a for a in alerts.list_alerts(store, "open", subject=SEU_NAME)]
    assert still_open, "the demo's March has open alerts on the SEU"
    # The alerts show, the button does not: an auditor changes nothing.
    assert page.locator("#alerts tbody tr").count() == len(
        alerts.list_alerts(store, "all", subject=SEU_NAME))
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert page.locator("#alerts textarea").count() == 0
    page.screenshot(path=ARTIFACTS / "auditor-seu-2025-03.png", full_page=True)
    # ... and the API refuses it anyway.
    target = still_open[0]["id"]
    answer = server.call("POST", f"/alerts/{target}/acknowledge", role="auditor",
                         json={"comment": "auditor tries"})
    assert answer.status_code == 403
    assert "auditor may not alerts.acknowledge" in answer.json()["detail"]
    assert alerts.get(store, target)["status"] == "open"

    text = downloaded_pdf(page, "#export-audit", "audit-pack-2025.pdf", timeout_ms=180_000)
    assert "ISO 50001 audit package 2025" in text and SEU_NAME in text
    assert page.js_errors == []


def test_an_executive_sees_the_overview_without_alerts(server, page_for):
    page = page_for()
    sign_in(page, server, "executive")
    wait_for_charts(page)
    assert page.locator("#alerts").count() == 0  # executives do not read alerts
    # The SEU page: the report and its charts, no alerts, no audit package.
    open_seu(page, server, "2025-03")
    assert page.locator("#alerts").count() == 0 and page.locator("#export-audit").count() == 0
    assert page.locator("img[data-chart='/charts/baseline/drivers']").count() == 0
    assert page.locator("img[data-chart='/charts/seu/cusum']").count() == 1
    assert page.js_errors == []


# Elements that reach past the right edge of the screen, outside the boxes
# that scroll on their own (wide tables).
OVERFLOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right))"""


def test_a_phone_screen_shows_every_page_without_sideways_scrolling(server, page_for):
    page = page_for(PHONE)
    sign_in(page, server, "energy_engineer")
    wait_for_charts(page)
    pages = {"overview": None, "seu-2025-03": "2025-03"}
    for name, period in pages.items():
        if period:
            open_seu(page, server, period)
        assert page.evaluate("window.innerWidth") == PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.evaluate(OVERFLOW) == []
        page.screenshot(path=ARTIFACTS / f"phone-{name}.png", full_page=True)
    # The charts shrink to the screen and keep their proportions.
    widths = page.eval_on_selector_all("img.chart", "imgs => imgs.map(i => i.width)")
    assert widths and all(0 < w <= PHONE["width"] for w in widths)
    assert page.js_errors == []


def test_the_charts_api_draws_what_it_can_and_says_why_not(server):
    """The dashboard's image endpoints without a browser: PNG and SVG of the
    same chart, and one JSON line (never an empty chart) where nothing can be drawn."""
    seu = {"seu": SEU[0], "energy_source": SEU[1], "period": "2025-03"}
    png = server.call("GET", "/charts/seu/daily", role="executive", params=seu)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = server.call("GET", "/charts/seu/daily", role="executive",
                      params={**seu, "format": "svg"})
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content[:500]
    refusals = {
        ("/charts/seu/monthly", "2024-05"): (400, "overlaps the baseline period"),
        ("/charts/plant/savings", "2030"): (400, "no month from 2030-01 to 2030-12"),
        ("/charts/plant/by-seu", "2024-06-01..2025-02-01"): (400, "one year at most"),
    }
    for (path, period), (status, words) in refusals.items():
        params = dict(zip(("from", "to"), period.split(".."))) if ".." in period \
            else {"period": period}
        if path.startswith("/charts/seu"):
            params.update({"seu": SEU[0], "energy_source": SEU[1]})
        answer = server.call("GET", path, role="admin", params=params)
        assert answer.status_code == status and words in answer.json()["detail"], answer.text
    unknown = server.call("GET", "/charts/seu/cusum", role="admin",
                          params={**seu, "seu": "Boiler-9"})
    assert unknown.status_code == 404 and "unknown SEU" in unknown.json()["detail"]
    refused = server.call("GET", "/charts/baseline/drivers", role="executive",
                          params={"seu": SEU[0], "energy_source": SEU[1]})
    assert refused.status_code == 403
