"""Drift detection power and false alarms: the catalogue's Drift category against Evidently's
``DataDriftPreset`` defaults, on the same generated data, in the same run.

The generator is this script's own (not ``rime_dev.datagen``): 12 numeric features, two of
each of six families (normal, log-normal, uniform, Student-t with 3 degrees of freedom,
Poisson, a two-component normal mixture), and 6 categorical features with 2, 3, 10, 40, 5
and 20 categories (Zipf-like shares). Each scenario injects one kind of change of one
strength into the first six numeric features (one per family: ``n0_*`` .. ``n5_*``) or into
the first four categorical ones (``c0_2`` .. ``c3_40``); everything else is drawn from the
reference's distribution, so it measures false flags. ``clean`` injects nothing.

A feature counts as flagged by the catalogue when any Drift test case on it warns or alerts
(``feature_drift`` and ``null_proportion``: a missing-value change is drift too), and by
Evidently when its default per-column drift test says so. Evidently's per-column verdicts
are computed with its own code (``_evidently_drift_worker.py``, in Evidently's venv): the
same test choice as ``DataDriftPreset`` (reference of at most 1,000 rows: KS for numeric,
chi-squared or Z for categorical, p < 0.05; more rows: normalised Wasserstein >= 0.1 and
Jensen-Shannon distance >= 0.1), without the report around it.

Usage (from the repository root)::

    .venv/bin/python benchmarks/drift_detection.py                      # 1k/5k/100k rows, 10 seeds
    .venv/bin/python benchmarks/drift_detection.py --rows 1000 --seeds 3 # quick look
    .venv/bin/python benchmarks/drift_detection.py --sensitivity LESS_SENSITIVE MORE_SENSITIVE
    .venv/bin/python benchmarks/drift_detection.py --rows 1000 --family-error-rate 0.05 0.1 0.2

``--family-error-rate`` adds runs of the default sensitivity with ``feature_drift``'s
``family_error_rate`` (Holm over the features; default 0.01) set to each value: how recall
and false flags move with the error rate alone.

Writes ``benchmarks/results/drift_detection.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common
from _common import RESULTS, WORK, log, machine_info

NUMERIC_FAMILIES = ("normal", "lognormal", "uniform", "student_t3", "poisson", "mixture")
CATEGORY_COUNTS = (2, 3, 10, 40, 5, 20)
NUMERIC = [f"n{i}_{NUMERIC_FAMILIES[i % 6]}" for i in range(12)]
CATEGORICAL = [f"c{i}_{k}" for i, k in enumerate(CATEGORY_COUNTS)]
DRIFTED_NUMERIC = NUMERIC[:6]
DRIFTED_CATEGORICAL = CATEGORICAL[:4]


# --------------------------------------------------------------------------- generator


def _numeric(rng: Any, family: str, n: int) -> Any:
    import numpy as np

    if family == "normal":
        return rng.normal(0.0, 1.0, n)
    if family == "lognormal":
        return rng.lognormal(0.0, 0.75, n)
    if family == "uniform":
        return rng.uniform(0.0, 10.0, n)
    if family == "student_t3":
        return rng.standard_t(3, n)
    if family == "poisson":
        return rng.poisson(4.0, n).astype(np.float64)
    if family == "mixture":
        return np.where(rng.random(n) < 0.3, rng.normal(4.0, 1.0, n), rng.normal(0.0, 1.0, n))
    raise ValueError(family)


def _family_sd(family: str) -> float:
    """The population standard deviation of each family (shifts are in these units)."""
    import math

    return {
        "normal": 1.0,
        "lognormal": math.sqrt((math.exp(0.75**2) - 1) * math.exp(0.75**2)),
        "uniform": 10.0 / math.sqrt(12.0),
        "student_t3": math.sqrt(3.0),
        "poisson": 2.0,
        "mixture": math.sqrt(1.0 + 0.3 * 0.7 * 16.0),
    }[family]


def _shares(k: int) -> Any:
    import numpy as np

    w = 1.0 / np.arange(1, k + 1) ** 0.8
    return w / w.sum()


def _categorical(rng: Any, k: int, n: int, shares: Any = None) -> Any:
    import numpy as np

    p = _shares(k) if shares is None else shares
    return np.array([f"v{i}" for i in range(len(p))], dtype=object)[rng.choice(len(p), n, p=p)]


def generate(n: int, seed: int, scenario: str, strength: float) -> tuple[Any, Any]:
    """Reference and evaluation frames of ``n`` rows each, ``scenario`` injected at ``strength``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ref = {}
    ev = {}
    for i, name in enumerate(NUMERIC):
        family = NUMERIC_FAMILIES[i % 6]
        ref[name] = _numeric(rng, family, n)
        x = _numeric(rng, family, n)
        if name in DRIFTED_NUMERIC:
            x = _drift_numeric(rng, family, x, scenario, strength)
        ev[name] = x
    for i, name in enumerate(CATEGORICAL):
        k = CATEGORY_COUNTS[i]
        ref[name] = _categorical(rng, k, n)
        shares = _shares(k)
        if name in DRIFTED_CATEGORICAL:
            ev[name] = _drift_categorical(rng, shares, n, scenario, strength)
        else:
            ev[name] = _categorical(rng, k, n)
    return pd.DataFrame(ref), pd.DataFrame(ev)


def _drift_numeric(rng: Any, family: str, x: Any, scenario: str, strength: float) -> Any:
    import numpy as np

    sd = _family_sd(family)
    integer = family == "poisson"
    if scenario == "mean_shift":
        if integer:  # a Poisson whose mean moved by strength sd
            return rng.poisson(4.0 + strength * sd, x.size).astype(np.float64)
        return x + strength * sd
    if scenario == "spread":
        center = np.median(x)
        y = center + strength * (x - center)
        return np.round(y) if integer else y
    if scenario == "tail":  # only the values above the 90th percentile move away, by `strength` times
        q90 = np.quantile(x, 0.9)
        y = np.where(x > q90, q90 + strength * (x - q90), x)
        return np.round(y) if integer else y
    if scenario == "mixture":  # a share `strength` of the rows comes from a new mode 2 sd up
        moved = rng.random(x.size) < strength
        y = x + np.where(moved, 2.0 * sd, 0.0)
        return np.round(y) if integer else y
    if scenario == "missing":  # a share `strength` of the values goes missing (at random)
        y = x.astype(np.float64).copy()
        y[rng.random(x.size) < strength] = np.nan
        return y
    return x


def _drift_categorical(rng: Any, shares: Any, n: int, scenario: str, strength: float) -> Any:
    import numpy as np

    p = shares.copy()
    if scenario == "mass_moved":  # a share `strength` of the rows moves to the smallest category
        p = (1.0 - strength) * p
        p[-1] += strength
        return _categorical(rng, len(p), n, p)
    if scenario == "new_category":  # a category the reference never had, in `strength` of the rows
        values = _categorical(rng, len(p), n, p)
        values[rng.random(n) < strength] = "new"
        return values
    if scenario == "vanished":  # the smallest category of at least `strength` share disappears
        big_enough = np.flatnonzero(p >= strength)
        p[big_enough[-1]] = 0.0
        return _categorical(rng, len(p), n, p / p.sum())
    return _categorical(rng, len(p), n, p)


NUMERIC_SCENARIOS = [
    *(("mean_shift", sd, f"mean shift {sd} sd") for sd in (0.1, 0.2, 0.3, 0.5)),
    *(("spread", factor, f"spread x{factor}, same centre") for factor in (1.15, 1.3)),
    *(("tail", factor, f"top 10% stretched x{factor:g} (tail only)") for factor in (2.0, 3.0)),
    ("mixture", 0.1, "10% of rows in a new mode +2 sd"),
    ("missing", 0.05, "5% of values go missing"),
]
CATEGORICAL_SCENARIOS = [
    *(("mass_moved", share, f"{share:.0%} of rows move category") for share in (0.1, 0.2)),
    *(("new_category", share, f"new category in {share:.0%} of rows") for share in (0.01, 0.03)),
    ("vanished", 0.05, "a category of >= 5% vanishes"),
]
CLEAN = [("clean", 0.0, "clean data")]


# --------------------------------------------------------------------------- the two tools


def catalogue_flags(ref: Any, ev: Any, sensitivity: str, family_error_rate: float | None = None) -> set[str]:
    from airflow_provider_rime.local.catalogue import plan_tests, run_tests
    from airflow_provider_rime.local.catalogue.features import infer_features
    from airflow_provider_rime.local.catalogue.types import Severity, StressInputs, SuiteConfig
    from airflow_provider_rime.rime_api.enums import TestCategory, TestSensitivity

    individual = {}
    if family_error_rate is not None:
        individual = {"feature_drift": {"family_error_rate": family_error_rate}}
    config = SuiteConfig(
        categories=frozenset({TestCategory.DRIFT}),
        sensitivity=TestSensitivity[sensitivity],
        individual_tests_config=individual,
    )
    inputs = StressInputs(
        ref=ref,
        eval=ev,
        features=infer_features(ref),
        ref_labels=None,
        eval_labels=None,
        ref_preds=None,
        eval_preds=None,
        config=config,
    )
    planned = plan_tests(config, has_labels=False, has_preds=False)
    found: set[str] = set()
    for batch in run_tests(inputs, planned):
        if batch.test_type not in ("feature_drift", "null_proportion"):
            continue
        warned = [c for c in batch.cases if not c.skipped and c.severity >= Severity.WARNING]
        found |= {f for c in warned for f in c.features}
    return found


def evidently_flags(jobs: list[tuple[Path, Path]], out: Path) -> list[set[str]]:
    """Evidently's per-column verdicts for each (reference, evaluation) parquet pair."""
    from catalogue_vs_evidently import evidently_python

    spec = WORK / "drift_detection_jobs.json"
    spec.write_text(
        json.dumps(
            {
                "jobs": [[str(r), str(e)] for r, e in jobs],
                "numeric": NUMERIC,
                "categorical": CATEGORICAL,
            }
        )
    )
    subprocess.run(
        [str(evidently_python()), str(_common.HERE / "_evidently_drift_worker.py"), str(spec), str(out)],
        check=True,
    )
    return [set(r["drifted"]) for r in json.loads(out.read_text())["results"]]


# --------------------------------------------------------------------------- driver


def run(
    rows: list[int],
    seeds: int,
    sensitivities: list[str],
    scenarios: list[tuple[str, float, str]],
    error_rates: Sequence[float] = (),
) -> dict[str, Any]:
    data_dir = WORK / "drift_detection"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    records: list[dict[str, Any]] = []
    jobs: list[tuple[Path, Path]] = []
    for n in rows:
        for index, (scenario, strength, label) in enumerate(scenarios):
            started = time.perf_counter()
            for seed in range(seeds):
                # Each (size, scenario, seed) draws its own data: the clean features of two
                # scenarios are independent, so their false flags are too.
                ref, ev = generate(n, 1_000_000 * seed + 1_000 * index + n % 997, scenario, strength)
                stem = f"{n}_{scenario}_{strength}_{seed}"
                ref_path, eval_path = data_dir / f"{stem}.ref.parquet", data_dir / f"{stem}.eval.parquet"
                ref.to_parquet(ref_path)
                ev.to_parquet(eval_path)
                jobs.append((ref_path, eval_path))
                record: dict[str, Any] = {
                    "rows": n,
                    "scenario": scenario,
                    "strength": strength,
                    "label": label,
                    "seed": seed,
                }
                for sensitivity in sensitivities:
                    record[f"catalogue_{sensitivity}"] = sorted(catalogue_flags(ref, ev, sensitivity))
                for rate in error_rates:
                    record[f"catalogue_fer_{rate:g}"] = sorted(catalogue_flags(ref, ev, "DEFAULT", rate))
                records.append(record)
            log(f"{n:>7,} rows  {label:<36} catalogue {time.perf_counter() - started:5.1f} s")
    started = time.perf_counter()
    verdicts = evidently_flags(jobs, WORK / "drift_detection_evidently.json")
    for record, flags in zip(records, verdicts, strict=True):
        record["evidently"] = sorted(flags)
    log(f"Evidently: {time.perf_counter() - started:.0f} s for {len(jobs)} dataset pairs")
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"records": records}


def _drifted_features(scenario: str) -> list[str]:
    if scenario == "clean":
        return []
    kind = {s for s, _, _ in NUMERIC_SCENARIOS}
    return DRIFTED_NUMERIC if scenario in kind else DRIFTED_CATEGORICAL


def summarise(records: list[dict[str, Any]], tools: list[str]) -> list[dict[str, Any]]:
    """Recall on drifted features and false flags on clean ones, per size, scenario and tool."""
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for r in records:
        key = (r["rows"], r["label"])
        drifted = _drifted_features(r["scenario"])
        clean = [f for f in NUMERIC + CATEGORICAL if f not in drifted]
        empty = {"rows": r["rows"], "label": r["label"], "drifted_n": 0, "clean_n": 0}
        row = out.setdefault(key, {**empty, **{t: [0, 0] for t in tools}})
        row["drifted_n"] += len(drifted)
        row["clean_n"] += len(clean)
        for t in tools:
            flags = set(r[t])
            row[t][0] += len(flags & set(drifted))
            row[t][1] += len(flags & set(clean))
    return list(out.values())


def markdown(summary: list[dict[str, Any]], tools: list[str], names: dict[str, str]) -> str:
    lines = []
    for n in sorted({s["rows"] for s in summary}):
        lines.append(f"\n**{n:,} rows per side** (recall on drifted features; false flags on clean ones)\n")
        header = ["injected change"]
        header += [f"{names[t]} recall" for t in tools] + [f"{names[t]} false flags" for t in tools]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(" --- " for _ in header) + "|")
        for s in (s for s in summary if s["rows"] == n):
            recall = [f"{s[t][0] / s['drifted_n']:.2f}" if s["drifted_n"] else "-" for t in tools]
            false = [f"{s[t][1]} / {s['clean_n']}" for t in tools]
            lines.append("| " + " | ".join([s["label"], *recall, *false]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000, 5_000, 100_000])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--sensitivity",
        nargs="*",
        default=["DEFAULT"],
        choices=["LESS_SENSITIVE", "DEFAULT", "MORE_SENSITIVE"],
        help="global sensitivities of the catalogue to run (each against the same Evidently verdicts)",
    )
    parser.add_argument(
        "--family-error-rate",
        type=float,
        nargs="*",
        default=[],
        help="also run the default sensitivity with feature_drift's family_error_rate set to each value",
    )
    parser.add_argument("--scenarios", nargs="*", help="only these scenario kinds (e.g. mean_shift clean)")
    parser.add_argument("--out", type=Path, default=RESULTS / "drift_detection.json")
    parser.add_argument("--markdown", type=Path, help="print the tables of an earlier results file")
    args = parser.parse_args()
    if args.markdown:
        result = json.loads(args.markdown.read_text())
        print(markdown(result["summary"], result["tools"], result["names"]))
        return
    scenarios = CLEAN + NUMERIC_SCENARIOS + CATEGORICAL_SCENARIOS
    if args.scenarios:
        scenarios = [s for s in scenarios if s[0] in args.scenarios]
    started = time.perf_counter()
    result = run(args.rows, args.seeds, args.sensitivity, scenarios, args.family_error_rate)
    rates = [f"catalogue_fer_{rate:g}" for rate in args.family_error_rate]
    tools = [f"catalogue_{s}" for s in args.sensitivity] + rates + ["evidently"]
    names = {f"catalogue_{s}": f"catalogue ({s.lower().replace('_', ' ')})" for s in args.sensitivity}
    names |= {f"catalogue_fer_{r:g}": f"catalogue (family error rate {r:g})" for r in args.family_error_rate}
    names["evidently"] = "Evidently"
    summary = summarise(result["records"], tools)
    payload: dict[str, Any] = {
        "machine": machine_info(),
        "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_s": time.perf_counter() - started,
        "args": {
            "rows": args.rows,
            "seeds": args.seeds,
            "sensitivity": args.sensitivity,
            "family_error_rate": args.family_error_rate,
        },
        "tools": tools,
        "names": names,
        "summary": summary,
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    print(markdown(summary, tools, names))
    log(f"done in {payload['wall_s']:.0f} s; {args.out}")


if __name__ == "__main__":
    main()
