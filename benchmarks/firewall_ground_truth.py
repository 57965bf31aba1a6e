"""Continuous tests on a generated month with known bad days: per-day verdicts and events.

For each seed: a clean reference (the fraud walkthrough's schema, ``rime_dev.datagen``) and 30
daily bins of new data, all clean except

- days 8 and 9: ``transaction_amount`` drifted (+0.5 base standard deviations on the log scale);
- day 15: unseen ``browser_version`` values in 5% of the rows;
- days 22 and 23: the model broken on the rows of one category (its predictions flipped).

Each day is tested exactly as a bin of a continuous-test job (``jobs.continuous.test_bin``: the
continuous-testing categories on the bin against the reference, then the default monitors'
readings), and the events are the job's (``catalogue.monitors.stretches`` of each monitor's
readings). A day's verdict is its worst monitor severity; a day is *flagged* when some monitor
alerts. The script reports the recall of bad days, the false-alarm days, and whether the alert
events cover exactly the bad stretches.

Usage (from the repository root)::

    .venv/bin/python benchmarks/firewall_ground_truth.py             # 10 seeds, 1,000 rows a day
    .venv/bin/python benchmarks/firewall_ground_truth.py --seeds 3 --rows 2000
    .venv/bin/python benchmarks/firewall_ground_truth.py --family-error-rate 0.1 \
        --out benchmarks/results/firewall_ground_truth_fer_0.1.json

``--family-error-rate`` sets ``feature_drift``'s ``family_error_rate`` (default 0.01) in the
bins' test config. Results go to ``benchmarks/results/firewall_ground_truth.json`` unless
``--out`` says otherwise; the figures are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import _common

DAYS = 30
DRIFT_DAYS = (8, 9)
UNSEEN_DAYS = (15,)
PERFORMANCE_DAYS = (22, 23)
BAD_DAYS = frozenset((*DRIFT_DAYS, *UNSEEN_DAYS, *PERFORMANCE_DAYS))
START = datetime(2024, 6, 1, tzinfo=timezone.utc)


def day_frame(day: int, rows: int, seed: int) -> Any:
    from rime_dev.datagen import generate_fraud

    kwargs: dict[str, Any] = {}
    if day in DRIFT_DAYS:
        kwargs["drift"] = {"transaction_amount": 0.5}
    if day in UNSEEN_DAYS:
        kwargs["abnormal"] = {"unseen": 0.05}
    if day in PERFORMANCE_DAYS:
        kwargs["degrade"] = {"feature": "category", "values": ["Food", "Shopping"], "mode": "flip"}
    return generate_fraud(rows, seed=seed * 1000 + day, days=1, **kwargs)


#: The monitors whose readings are the feature drift test's.
FEATURE_DRIFT_MONITORS = ("numeric_feature_drift", "categorical_feature_drift")


def inputs_for(ref: Any, ev: Any, family_error_rate: float | None = None) -> Any:
    from airflow_provider_rime.local.render import CONTINUOUS_TEST_CATEGORIES

    individual = {}
    if family_error_rate is not None:
        individual = {"feature_drift": {"family_error_rate": family_error_rate}}
    return _common.labelled_inputs(ref, ev, CONTINUOUS_TEST_CATEGORIES, individual)


def one_month(seed: int, rows: int, ref_rows: int, family_error_rate: float | None = None) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from airflow_provider_rime.local.catalogue import plan_tests
    from airflow_provider_rime.local.catalogue.monitors import BinReading, stretches
    from airflow_provider_rime.local.jobs.continuous import test_bin
    from airflow_provider_rime.rime_api.enums import Severity
    from rime_dev.datagen import generate_fraud

    ref = generate_fraud(ref_rows, seed=seed * 1000 + 999, days=1)
    ev = pd.concat([day_frame(d, rows, seed) for d in range(DAYS)], ignore_index=True)
    inputs = inputs_for(ref, ev, family_error_rate)
    planned = plan_tests(inputs.config, has_labels=True, has_preds=True)
    readings: dict[str, list[BinReading]] = {}
    verdicts, flagged_by, drift_flagged = [], [], []
    started = time.perf_counter()
    for day in range(DAYS):
        rows_of_day = np.arange(day * rows, (day + 1) * rows)
        _, _, found = test_bin(inputs, rows_of_day, planned)
        start, end = START + timedelta(days=day), START + timedelta(days=day + 1)
        for key, r in found.items():
            readings.setdefault(key, []).append(BinReading(start, end, r.wire_severity, r.value, str(day)))
        worst = max((r.wire_severity.rank for r in found.values()), default=0)
        verdicts.append(Severity.from_rank(worst).value)
        flagged_by.append(sorted(k for k, r in found.items() if r.wire_severity is Severity.ALERT))
        drift = [found[k].wire_severity.rank for k in FEATURE_DRIFT_MONITORS if k in found]
        drift_flagged.append(max(drift, default=0))
    seconds = time.perf_counter() - started
    alert_events = []
    for key, series in readings.items():
        for stretch in stretches(series):
            if max(r.severity.rank for r in stretch) == 2:
                alert_events.append(
                    {
                        "monitor": key,
                        "first_day": int(stretch[0].test_run_id),
                        "last_day": int(stretch[-1].test_run_id),
                    }
                )
    alerted = {d for d, v in enumerate(verdicts) if v == Severity.ALERT.value}
    warned = {d for d, v in enumerate(verdicts) if v != Severity.PASS.value}
    covered = {d for e in alert_events for d in range(e["first_day"], e["last_day"] + 1)}
    truth_stretches = [(8, 9), (15, 15), (22, 23)]
    exact = all(
        any(e["first_day"] == a and e["last_day"] == b for e in alert_events) for a, b in truth_stretches
    )
    return {
        "seed": seed,
        "verdicts": verdicts,
        "alert_monitors": flagged_by,
        "recall": len(alerted & BAD_DAYS) / len(BAD_DAYS),
        "false_alarm_days": sorted(alerted - BAD_DAYS),
        "warning_only_clean_days": sorted((warned - alerted) - BAD_DAYS),
        # Clean days where a feature drift monitor warned or alerted (its severity rank, 1 or 2).
        "feature_drift_on_clean_days": {d: r for d, r in enumerate(drift_flagged) if r and d not in BAD_DAYS},
        "events": alert_events,
        "events_cover_exactly_bad_days": covered == set(BAD_DAYS),
        "each_bad_stretch_has_an_exact_event": exact,
        "seconds_for_30_bins": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000, help="rows per day")
    parser.add_argument("--ref-rows", type=int, default=10_000)
    parser.add_argument("--family-error-rate", type=float, help="feature_drift's family_error_rate (0.01)")
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "firewall_ground_truth.json")
    args = parser.parse_args()
    months = []
    for seed in range(args.seeds):
        month = one_month(seed, args.rows, args.ref_rows, args.family_error_rate)
        _common.log(
            f"seed {seed}: recall {month['recall']:.2f}, false alarms {month['false_alarm_days']}, "
            f"events exact {month['each_bad_stretch_has_an_exact_event']}, "
            f"cover {month['events_cover_exactly_bad_days']}"
        )
        for day in sorted(BAD_DAYS | set(month["false_alarm_days"])):
            _common.log(f"    day {day}: {month['verdicts'][day]} {month['alert_monitors'][day]}")
        months.append(month)
    summary = {
        "seeds": args.seeds,
        "rows_per_day": args.rows,
        "reference_rows": args.ref_rows,
        "family_error_rate": args.family_error_rate,
        "bad_days": sorted(BAD_DAYS),
        "recall_of_bad_days": sum(m["recall"] for m in months) / len(months),
        "false_alarm_days_total": sum(len(m["false_alarm_days"]) for m in months),
        "max_false_alarm_days_in_a_month": max(len(m["false_alarm_days"]) for m in months),
        "months_where_alert_events_cover_exactly_the_bad_days": sum(
            m["events_cover_exactly_bad_days"] for m in months
        ),
        "months_with_an_exact_event_per_bad_stretch": sum(
            m["each_bad_stretch_has_an_exact_event"] for m in months
        ),
        "clean_days_with_feature_drift_warning_or_alert": sum(
            len(m["feature_drift_on_clean_days"]) for m in months
        ),
        "clean_days_with_feature_drift_alert": sum(
            sum(r == 2 for r in m["feature_drift_on_clean_days"].values()) for m in months
        ),
    }
    _common.log(json.dumps(summary, indent=2))
    out = args.out
    out.write_text(json.dumps({"summary": summary, "months": months}, indent=1) + "\n")
    _common.log(f"wrote {out}")


if __name__ == "__main__":
    main()
