"""Times: Arrow parses the batches it can, pandas the rest; both must give the same instants.

The reference is what the kit did before Arrow parsed times: pandas' ISO 8601 parser (NaT for
what it cannot read) on the text after Graph's "never" and fractions finer than microseconds
are dealt with.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from zoomaudit import frames
from zoomaudit.convert import _time_text, _times


def reference(values: list) -> pd.Series:
    return pd.Series(
        pd.to_datetime(_time_text(values), utc=True, errors="coerce", format="ISO8601")
    ).astype(frames.TIME)


def same(a: pd.Series, b: pd.Series) -> bool:
    return a.dtype == b.dtype and a.isna().tolist() == b.isna().tolist() and a.equals(b)


@st.composite
def iso_times(draw) -> str:
    year = draw(st.integers(1, 9999))
    month = draw(st.integers(1, 13))  # 13: an impossible date
    day = draw(st.integers(1, 31))
    hour, minute, second = (
        draw(st.integers(0, 24)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 60)),
    )
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        sep = draw(st.sampled_from(["T", " "]))
        text += f"{sep}{hour:02d}:{minute:02d}"
        if draw(st.booleans()):
            text += f":{second:02d}"
            digits = draw(st.integers(0, 9))
            if digits:
                text += "." + "".join(
                    draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits))
                )
    zone = draw(st.sampled_from(["Z", "", "+00:00", "+05:30", "-08:00", "+0530", "z"]))
    return text + zone


values = st.lists(iso_times(), max_size=12) | st.lists(
    st.one_of(
        iso_times(),
        iso_times(),
        iso_times(),
        st.none(),
        st.sampled_from(["0001-01-01T00:00:00Z", "", "garbage", " 2026-04-05T12:00:00Z"]),
        st.text(max_size=8),
    ),
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_times_equal_pandas_iso8601_for_any_batch(batch):
    assert same(_times(batch), reference(batch))


@settings(max_examples=200, deadline=None)
@given(values)
def test_arrow_and_dict_items_give_the_same_times(batch):
    assert same(_times(pa.array(batch, pa.string())), _times(batch))


def test_service_times_are_parsed_in_arrow_and_odd_ones_in_pandas():
    graph = ["2026-04-05T12:00:00Z", "2026-04-05T12:00:00.1234567Z", "0001-01-01T00:00:00Z", None]
    got = _times(graph)
    assert got.tolist()[:2] == [
        pd.Timestamp("2026-04-05T12:00:00Z"),
        pd.Timestamp("2026-04-05T12:00:00.123456Z"),
    ]
    assert got.isna().tolist() == [False, False, True, True]
    # no zone: Arrow refuses the batch; pandas reads it as UTC
    assert (
        _times(["2026-04-05T12:00:00", "2026-04-05T12:00:00Z"]).tolist()
        == [pd.Timestamp("2026-04-05T12:00:00Z")] * 2
    )
    # a number where a time belongs is not a time (not an epoch either)
    assert _times([5, "2026-04-05T12:00:00Z"]).isna().tolist() == [True, False]


def test_a_batch_of_service_times_does_not_go_through_pandas(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("parsed by pandas")

    monkeypatch.setattr(pd, "to_datetime", refuse)
    batch = ["2026-04-05T12:00:00Z", "2025-01-31T23:59:59.5+01:00", None, "0001-01-01T00:00:00Z"]
    assert _times(batch).notna().tolist() == [True, True, False, False]
    assert _times(pa.array(batch)).notna().tolist() == [True, True, False, False]


def test_short_non_standard_forms_give_the_same_times_from_dicts_and_arrow():
    # pandas reads "T0:00" and other short forms; a 7-digit fraction there must be cut on both
    # paths, or a year-9999 neighbour becomes NaT on one of them only
    for batch in (
        ["2024-01-01T0:00:00.1234567", "9999-12-31T00:00:00"],
        ["2024-1-1T00:00:00.1234567", "0002-01-01T00:00:00"],
    ):
        assert same(_times(pa.array(batch, pa.string())), _times(batch))
        assert _times(batch).notna().all()


def test_a_lone_surrogate_in_a_time_is_not_a_time():
    # json.loads (offline imports) lets "\ud800" through; Arrow cannot hold it as text
    batch = json.loads('["2024-01-01T00:00:00Z\\ud800", "2024-01-02T00:00:00Z"]')
    assert _times(batch).isna().tolist() == [True, False]


def test_both_parsers_give_the_same_zone_object():
    by_arrow, by_pandas = _times(["2024-01-01T00:00:00Z"]), _times(["2024-01-01T00:00:00"])
    assert by_arrow.dt.tz is by_pandas.dt.tz
    assert by_arrow.equals(by_pandas)
