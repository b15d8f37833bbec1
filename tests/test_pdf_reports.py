"""Charts and the one-SEU-period PDF on the demo factory, on SQLite and PostgreSQL.

The PDF is read back as a person would: pages rendered to PNG with pdftoppm
and text extracted with pdftotext (poppler-utils). The numbers in it must be
those of ``reports.build``; the charts must show the reported data and stay
readable in black and white.
"""
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone

import numpy as np
import pytest
from PIL import Image

from conftest import BACKENDS, demo_database
from engine import alerts, baselines, figures, reports
from engine.cli.main import main
from engine.document import number

MARCH = (date(2025, 3, 1), date(2025, 3, 31))
SEU = ("Boiler-1", "natural_gas")


def require_poppler() -> None:
    """pdftoppm and pdftotext (Debian poppler-utils; .ci/run installs them):
    skip without them, except under CI=true, where the PDF tests must run."""
    if shutil.which("pdftoppm") and shutil.which("pdftotext"):
        return
    message = "poppler-utils (pdftoppm, pdftotext) not installed: apt-get install poppler-utils"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def poppler():
    require_poppler()


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, truth, url):
        yield store, url


def pdf_text(path) -> str:
    """The PDF's text with white space collapsed (table cells wrap over lines)."""
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    return " ".join(out.split())


def render_pages(path, out_dir) -> list:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(out_dir / "page")],
                   check=True)
    return sorted(out_dir.glob("page*.png"))


def assert_drawn(path, min_bytes: int = 8000) -> np.ndarray:
    """An image that is more than a blank page: big enough, with ink on it."""
    assert path.exists() and path.stat().st_size > min_bytes, path
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert pixels.min() < 60 and pixels.max() > 200, f"{path.name}: no contrast"
    assert (pixels.sum(axis=2) < 600).mean() > 0.01, f"{path.name}: nearly empty"
    return pixels


def test_report_pdf_holds_the_reported_numbers_and_the_investigation(demo, poppler, tmp_path,
                                                                     capsys):
    store, url = demo
    # An investigation: alerts of March, one acknowledged with what was found.
    alerts.evaluate(store, *MARCH, now=datetime(2025, 4, 2, tzinfo=timezone.utc).timestamp())
    mine = [a for a in alerts.list_alerts(store, status="all") if a["seu"] == "Boiler-1 natural_gas"
            and a["first"] <= MARCH[1] and MARCH[0] <= a["last"]]
    assert mine, "the demo's Boiler-1 saves gas in March: an alert is expected"
    alerts.acknowledge(store, mine[0]["id"], "j.doe", "Burner retuned on 2025-02-10")

    path = tmp_path / "boiler-2025-03.pdf"
    assert main(["--db", url, "report", *SEU[:1], "--source", SEU[1], "--period", "2025-03",
                 "--pdf", str(path)]) == 0
    assert f"PDF: {path}" in capsys.readouterr().out
    expected = reports.build(store, *SEU, *MARCH)
    text = pdf_text(path)
    unit = expected["unit"]
    for figure in (number(expected["actual"], 0, unit), number(expected["expected"], 0, unit),
                   f"{number(expected['lower'], 0)} to {number(expected['upper'], 0)} {unit}",
                   f"({number(expected['deviation_pct'], 1)} %)",
                   number(expected["actual_kwh"], 0, "kWh"), number(expected["senpi"], 3),
                   number(expected["cusum"]["to_date"], 0, unit)):
        assert figure in text, figure
    baseline = baselines.get(store, *SEU)
    assert f"baseline version {expected['baseline_version']}" in text
    assert baseline["formula"].split(";")[0] in text
    assert f"Data-quality score {number(expected['data_quality']['score'], 3)}" in text
    for name in ("M-Boiler-1-NG", "production_count"):
        assert name in text
    assert "Investigation status" in text and "j.doe" in text
    assert "Burner retuned on 2025-02-10" in text
    assert text.count("Signature") == 3 and "Audited by" in text

    pages = render_pages(path, tmp_path)
    assert 1 <= len(pages) <= 2, "one or two pages to sign"
    for page in pages:
        assert_drawn(page, min_bytes=3000)
    charts = sorted((tmp_path / "boiler-2025-03_charts").glob("*.png"))
    assert [c.name for c in charts] == ["boiler-1_natural_gas_cusum_2025-03.png",
                                        "boiler-1_natural_gas_daily_2025-03.png"]
    for chart in charts:
        assert_drawn(chart)


def test_estimated_days_are_printed_apart_from_the_comparison(demo, poppler, tmp_path):
    store, url = demo
    # The demo's steam meter lost five days of July 2025.
    path = tmp_path / "autoclave-2025-07.pdf"
    assert main(["--db", url, "report", "Autoclave-1", "--source", "steam", "--period",
                 "2025-07", "--pdf", str(path)]) == 0
    r = reports.build(store, "Autoclave-1", "steam", date(2025, 7, 1), date(2025, 7, 31))
    e = r["estimates"]
    assert e["used"] and e["days_estimated"] == 5
    assert (f"Measured {number(e['measured'], 0, 'kg')}; estimated "
            f"{number(e['estimated'], 0, 'kg')} over 5 days") in pdf_text(path)
    assert number(r["actual"], 0, "kg") in pdf_text(path), "the comparison uses metered days"


def test_bad_pdf_paths_are_one_line_errors(demo, tmp_path, capsys):
    _, url = demo
    for target, says in ((tmp_path / "missing" / "r.pdf", "does not exist"),
                         (tmp_path / "r.txt", "must end in .pdf")):
        assert main(["--db", url, "report", "Boiler-1", "--source", "natural_gas",
                     "--period", "2025-03", "--pdf", str(target)]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert main(["--db", url, "report", "all", "--year", "2025", "--pdf",
                 str(tmp_path / "all.pdf")]) == 2
    assert "audit-pack" in capsys.readouterr().err


def test_every_seu_chart_shows_the_reported_data_in_black_and_white(demo, tmp_path):
    store, _ = demo
    run = reports.run(store, 2025, (1, 10), seus=[SEU], save=False)
    paths = {"monthly": figures.monthly_chart(run["reports"], tmp_path),
             "daily": figures.daily_chart(store, run["reports"][2], tmp_path),
             "cusum": figures.cusum_file(store, run["reports"][-1], tmp_path),
             "completeness": figures.completeness_chart(store, run["reports"], tmp_path),
             **figures.driver_charts(store, *SEU, 1, tmp_path)}
    assert set(paths) == {"monthly", "daily", "cusum", "completeness", "outdoor_temp_c",
                          "production_count"}
    for path in paths.values():
        pixels = assert_drawn(path)
        # Grey levels only: the series differ by line style, marker and hatching.
        assert (pixels.max(axis=2) == pixels.min(axis=2)).all(), f"{path.name} uses colour"
    svg = figures.monthly_chart(run["reports"], tmp_path, ".svg")
    assert svg.read_text().lstrip().startswith("<?xml") and "<path" in svg.read_text()

    # The chart data are the reported data.
    m = figures.monthly(run["reports"])
    assert m["labels"] == [f"2025-{i:02d}" for i in range(1, 11)]
    assert m["expected"] == [r["expected"] for r in run["reports"]]
    c = figures.cusum_series(store, *SEU, MARCH[1])
    march = reports.build(store, *SEU, *MARCH)
    assert [{"week_of": c["group_starts"][i], "direction": d} for i, d in c["alarms"]] \
        == march["cusum"]["alarms"]
    assert c["running"][-1] == pytest.approx(march["cusum"]["to_date"], rel=1e-9)


def test_energy_vs_driver_points_scatter_around_the_line_as_the_residuals(demo):
    store, _ = demo
    # Partial residuals minus the fitted line are the model's residuals: their
    # sum of squares is the baseline's SSE, for every SEU and driver term.
    for equipment, source in (SEU, ("HVAC-Main", "electricity"),
                              ("Injection-Molding-1", "electricity")):
        stats = baselines.get(store, equipment, source)["statistics"]
        relations = figures.driver_relations(store, equipment, source)
        assert relations
        for rel in relations:
            line = np.interp(rel["x"], rel["line_x"], rel["line_y"])
            sse = float(((rel["y"] - line) ** 2).sum())
            # The hinge of a change-point curve lies between grid points.
            tolerance = 2e-2 if rel["driver"] == "outdoor_temp_c" else 1e-9
            assert sse == pytest.approx(stats["sse"], rel=tolerance), rel["driver"]


def test_the_engine_runs_without_the_reports_extra(tmp_path):
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = sys.modules['reportlab'] = None  # not installed\n"
        "import engine, engine.reports, engine.audit_pack, engine.report_pdf\n"
        "from engine.cli.main import build_parser\n"
        "build_parser()\n"
        "from engine import charts, pdf, document\n"
        "from engine.errors import EnmsError\n"
        "for call in (lambda: charts.shares_chart(['a'], [1.0], 'kWh', 't'),\n"
        "             lambda: pdf.write(document.Document('t'), sys.argv[1])):\n"
        "    try:\n"
        "        call()\n"
        "    except EnmsError as exc:\n"
        "        print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.pdf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "charts need matplotlib: pip install 'enms[reports]'",
        "PDF output needs reportlab: pip install 'enms[reports]'"]
