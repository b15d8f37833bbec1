"""Charts of an SEU and of the plant, drawn from plain data (report dicts,
lists and arrays), never from the database: what an auditor and a plant
manager look at.

Per SEU: actual vs expected energy with the 95 % prediction band (by month or
by day), the CUSUM with its control limits and alarms, energy against each
driver with the fitted line, and data completeness over time. For the plant:
consumption by SEU and by energy source, and savings to date.

Every chart stays readable printed in black and white: series differ by line
style, marker and hatching, not by colour alone. matplotlib is imported when a
chart is drawn (the ``reports`` extra), so a voice device without it runs the
engine. Figures are ``matplotlib.figure.Figure`` objects made without pyplot
(no global state; safe in a server); ``save`` writes PNG or SVG by suffix.
"""
from datetime import date
from pathlib import Path

import numpy as np

from .errors import EnmsError

# Grey levels and line styles that survive a black-and-white printer.
INK = "black"
GREY = "0.45"
BAND = "0.85"
SIZE_IN = (7.0, 3.4)         # one chart across an A4 page with margins [inch]
DPI = 150
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++", "|||", "***")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)))
MARKERS = ("o", "s", "^", "v", "D", "x")


def _figure(size=SIZE_IN, rows: int = 1, sharex: bool = False):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # the reports extra is not installed
        raise EnmsError("charts need matplotlib: pip install 'enms[reports]'") from None
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0]
    for ax in axes:
        ax.grid(True, color="0.88", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def _finite(values) -> np.ndarray:
    """Floats with None as NaN: a missing value leaves a gap, never a zero."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _date_axis(ax, dates) -> None:
    from matplotlib import dates as mdates
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def actual_vs_expected(labels, actual, expected, lower, upper, unit: str, title: str,
                       confidence: float = 0.95):
    """Actual and expected energy per period with the prediction band.

    labels: one per period (month labels such as '2025-03', or dates for days);
    actual, expected, lower, upper [unit]: the period totals and the band's
    edges (None where a period has no complete data). Periods outside the
    band are marked: they are the significant deviations.
    """
    actual, expected = _finite(actual), _finite(expected)
    lower, upper = _finite(lower), _finite(upper)
    if not len(actual) == len(expected) == len(lower) == len(upper) == len(labels):
        raise ValueError("labels, actual, expected, lower and upper differ in length")
    dated = bool(len(labels)) and isinstance(labels[0], date)
    x = np.array(labels) if dated else np.arange(len(labels))
    fig, (ax,) = _figure()
    ax.fill_between(x, lower, upper, facecolor=BAND, edgecolor=GREY, hatch="///",
                    linewidth=0.0, step=None, label=f"{confidence:.0%} prediction interval")
    ax.plot(x, expected, color=GREY, linestyle="--", linewidth=1.4, marker="s", markersize=3,
            label="expected (baseline)")
    ax.plot(x, actual, color=INK, linestyle="-", linewidth=1.6, marker="o", markersize=3.5,
            label="actual")
    outside = (actual < lower) | (actual > upper)
    if outside.any():
        ax.scatter(x[outside], actual[outside], s=70, facecolors="none", edgecolors=INK,
                   linewidths=1.2, zorder=5, label="outside the interval")
    if dated:
        _date_axis(ax, x)
    else:
        ax.set_xticks(x, [str(v) for v in labels], rotation=45 if len(labels) > 8 else 0)
    ax.set_ylabel(f"energy [{unit}]")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return fig


def cusum_chart(days, running, group_ends, upper, lower, h: float, alarms, unit: str,
                title: str):
    """The CUSUM of actual - expected energy and its tabular control chart.

    Top: the running sum [unit] per interval (``days``: each interval's last
    day); a falling line is savings. Bottom: the tabular CUSUM statistics
    C+ and C- [standard deviations] per judged group (``group_ends``) against
    the decision limit ``h``. alarms: (group index, 'up' | 'down'); they are
    marked on both panels.
    """
    days, running = list(days), _finite(running)
    ends, upper, lower = np.array(group_ends), _finite(upper), _finite(lower)
    fig, (top, bottom) = _figure(size=(SIZE_IN[0], SIZE_IN[1] * 1.5), rows=2, sharex=True)
    top.plot(days, running, color=INK, linewidth=1.5, label="CUSUM of actual - expected")
    top.axhline(0, color=GREY, linewidth=0.8)
    top.set_ylabel(f"CUSUM [{unit}]")
    top.set_title(title, fontsize=10)
    bottom.step(ends, upper, where="post", color=INK, linestyle="-", label="C+ (above baseline)")
    bottom.step(ends, -lower, where="post", color=GREY, linestyle="--",
                label="-C- (below baseline)")
    for limit in (h, -h):
        bottom.axhline(limit, color=INK, linestyle=":", linewidth=1.2)
    bottom.text(0.0, h, f" control limit h = {h:g}", va="bottom", fontsize=7,
                transform=bottom.get_yaxis_transform())
    bottom.set_ylabel("tabular CUSUM [sigma]")
    for direction, marker in (("up", "^"), ("down", "v")):
        index = [i for i, d in alarms if d == direction]
        if not index:
            continue
        where = ends[index]
        # The running sum at each alarm's week end, to mark it on the top panel too.
        at = np.searchsorted(np.array(days), where, side="right") - 1
        top.scatter(where, running[np.clip(at, 0, len(running) - 1)], marker=marker, s=45,
                    facecolors="white", edgecolors=INK, zorder=5, label=f"alarm {direction}")
        stat = upper[index] if direction == "up" else -lower[index]
        bottom.scatter(where, stat, marker=marker, s=45, facecolors="white", edgecolors=INK,
                       zorder=5, label=f"alarm {direction}")
    _date_axis(bottom, days)
    top.legend(fontsize=7, loc="best")
    bottom.legend(fontsize=7, loc="best")
    return fig


def energy_vs_driver(x, y, line_x, line_y, x_label: str, y_label: str, title: str,
                     note: str = ""):
    """Energy against one driver with the model's fitted line.

    x, y: the training intervals; line_x, line_y: the fitted relationship.
    note: how y was formed (e.g. adjusted to the other drivers' means).
    """
    fig, (ax,) = _figure()
    _driver_panel(ax, x, y, line_x, line_y, x_label, y_label, note)
    ax.set_title(title, fontsize=10)
    return fig


def energy_vs_drivers(relations: list[dict], title: str):
    """Energy against each driver, one panel below the other: ``relations``
    as ``figures.driver_relations`` gives them (x, y, line_x, line_y,
    x_label, y_label, note)."""
    fig, axes = _figure(size=(SIZE_IN[0], SIZE_IN[1] * len(relations)), rows=len(relations))
    for ax, r in zip(axes, relations):
        _driver_panel(ax, r["x"], r["y"], r["line_x"], r["line_y"], r["x_label"], r["y_label"],
                      r["note"])
    fig.suptitle(title, fontsize=10)
    return fig


def _driver_panel(ax, x, y, line_x, line_y, x_label: str, y_label: str, note: str) -> None:
    ax.scatter(_finite(x), _finite(y), s=9, facecolors="none", edgecolors=GREY,
               linewidths=0.7, label="baseline intervals")
    order = np.argsort(_finite(line_x))
    ax.plot(_finite(line_x)[order], _finite(line_y)[order], color=INK, linewidth=1.8,
            label="fitted model")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if note:
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=6.5, va="bottom")
    ax.legend(fontsize=7, loc="upper left")


def completeness_chart(days, shares: dict, title: str, threshold: float | None = None):
    """Daily data completeness [0..1] of each meter and driver.

    shares: name -> one share per day of ``days`` (None: not scanned).
    threshold: the share below which a day is left out of a model.
    """
    fig, (ax,) = _figure()
    for i, (name, values) in enumerate(shares.items()):
        ax.step(days, 100 * _finite(values), where="mid", color=INK if i % 2 == 0 else GREY,
                linestyle=LINESTYLES[i % len(LINESTYLES)], linewidth=1.2, label=name)
    if threshold is not None:
        ax.axhline(100 * threshold, color=INK, linestyle=":", linewidth=0.9)
        ax.text(0.0, 100 * threshold, f" {threshold:.0%} of a day needed (energy, summed drivers)",
                fontsize=7, va="top", transform=ax.get_yaxis_transform())
    ax.set_ylim(-5, 105)
    ax.set_ylabel("completeness [%]")
    ax.set_title(title, fontsize=10)
    _date_axis(ax, days)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def shares_chart(labels, values, unit: str, title: str):
    """Horizontal bars, one hatching per bar, with each bar's share of the total."""
    values = _finite(values)
    total = np.nansum(values)
    fig, (ax,) = _figure(size=(SIZE_IN[0], max(2.2, 0.42 * len(labels) + 1.0)))
    y = np.arange(len(labels))[::-1]
    for i, (yy, v) in enumerate(zip(y, values)):
        ax.barh(yy, v, color="white", edgecolor=INK, hatch=HATCHES[i % len(HATCHES)])
        if np.isfinite(v) and total:
            ax.text(v, yy, f" {v:,.0f} ({v / total:.0%})", va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_formatter("{x:,.0f}")  # plain thousands, no '1e6' offset
    ax.set_xlabel(f"[{unit}]")
    ax.set_xlim(0, np.nanmax(values) * 1.3 if len(values) and np.nanmax(values) > 0 else 1)
    ax.set_title(title, fontsize=10)
    return fig


def savings_chart(months, series: dict, unit: str, title: str):
    """Cumulative avoided energy to date (expected - actual; above zero is saved).

    months: period labels; series: name -> cumulative value per month [unit]
    (e.g. one per energy source and the plant total).
    """
    x = np.arange(len(months))
    fig, (ax,) = _figure()
    for i, (name, values) in enumerate(series.items()):
        ax.plot(x, _finite(values), color=INK if i % 2 == 0 else GREY,
                linestyle=LINESTYLES[i % len(LINESTYLES)], marker=MARKERS[i % len(MARKERS)],
                markersize=3.5, linewidth=1.4, label=name)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_xticks(x, list(months), rotation=45 if len(months) > 8 else 0)
    ax.set_ylabel(f"avoided energy to date [{unit}]")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return fig


def save(fig, path) -> Path:
    """Write a figure as PNG or SVG (by the file's suffix) and free it."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise EnmsError(f"{path}: charts are written as .png or .svg")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    fig.clear()
    return path
