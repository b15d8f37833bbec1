"""Periods as people say them: "for 2024", "twenty twenty four", "last month",
"March", "the first quarter of 2025", "this week".

The words come from the locale (``periods.value``: phrase -> code, and the
``prepositions.voc`` list), so this code holds no language: de-de says "für
2024", "zweitausendvierundzwanzig", "im März", "erstes Quartal 2025",
"letzten Monat", "diese Woche" with the same code (number words, also those
written as one word, through ``engine.names.normalise``). Codes:
``this_month``, ``last_month``, ``this_year``, ``last_year``, ``this_week``,
``last_week``, ``this_quarter``, ``last_quarter``, ``q1``-``q4``, ``m1``-``m12``,
``h1``/``h2`` (first/second half of a year), ``today``, ``yesterday``.

The rule for periods without a year (documented in docs/voice.md): they count
from a reference day, which is the newest day with meter data, or today if that
is earlier (a plant whose data lag still gets "last month" right, and the demo
plant, whose data end in October 2025, answers "in March" with March 2025):

- "this month" / "this year" / "this week" / "this quarter": the one holding
  the reference day; "last ...": the one before it;
- a month name alone: that month of the reference day's year if it has
  started by the reference day, else of the year before;
- a quarter alone: likewise;
- a year ("2024", "twenty twenty four", "two thousand twenty four") with a
  month or quarter: that month or quarter of that year;
- two months ("from January to June", "between March and June"): from the
  first to the end of the second (of the next year if it comes earlier);
- "today", "yesterday": the reference day, the day before (the reference day
  is the newest day with data, so "today" on a plant whose data lag is that day).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from engine.names import normalise


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    kind: str          # 'year', 'quarter', 'month', 'week'

    @property
    def label(self) -> str:
        from engine.periods import label
        return label(self.first, self.last)


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _quarter(year: int, q: int) -> tuple[date, date]:
    return date(year, 3 * q - 2, 1), _month(year, 3 * q)[1]


def _years(tokens: list[str]) -> list[str]:
    """'20 24' (twenty twenty four) -> '2024'; four-digit years stay."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        a = tokens[i]
        b = tokens[i + 1] if i + 1 < len(tokens) else None
        if (b is not None and a.isdigit() and b.isdigit() and a in ("19", "20")
                and len(b) <= 2 and (len(b) == 2 or b == "0")):
            out.append(f"{a}{int(b):02d}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _is_year(token: str) -> bool:
    return token.isdigit() and len(token) == 4 and 1900 <= int(token) <= 2100


def parse(text: str, phrases: dict[str, str], reference: date, *, lang: str = "en",
          articles=(), prepositions=()) -> tuple[Period | None, str]:
    """The period said in ``text`` and the text without it (and without the
    preposition before it): ('boiler one for 2024', ...) -> (Period 2024, 'boiler one').

    phrases: {spoken phrase: code}. Returns (None, text) when no period is said.
    """
    tokens = _years(normalise(text, lang, articles).split())
    table = sorted(((normalise(k, lang, ()).split(), v) for k, v in phrases.items() if k.strip()),
                   key=lambda x: -len(x[0]))
    codes: list[str] = []
    used = [False] * len(tokens)
    i = 0
    while i < len(tokens):
        for words, code in table:
            if words and tokens[i:i + len(words)] == words:
                codes.append(code)
                for j in range(i, i + len(words)):
                    used[j] = True
                i += len(words)
                break
        else:
            if _is_year(tokens[i]):
                codes.append("y" + tokens[i])
                used[i] = True
            i += 1
    if not codes:
        return None, text
    preps = {p.lower() for p in prepositions}
    drop = {a.lower() for a in articles}
    # Prepositions and articles next to the period belong to it ("for", "of the").
    for k in range(len(tokens)):
        if used[k]:
            j = k - 1
            while j >= 0 and not used[j] and (tokens[j] in preps or tokens[j] in drop):
                used[j] = True
                j -= 1
    rest = " ".join(t for t, u in zip(tokens, used) if not u)
    year = next((int(c[1:]) for c in codes if _is_year_code(c)), None)
    months = [c for c in codes if _is_month(c)]
    if len(months) >= 2:
        # "from January to June", "between March and June": the months between.
        first = _period(months[0], year, reference)
        last = _period(months[-1], first.first.year, reference)
        if last.last < first.first:
            last = _period(months[-1], first.first.year + 1, reference)
        return Period(first.first, last.last, "range"), rest
    code = next((c for c in codes if not _is_year_code(c)), None)
    period = _period(code, year, reference)
    return period, rest


def _is_year_code(code: str) -> bool:
    return code.startswith("y") and code[1:].isdigit()


def _is_month(code: str) -> bool:
    return code.startswith("m") and code[1:].isdigit()


def _period(code: str | None, year: int | None, ref: date) -> Period | None:
    if code is None:
        if year is None:
            return None
        return Period(date(year, 1, 1), date(year, 12, 31), "year")
    if _is_month(code):
        month = int(code[1:])
        if year is None:
            year = ref.year if month <= ref.month else ref.year - 1
        return Period(*_month(year, month), "month")
    if code in ("h1", "h2"):
        if year is None:
            year = ref.year if code == "h1" or ref.month >= 7 else ref.year - 1
        return Period(*((date(year, 1, 1), date(year, 6, 30)) if code == "h1"
                        else (date(year, 7, 1), date(year, 12, 31))), "half")
    if code in ("today", "yesterday"):
        day = ref if code == "today" else ref - timedelta(days=1)
        return Period(day, day, "day")
    if code.startswith("q") and code[1:].isdigit():
        q = int(code[1:])
        if year is None:
            year = ref.year if 3 * q - 2 <= ref.month else ref.year - 1
        return Period(*_quarter(year, q), "quarter")
    this_q = (ref.month - 1) // 3 + 1
    if code == "this_month":
        return Period(*_month(ref.year, ref.month), "month")
    if code == "last_month":
        prev = ref.replace(day=1) - timedelta(days=1)
        return Period(*_month(prev.year, prev.month), "month")
    if code == "this_year":
        return Period(date(ref.year, 1, 1), date(ref.year, 12, 31), "year")
    if code == "last_year":
        return Period(date(ref.year - 1, 1, 1), date(ref.year - 1, 12, 31), "year")
    if code == "this_quarter":
        return Period(*_quarter(ref.year, this_q), "quarter")
    if code == "last_quarter":
        y, q = (ref.year, this_q - 1) if this_q > 1 else (ref.year - 1, 4)
        return Period(*_quarter(y, q), "quarter")
    if code in ("this_week", "last_week"):
        monday = ref - timedelta(days=ref.weekday())
        if code == "last_week":
            monday -= timedelta(days=7)
        return Period(monday, monday + timedelta(days=6), "week")
    return None
