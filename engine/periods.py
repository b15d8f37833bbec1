"""Reporting periods as users say them: a year, a quarter, a month, or two dates.

>>> parse_period("2025-03")
(datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))
>>> parse_period("2025-Q2")
(datetime.date(2025, 4, 1), datetime.date(2025, 6, 30))
"""
import calendar
import re
from datetime import date

from .errors import EnmsError

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str) -> tuple[date, date]:
    """First and last day of 'YYYY', 'YYYY-Qn' or 'YYYY-MM' (local calendar days)."""
    text = text.strip()
    if m := _YEAR.fullmatch(text):
        year = int(m.group(1))
        return date(year, 1, 1), date(year, 12, 31)
    if m := _QUARTER.fullmatch(text):
        year, quarter = int(m.group(1)), int(m.group(2))
        return date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    if (m := _MONTH.fullmatch(text)) and 1 <= int(m.group(2)) <= 12:
        year, month = int(m.group(1)), int(m.group(2))
        return date(year, month, 1), _month_end(year, month)
    raise EnmsError(f"unknown period {text!r}: use a year (2024), a quarter (2025-Q1) "
                    "or a month (2025-03)")


def period_bounds(period: str | None = None, first: date | None = None,
                  last: date | None = None) -> tuple[date, date]:
    """A period given as text or as two dates (exactly one of the two ways)."""
    if period is not None and (first is not None or last is not None):
        raise EnmsError("give a period or --from/--to, not both")
    if period is not None:
        return parse_period(period)
    if first is None or last is None:
        raise EnmsError("a period is needed: --period 2024, or --from and --to")
    if last < first:
        raise EnmsError(f"the period ends ({last}) before it starts ({first})")
    return first, last


def label(first: date, last: date) -> str:
    """'2024', '2025-Q1', '2025-03' when the dates are exactly one, else 'first..last'."""
    for text in (f"{first.year}", f"{first.year}-Q{(first.month - 1) // 3 + 1}",
                 f"{first:%Y-%m}"):
        if parse_period(text) == (first, last):
            return text
    return f"{first}..{last}"
