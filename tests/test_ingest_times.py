"""Times with a UTC offset, read a batch at a time (``ingest._parse_times``),
against Python's own ISO 8601 reader (``datetime.fromisoformat``), one by one."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from engine.ingest import _parse_times

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
TIMES = st.builds(lambda when, tz, spec: when.replace(tzinfo=timezone.utc).astimezone(tz)
                  .isoformat(timespec=spec),
                  st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)), OFFSETS,
                  st.sampled_from(["minutes", "seconds", "milliseconds"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(TIMES | TIMES.map(lambda t: t.replace("+00:00", "Z")), min_size=1, max_size=40))
def test_a_batch_of_times_with_offsets_reads_as_python_reads_each(texts):
    parsed = _parse_times(texts, "Europe/Berlin")
    assert parsed.errors == {}
    expected = [int(datetime.fromisoformat(t).timestamp()) for t in texts]
    assert parsed.ts.tolist() == expected


def test_bad_times_among_good_ones_are_named_one_by_one():
    texts = ["2025-03-30T01:30:00+01:00", "2025-13-01T00:00:00+01:00", "2025-03-30T03:30:00+02:00",
             "yesterday+01:00", "2025-03-30T02:30:00"]
    parsed = _parse_times(texts, "Europe/Berlin")
    assert parsed.ts[0] == parsed.ts[2] - 3600   # both sides of the spring change, an hour apart
    assert parsed.errors == {1: "unparseable time '2025-13-01T00:00:00+01:00'",
                             3: "unparseable time 'yesterday+01:00'",
                             4: "time '2025-03-30T02:30:00' does not exist in Europe/Berlin "
                                "(daylight-saving change); give a UTC offset such as +01:00"}
