"""Site-local time: UTC offsets, local days and the times DST makes invalid.

Readings are stored with UTC epoch seconds; days and months belong to the
site's time zone. The UTC offset of a zone is piecewise constant, so the local
day of an instant is ``(ts + offset(ts)) // 86400`` with the offset looked up
in a short list of segments. That list is also turned into a SQL CASE
expression, so the database can group by local day without time-zone support
(SQLite has none).
"""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

EPOCH_DAY = date(1970, 1, 1)
DAY_S = 86400


def offset_segments(tz_name: str, start_ts: int, end_ts: int) -> list[tuple[int, int]]:
    """The UTC offsets in force over [start_ts, end_ts].

    Returns
    -------
    list of (from_ts, offset_s): offset_s [s] applies from from_ts [UTC epoch
    s] until the next segment's from_ts. The first from_ts is start_ts.
    """
    tz = ZoneInfo(tz_name)

    def offset(ts: int) -> int:
        return int(datetime.fromtimestamp(ts, tz).utcoffset().total_seconds())

    segments = [(start_ts, offset(start_ts))]
    # Offsets change at most a few times a year: probe daily, then bisect.
    probe = start_ts
    while probe < end_ts:
        nxt = min(probe + DAY_S, end_ts)
        if offset(nxt) != segments[-1][1]:
            lo, hi = probe, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == segments[-1][1] else (lo, mid)
            segments.append((hi, offset(hi)))
        probe = nxt
    return segments


def local_offsets(segments: list[tuple[int, int]], ts):
    """The UTC offset [s] at each instant of ``ts`` (a numpy array)."""
    import numpy as np
    starts = np.array([s for s, _ in segments], dtype=np.int64)
    offsets = np.array([o for _, o in segments], dtype=np.int64)
    index = np.searchsorted(starts, ts, side="right") - 1
    return offsets[np.clip(index, 0, None)]


def offset_sql(segments: list[tuple[int, int]], column: str = "ts") -> str:
    """The offset as a SQL expression of ``column``; integers only, no user text."""
    if len(segments) == 1:
        return str(int(segments[0][1]))
    whens = " ".join(f"WHEN {column} < {int(nxt[0])} THEN {int(cur[1])}"
                     for cur, nxt in zip(segments, segments[1:]))
    return f"(CASE {whens} ELSE {int(segments[-1][1])} END)"


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH_DAY).days


def day_from_number(number: int) -> date:
    return EPOCH_DAY + timedelta(days=int(number))


def day_bounds(tz_name: str, day: date) -> tuple[int, int]:
    """UTC epoch seconds of the local midnight starting ``day`` and the next one."""
    tz = ZoneInfo(tz_name)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start.replace(tzinfo=None) + timedelta(days=1)
    return int(start.timestamp()), int(end.replace(tzinfo=tz).timestamp())


def day_length_s(tz_name: str, day: date) -> int:
    """Length of a local day [s]: 86400, or 82800 / 90000 on DST change days."""
    start, end = day_bounds(tz_name, day)
    return end - start


def local_to_utc(naive: datetime, tz_name: str) -> int:
    """UTC epoch seconds of a site-local wall-clock time.

    Raises ValueError for a time that does not exist (skipped by a DST change)
    or that is ambiguous (repeated by one); such a row needs an explicit UTC
    offset in the file.
    """
    tz = ZoneInfo(tz_name)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Round-trip tells a gap (the time never shows on a clock) from a fold.
        back = datetime.fromtimestamp(first.timestamp(), tz).replace(tzinfo=None)
        if back != naive:
            raise ValueError(f"{naive:%Y-%m-%d %H:%M:%S} does not exist in {tz_name} "
                             "(skipped by the daylight-saving change)")
        raise ValueError(f"{naive:%Y-%m-%d %H:%M:%S} is ambiguous in {tz_name} "
                         "(repeated by the daylight-saving change); give a UTC offset")
    return int(first.timestamp())


def utc_iso(ts: int) -> str:
    """An epoch second as ISO 8601 UTC text."""
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def month_starts(start_ts: int, end_ts: int) -> list[int]:
    """UTC epoch seconds of each UTC month start from the month of start_ts to past end_ts.

    Used for PostgreSQL partition bounds, which are UTC months.
    """
    first = datetime.fromtimestamp(start_ts, timezone.utc).replace(
        day=1, hour=0, minute=0, second=0)
    bounds = [first]
    while bounds[-1].timestamp() <= end_ts:
        last = bounds[-1]
        bounds.append(last.replace(year=last.year + last.month // 12, month=last.month % 12 + 1))
    return [int(b.timestamp()) for b in bounds]

