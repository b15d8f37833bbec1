"""The ISO 50001 audit package of the demo factory's 2025, on SQLite and PostgreSQL.

The package is built with ``enms audit-pack`` after the plant recorded its
energy policy, investigated an alert and adjusted a baseline; then the PDF
is read back (pdftotext, pdftoppm) and the Markdown and figures checked: every
section is there, in the table of contents too, with the database's numbers.
"""
import re
import subprocess
from datetime import date, datetime, timezone

import pytest

from conftest import BACKENDS, demo_database
from engine import alerts, audit, audit_pack, baselines, catalog, figures, policy, reports, \
    savings
from engine.cli.main import main
from engine.document import Quote, Text, number
from test_pdf_reports import assert_drawn, pdf_text, render_pages, require_poppler

YEAR_SPAN = (date(2025, 1, 1), date(2025, 10, 31))
POLICY = ("# Energy policy of Demo Plant\n\nDemo Plant commits to continual improvement of its "
          "energy performance, to the resources needed for it, to meeting the legal "
          "requirements on energy, and to buying energy-efficient equipment.\n")
ADJUSTED = ("Conveyor-A", "electricity")

def layout_lines(pdf, last_page: int | None = None) -> list[str]:
    """The PDF's lines as laid out (a table row stays on one line), spaces collapsed."""
    pages = ["-l", str(last_page)] if last_page else []
    out = subprocess.run(["pdftotext", "-layout", *pages, str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module", params=BACKENDS)
def pack(request, tmp_path_factory):
    require_poppler()
    """The demo with a policy, an investigated alert and an adjusted baseline,
    and its 2025 audit package built by the command line."""
    with demo_database(request, tmp_path_factory, trained=True) as (store, _truth, url):
        folder = tmp_path_factory.mktemp("pack")
        (folder / "policy.md").write_text(POLICY, encoding="utf-8")
        assert main(["--db", url, "policy", "set", str(folder / "policy.md"), "--approved-by",
                     "A. Director", "--approved-on", "2025-01-15"]) == 0
        alerts.evaluate(store, *YEAR_SPAN,
                        now=datetime(2025, 11, 2, tzinfo=timezone.utc).timestamp())
        investigated = alerts.list_alerts(store, status="open")[0]
        alerts.acknowledge(store, investigated["id"], "j.doe",
                           "Valve found open on the night shift, closed and tagged")
        baselines.adjust(store, *ADJUSTED, reason="new gearbox on the drive",
                         adjustment_type="equipment_upgrade", adjusted_by="e.engineer",
                         approved_by="M. Manager", static_scale=0.97)
        out = folder / "audit-2025"
        assert main(["--db", url, "audit-pack", "--year", "2025", "--out", str(out)]) == 0
        pdf = out / "audit-pack-2025.pdf"
        yield {"store": store, "url": url, "out": out, "pdf": pdf, "text": pdf_text(pdf),
               "markdown": (out / "audit-pack-2025.md").read_text(encoding="utf-8"),
               "alert": investigated}


def test_every_section_is_in_the_pdf_its_contents_and_the_markdown(pack):
    text, markdown = pack["text"], pack["markdown"]
    contents = layout_lines(pack["pdf"], last_page=1)
    positions = []
    for i, title in enumerate(audit_pack.SECTIONS, 1):
        # In the table of contents with a page number, in the body, and in the Markdown.
        assert any(re.fullmatch(re.escape(title) + r"[ .]*\d+", line) for line in contents), title
        positions.append(text.index(title, text.index(audit_pack.SECTIONS[-1]) + 1))
        assert f"\n## {title}\n" in markdown and f"{i}. [{title}](#" in markdown
    assert positions == sorted(positions), "sections in the order of the contents"


def test_the_recorded_policy_is_shown_with_its_version(pack):
    text = pack["text"]
    assert " ".join(POLICY.split()[5:20]) in text
    assert "Version 1, approved by A. Director on 2025-01-15" in text


def test_the_energy_review_ranks_every_seu_by_its_share(pack):
    store, markdown = pack["store"], pack["markdown"]
    consumption = audit_pack.significance(figures.plant_consumption(store, *YEAR_SPAN))
    total = sum(c["energy_kwh"] for c in consumption)
    assert sum(c["share"] for c in consumption) == pytest.approx(1.0)
    assert audit_pack.CRITERION in pack["text"].replace("\n", " ")
    matrix = markdown.split("### SEU identification matrix")[1].split("\n## ")[0]
    for c in consumption:
        row = next(line for line in matrix.splitlines() if line.startswith(f"| {c['seu']} |"))
        assert f"| {number(c['energy_kwh'], 0)} | {100 * c['energy_kwh'] / total:.1f} % |" in row
        # The person the catalog names for the equipment; never invented.
        responsible = catalog.get_entry(store, "equipment", c["equipment"])["responsible"]
        assert row.rstrip().endswith(f"| {responsible or 'not recorded'} |")
        seu = catalog.get_seu(store, c["equipment"], c["source"])
        assert ", ".join(seu["drivers"]) in row
    # The largest use is significant under the Pareto rule; ranks follow the shares.
    largest = max(consumption, key=lambda c: c["share"])
    assert largest["rank"] == 1 and largest["significant"]


def test_methodology_lists_model_statistics_and_adjustment_rules(pack):
    store, text = pack["store"], pack["text"]
    for seu in catalog.list_entries(store, "seu"):
        b = baselines.get(store, seu["equipment"], seu["source"])
        assert f"Baseline version {b['version']} ({b['status']}), model {b['model']}" in text
        assert b["formula"].split(";")[0] in text
        assert f"Training period {b['period']}" in text
    for check in ("model F-test p", "CV(RMSE)", "largest VIF", "lag-1 residual autocorrelation"):
        assert check in text
    assert "95 % prediction interval" in text and "Adjustment rules:" in text


def test_monthly_reports_carry_the_reported_numbers(pack):
    store, markdown = pack["store"], pack["markdown"]
    run = reports.run(store, 2025, (1, 10), save=False)
    assert len(run["reports"]) == 90
    for r in run["reports"]:
        row = (f"| {r['period']} | {number(r['actual'], 0)} | {number(r['expected'], 0)} | "
               f"{number(r['lower'], 0)} to {number(r['upper'], 0)} | "
               f"{number(r['deviation_pct'], 1)} |")
        assert row in markdown, (r["seu"], r["period"])
    adjusted = [r for r in run["reports"] if (r["equipment"], r["source"]) == ADJUSTED]
    assert {r["baseline_version"] for r in adjusted} == {2}


def test_investigation_and_adjustment_logs(pack):
    store, text = pack["store"], pack["text"]
    recorded = alerts.list_alerts(store, status="all")
    assert f"{len(recorded)} alerts between 2025-01-01 and 2025-10-31" in text
    assert "j.doe" in text and "Valve found open on the night shift, closed and tagged" in text
    opened = sum(a["status"] == "open" for a in recorded)
    assert f"{opened} open (not yet investigated)" in text
    # The adjustment: who, why, approved by whom, which version it replaces.
    assert "new gearbox on the drive" in text and "M. Manager" in text
    assert "equipment upgrade" in text
    trail = audit.log(store, action="baseline")
    assert [t["action"] for t in trail].count("baseline.adjust") == 1
    assert text.count("baseline.adjust") == 1 and text.count("baseline.train") == 9


def test_data_collection_plan_and_savings(pack):
    store, text = pack["store"], pack["text"]
    for meter in catalog.list_entries(store, "meter"):
        assert meter["name"] in text
    assert "output (not counted)" in text, "the compressed-air meter is an output"
    total = savings.compute(store, *YEAR_SPAN)["total"]["period"]
    row = next(line for line in layout_lines(pack["pdf"]) if line.startswith("plant total "))
    assert row.split()[2] == number(total["avoided_mwh"], 1), row
    assert number(total["co2_t"], 1) in text


def test_every_figure_is_a_file_in_the_markdown_and_drawn(pack):
    out, markdown = pack["out"], pack["markdown"]
    files = sorted((out / "figures").glob("*.png"))
    linked = re.findall(r"\]\((figures/[^)\s]+\.png)\)", markdown)
    assert sorted(out / p for p in linked) == files
    names = {f.name for f in files}
    assert {"plant_by_source.png", "plant_by_seu.png", "plant_savings_to_date.png"} <= names
    for seu in catalog.list_entries(pack["store"], "seu"):
        base = figures.slug(seu["name"])
        for chart in ("monthly", "cusum_2025-10", "completeness"):
            assert f"{base}_{chart}.png" in names
        assert any(n.startswith(f"{base}_vs_") for n in names), seu["name"]
    for f in files:
        assert_drawn(f)


def test_pdf_pages_render(pack, tmp_path):
    pages = render_pages(pack["pdf"], tmp_path)
    assert len(pages) > 20
    for page in pages:
        assert_drawn(page, min_bytes=1500)


def test_a_plant_without_a_policy_is_told_so(store):
    blocks = audit_pack.policy_section(store)
    said = " ".join(b.text for b in blocks if isinstance(b, (Text, Quote)))
    assert "No energy policy is recorded" in said and policy.TEMPLATE.strip() in said
    first = policy.record(store, "Our policy [date]", approved_by=None)
    second = policy.record(store, "Our policy, approved", approved_by="A. Director")
    assert (first["version"], second["version"]) == (1, 2)
    assert first["unfilled"] == ["Our policy [date]"] and second["unfilled"] == []
    assert policy.get(store)["text"] == "Our policy, approved\n"
    assert [v["version"] for v in policy.history(store)] == [1, 2]
    assert [t["entity"] for t in audit.log(store, action="policy")] == ["version 1", "version 2"]


def test_significance_is_the_pareto_cut_or_a_large_share():
    kwh = {"A": 500.0, "B": 250.0, "C": 40.0, "D": 60.0, "E": 40.0, "F": 30.0, "G": 80.0,
           "H": None}
    rows = audit_pack.significance([{"seu": k, "energy_kwh": v} for k, v in kwh.items()])
    got = {r["seu"]: (r["rank"], r["significant"]) for r in rows}
    # Ranked by kWh (total 1000): A 50 %, B 25 % (75 % before C's turn), G 8 %
    # (75 % before it: inside the 80 %), D 6 % (83 % before it, but 5 % or more),
    # C and E 4 % and F 3 % (after 80 %, each under 5 %): not significant.
    assert got == {"A": (1, True), "B": (2, True), "G": (3, True), "D": (4, True),
                   "C": (5, False), "E": (6, False), "F": (7, False), "H": (None, None)}
    assert next(r for r in rows if r["seu"] == "H")["share"] is None, "no data is no share"
