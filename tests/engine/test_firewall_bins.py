"""How a continuous test reads timestamps, splits rows into UTC bins and groups bad bins into events
(the job's pure functions; the API tests run them end to end)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue.monitors import BinReading, root_cause, stretches
from airflow_provider_rime.local.data import DataError
from airflow_provider_rime.local.jobs.continuous import split_bins, utc_nanoseconds
from airflow_provider_rime.rime_api.enums import Severity

UTC = timezone.utc


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_text_timestamps_are_read_as_utc():
    naive = pd.Series(["2024-05-01", "2024-05-01 23:30:00"])
    assert list(pd.to_datetime(utc_nanoseconds(naive, "ts"), utc=True)) == [
        pd.Timestamp("2024-05-01T00:00:00Z"),
        pd.Timestamp("2024-05-01T23:30:00Z"),
    ]
    offsets = pd.Series(["2024-05-02T01:00:00+02:00", "2024-05-02T00:00:00Z", "2024-05-01T20:00:00-05:00"])
    assert list(pd.to_datetime(utc_nanoseconds(offsets, "ts"), utc=True)) == [
        pd.Timestamp("2024-05-01T23:00:00Z"),  # +02:00 converted to UTC: still May 1st
        pd.Timestamp("2024-05-02T00:00:00Z"),
        pd.Timestamp("2024-05-02T01:00:00Z"),
    ]


def test_parquet_timestamps_naive_or_aware():
    naive = pd.Series(pd.to_datetime(["2024-05-01 12:00"]))
    aware = pd.Series(pd.to_datetime(["2024-05-01 14:00"]).tz_localize("Europe/Rome"))
    assert utc_nanoseconds(naive, "ts")[0] == pd.Timestamp("2024-05-01T12:00:00Z").value
    assert utc_nanoseconds(aware, "ts")[0] == pd.Timestamp("2024-05-01T12:00:00Z").value


@pytest.mark.parametrize(
    ("values", "needles"),
    [
        (["2024-05-01", None, "2024-05-02"], ["1 empty value", "row 2"]),
        (["2024-05-01", "2024-13-45"], ["'2024-13-45'", "row 2"]),
        ([1714521600, 1714608000], ["holds numbers", "row 1"]),
        (["2024-05-01T00:00:00", "2024-05-01T01:00:00Z"], ["mixes time zones", "row 2", "row 1"]),
    ],
    ids=["empty", "unparsable", "numbers", "mixed-zones"],
)
def test_bad_timestamps_name_the_row(values, needles):
    with pytest.raises(DataError) as info:
        utc_nanoseconds(pd.Series(values), "ts")
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_bins_are_aligned_to_utc_and_empty_bins_are_left_out():
    stamps = pd.Series(
        ["2024-05-01T23:59:59Z", "2024-05-01T00:00:00Z", "2024-05-03T12:00:00Z", "2024-05-01T12:00:00Z"]
    )
    bins = split_bins(utc_nanoseconds(stamps, "ts"), timedelta(days=1))
    assert [(b.start, b.end) for b in bins] == [
        (_utc("2024-05-01"), _utc("2024-05-02")),
        (_utc("2024-05-03"), _utc("2024-05-04")),
    ]
    assert bins[0].rows.tolist() == [0, 1, 3]  # rows keep their order within a bin
    assert bins[1].rows.tolist() == [2]
    hourly = split_bins(utc_nanoseconds(stamps, "ts"), timedelta(hours=3))
    assert [b.start.hour for b in hourly] == [0, 12, 21, 12]


def test_one_event_per_stretch_of_bad_bins():
    day = timedelta(days=1)
    start = _utc("2024-05-01")
    severities = ["P", "W", "A", "P", "A", "A", None, "A", "P"]  # None: no data that day
    code = {"P": Severity.PASS, "W": Severity.WARNING, "A": Severity.ALERT}
    readings = [
        BinReading(start + i * day, start + (i + 1) * day, code[s], float(i), f"run-{i}")
        for i, s in enumerate(severities)
        if s is not None
    ]
    got = [[r.test_run_id for r in stretch] for stretch in stretches(readings[::-1])]
    assert got == [["run-1", "run-2"], ["run-4", "run-5"], ["run-7"]]
    line, features = root_cause({"run-4": ["amount", "city"], "run-5": ["amount"]}, stretches(readings)[1])
    assert features == ["amount", "city"]
    assert line == "Drifted features in these bins: amount (2 of 2 bins), city (1 of 2 bins)."
    assert root_cause({}, stretches(readings)[2])[0] == "No feature drifted in these bins."
    assert np.isfinite(readings[0].value or 0.0)
