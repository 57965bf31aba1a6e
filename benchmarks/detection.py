"""Detection rates of the test catalogue on generated data with injected ground truth.

Every scenario generates a clean reference and an evaluation split with one known problem
(``rime_dev.datagen`` in ``dev/``), runs the relevant category of the catalogue, and
checks whether the problem was flagged where it was injected (detection) and anywhere else
(false positives), over several seeds. A ``timing`` section runs the whole catalogue (all
categories, default tests) on the wide generator at 100k and 1M rows per side, each size in
its own process so that its peak RSS is its own.

Usage (from the repository root)::

    .venv/bin/python benchmarks/detection.py                 # all scenarios, 10 seeds, 20k rows
    .venv/bin/python benchmarks/detection.py --seeds 3 --skip-timing
    .venv/bin/python benchmarks/detection.py --write          # also update benchmarks/README.md

Figures are printed as Markdown tables; ``--write`` replaces the part of benchmarks/README.md between
the ``<!-- results -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import _common  # also puts dev/ on sys.path, for rime_dev.datagen

HERE = Path(__file__).resolve().parent
DETECTION_MD = HERE / "README.md"  # between the results markers of its "Detection rates" section
START, END = "<!-- results -->", "<!-- /results -->"


def _catalogue() -> Any:
    from airflow_provider_rime.local import catalogue

    return catalogue


def run(inputs: Any) -> dict[str, Any]:
    cat = _catalogue()
    planned = cat.plan_tests(inputs.config, has_labels=True, has_preds=True)
    return {b.test_type: b for b in cat.run_tests(inputs, planned)}


def flagged(batch: Any) -> set[str]:
    from airflow_provider_rime.local.catalogue.types import Severity

    return {f for c in batch.cases if not c.skipped and c.severity >= Severity.WARNING for f in c.features}


def case_for(batch: Any, feature: str) -> Any:
    return next(c for c in batch.cases if c.features and c.features[0] == feature)


def metric(case: Any, name: str) -> Any:
    return next(m.value for m in case.metrics if m.name == name)


def pct(k: float, n: float) -> str:
    return f"{100 * k / n:.0f}%" if n else "n/a"


# ------------------------------------------------------------------ scenarios


def _wide_split(n: int, seed: int, *, n_numeric: int = 6, n_categorical: int = 5, **change: Any) -> Any:
    """Reference and evaluation data of the wide schema, ``change`` (``drift``, ``degrade`` or
    ``abnormal``) applied to the evaluation."""
    from rime_dev.datagen import generate_wide, reference_and_evaluation

    return reference_and_evaluation(
        generate_wide, n, seed=seed, n_numeric=n_numeric, n_categorical=n_categorical, **change
    )


def _drift_trial(
    method: str, feature: str, magnitude: float, *, seed: int, n: int, n_numeric: int, n_categorical: int
) -> tuple[bool, int, int]:
    """One split with ``feature`` drifted: detected?, false positives, other features judged."""
    from airflow_provider_rime.rime_api.enums import TestCategory

    ref, ev = _wide_split(
        n, seed, n_numeric=n_numeric, n_categorical=n_categorical, drift={feature: magnitude}
    )
    individual = {"feature_drift": {"drift_scoring_method": method}}
    batch = run(_common.labelled_inputs(ref, ev, [TestCategory.DRIFT], individual))["feature_drift"]
    found = flagged(batch)
    return feature in found, len(found - {feature}), len(batch.cases) - 1


def numeric_drift(seeds: int, n: int) -> list[list[str]]:
    kinds = {"num_0": "normal", "num_1": "lognormal", "num_2": "uniform", "num_3": "Poisson"}
    rows = []
    for method in ("psi", "ks"):
        for magnitude in (0.1, 0.25, 0.5, 0.75, 1.0):
            hit = fp = fp_n = total = 0
            for feature in kinds:
                for seed in range(seeds):
                    found, false_pos, others = _drift_trial(
                        method, feature, magnitude, seed=1000 + 2 * seed, n=n, n_numeric=8, n_categorical=4
                    )
                    hit, fp, fp_n, total = hit + found, fp + false_pos, fp_n + others, total + 1
            rows.append([method.upper(), f"{magnitude} sd", pct(hit, total), pct(fp, fp_n), str(total)])
    return rows


def categorical_drift(seeds: int, n: int) -> list[list[str]]:
    levels = {"cat_0": 4, "cat_2": 10, "cat_4": 30}
    rows = []
    for method in ("psi", "chi2"):
        for share in (0.2, 0.5, 1.0):
            for feature, k in levels.items():
                hit = fp = fp_n = 0
                for seed in range(seeds):
                    found, false_pos, others = _drift_trial(
                        method, feature, share, seed=2000 + 2 * seed, n=n, n_numeric=4, n_categorical=5
                    )
                    hit, fp, fp_n = hit + found, fp + false_pos, fp_n + others
                rows.append(
                    [
                        method.upper(),
                        f"{share:.0%} redrawn",
                        f"{feature} ({k} values)",
                        pct(hit, seeds),
                        pct(fp, fp_n),
                    ]
                )
    return rows


def label_drift(seeds: int, n: int) -> list[list[str]]:
    from airflow_provider_rime.rime_api.enums import TestCategory
    from rime_dev.datagen import generate_fraud, reference_and_evaluation

    rows = []
    for shift in (0.0, -0.1, -0.2, -0.35):
        hit, changes = 0, []
        for seed in range(seeds):
            ref, ev = reference_and_evaluation(
                generate_fraud, n, seed=3000 + 2 * seed, drift={"label": shift}
            )
            case = run(_common.labelled_inputs(ref, ev, [TestCategory.DRIFT]))[
                "categorical_label_drift"
            ].cases[0]
            hit += case.severity > 0
            changes.append(metric(case, "Rate Change"))
        mean_change = sum(changes) / len(changes)
        rows.append([f"{shift:+.2f}", f"{mean_change:+.3f}", pct(hit, seeds)])
    return rows


def subset_degradation(seeds: int, n: int) -> list[list[str]]:
    from airflow_provider_rime.rime_api.enums import TestCategory

    subsets = {
        "cat_1 = c1_v2 (~13%)": ({"feature": "cat_1", "value": "c1_v2"}, "cat_1", "cat_1 = c1_v2"),
        "cat_4 = c4_v10 (~3%)": ({"feature": "cat_4", "value": "c4_v10"}, "cat_4", "cat_4 = c4_v10"),
        "num_4 top 20%": ({"feature": "num_4", "quantiles": (0.8, 1.0)}, "num_4", "num_4 >= "),
    }
    rows = []
    for strength in (0.5, 1.0):
        for label, (degrade, feature, worst_name) in subsets.items():
            counts = {"subset_auc": [0, 0, 0, 0], "subset_accuracy": [0, 0, 0, 0]}
            for seed in range(seeds):
                ref, ev = _wide_split(n, 4000 + 2 * seed, degrade={**degrade, "strength": strength})
                batches = run(_common.labelled_inputs(ref, ev, [TestCategory.SUBSET_PERFORMANCE]))
                for test_type, c in counts.items():
                    case = case_for(batches[test_type], feature)
                    c[0] += str(metric(case, "Worst Subset")).startswith(worst_name)
                    c[1] += case.severity > 0
                    c[2] += case.severity > 1
                    c[3] += len(flagged(batches[test_type]) - {feature}) > 0
            for test_type, (worst, warned, alerted, other) in counts.items():
                rows.append(
                    [
                        label,
                        f"{strength:.0%}",
                        test_type,
                        pct(worst, seeds),
                        pct(warned, seeds),
                        pct(alerted, seeds),
                        pct(other, seeds),
                    ]
                )
    return rows


def abnormal_inputs(seeds: int, n: int) -> list[list[str]]:
    from airflow_provider_rime.rime_api.enums import TestCategory

    tests = {
        "outliers": "numeric_outlier",
        "unseen": "unseen_categorical",
        "nulls": "null_check",
        "empty_strings": "empty_string",
        "capitalization": "capitalization",
    }
    rows = []
    for share in (0.0005, 0.005):
        for kind, test_type in tests.items():
            exact = warned = other = 0
            for seed in range(seeds):
                ref, ev = _wide_split(n, 5000 + 2 * seed, abnormal={kind: share})
                truth = ev.attrs["injected"][kind]
                batch = run(_common.labelled_inputs(ref, ev, [TestCategory.ABNORMAL_INPUTS]))[test_type]
                case = case_for(batch, truth["column"])
                exact += metric(case, "Num Failing Rows") == truth["count"]
                warned += case.severity > 0
                other += len(flagged(batch) - {truth["column"]}) > 0
            rows.append(
                [
                    kind,
                    f"{share:.2%} ({round(share * n)} rows)",
                    test_type,
                    pct(exact, seeds),
                    pct(warned, seeds),
                    pct(other, seeds),
                ]
            )
    return rows


def clean_splits(seeds: int, n: int) -> list[list[str]]:
    from airflow_provider_rime.rime_api.enums import TestCategory
    from rime_dev.datagen import generate_fraud, generate_wide, reference_and_evaluation

    categories = [
        TestCategory.DRIFT,
        TestCategory.ABNORMAL_INPUTS,
        TestCategory.DATA_CLEANLINESS,
        TestCategory.SUBSET_PERFORMANCE,
    ]
    rows = []
    for name, generator, kwargs in (
        ("wide (15 num + 5 cat)", generate_wide, {}),
        ("fraud schema", generate_fraud, {}),
    ):
        per_test: dict[str, list[int]] = {}
        for seed in range(seeds):
            ref, ev = reference_and_evaluation(generator, n, seed=6000 + 2 * seed, **kwargs)
            for test_type, batch in run(_common.labelled_inputs(ref, ev, categories)).items():
                c = per_test.setdefault(test_type, [0, 0])
                c[0] += batch.severity >= 1
                c[1] += batch.severity >= 2
        quiet = [t for t, (w, _) in per_test.items() if w == 0]
        noisy = sorted((t for t, (w, _) in per_test.items() if w), key=lambda t: -per_test[t][0])
        rows.append([name, "all others", f"0% ({len(quiet)} tests)", "0%"])
        for t in noisy:
            w, a = per_test[t]
            rows.append([name, t, pct(w, seeds), pct(a, seeds)])
    return rows


# --------------------------------------------------------------------- timing


def _timing_child(n_rows: int) -> None:
    """In a fresh process: generate, then time the whole catalogue; print JSON."""
    import numpy as np  # noqa: F401 - imported before measuring

    from airflow_provider_rime.local.catalogue import CATALOGUE
    from rime_dev.datagen import generate_wide, reference_and_evaluation

    ref, ev = reference_and_evaluation(generate_wide, n_rows, seed=0, drift={"num_0": 0.5, "cat_0": 0.5})
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    categories = {spec.category for spec in CATALOGUE.values()}
    inputs = _common.labelled_inputs(ref, ev, categories)
    started, cpu_started = time.perf_counter(), time.process_time()
    batches = run(inputs)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    slowest = sorted(batches.values(), key=lambda b: -b.duration_ms)[:5]
    print(
        json.dumps(
            {
                "rows": n_rows,
                "tests": len(batches),
                "wall_s": wall,
                "cpu_s": cpu,
                "load_1min": os.getloadavg()[0],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_after_data_mb": rss_data,
                "slowest": [(b.test_type, b.duration_ms) for b in slowest],
            }
        )
    )


def timing(sizes: Iterable[int]) -> list[list[str]]:
    rows = []
    for n_rows in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--timing-child", str(n_rows)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        slowest = ", ".join(f"{t} {ms / 1000:.1f}s" for t, ms in r["slowest"])
        rows.append(
            [
                f"{n_rows:,}",
                str(r["tests"]),
                f"{r['wall_s']:.1f} s",
                f"{r['cpu_s']:.1f} s",
                f"{r['load_1min']:.1f}",
                f"{r['peak_rss_mb']:,.0f} MB",
                f"{r['rss_after_data_mb']:,.0f} MB",
                slowest,
            ]
        )
    return rows


# ----------------------------------------------------------------------- main


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


SECTIONS: list[tuple[str, str, list[str], Callable[[int, int], list[list[str]]]]] = [
    (
        "clean",
        "Clean evaluation splits: share of seeds where a test warns / alerts (false alarms)",
        ["data", "test", "warning or alert", "alert"],
        clean_splits,
    ),
    (
        "numeric_drift",
        "Numeric feature drift (one of num_0..num_3 shifted; detected there, false positives elsewhere)",
        ["method", "shift", "detected", "false positives (per other feature)", "runs"],
        numeric_drift,
    ),
    (
        "categorical_drift",
        "Categorical feature drift (a share of rows redrawn uniformly over the values)",
        ["method", "drift", "feature", "detected", "false positives (per other feature)"],
        categorical_drift,
    ),
    (
        "label_drift",
        "Label drift (fraud schema; shift of the true fraud logit)",
        ["logit shift", "mean rate change", "warning or alert"],
        label_drift,
    ),
    (
        "subset",
        "Degraded subsets (the model's predictions shuffled for a share `strength` of the subset's rows)",
        [
            "subset",
            "strength",
            "test",
            "reported as worst subset",
            "warning or alert",
            "alert",
            "other feature warned",
        ],
        subset_degradation,
    ),
    (
        "abnormal",
        "Abnormal inputs (exact injected counts)",
        ["kind", "share", "test", "count exact", "warning or alert", "other feature flagged"],
        abnormal_inputs,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=20_000, help="rows per split")
    parser.add_argument("--only", nargs="*", help="run only these sections")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--write", action="store_true", help=f"update {DETECTION_MD.name}")
    parser.add_argument("--timing-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.timing_child:
        _timing_child(args.timing_child)
        return

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout
    parts = [
        f"Measured at commit `{commit.strip()}` on {platform.machine()} / {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{args.seeds} seeds, {args.rows:,} rows per split unless stated.\n",
    ]
    for key, title, header, func in SECTIONS:
        if args.only and key not in args.only:
            continue
        started = time.perf_counter()
        rows = func(args.seeds, args.rows)
        part = f"### {title}\n\n{table(header, rows)}\n"
        print(part, f"({time.perf_counter() - started:.0f} s)\n", flush=True)
        parts.append(part)
    if not args.skip_timing and (not args.only or "timing" in args.only):
        rows = timing(args.timing_sizes)
        part = (
            "### Whole catalogue, wall time and peak memory (generate_wide: 15 numeric + 5 categorical, "
            "all categories, default tests)\n\n"
            + table(
                [
                    "rows per split",
                    "tests",
                    "wall time",
                    "CPU time",
                    "load (1 min)",
                    "peak RSS",
                    "RSS with data only",
                    "slowest tests (wall)",
                ],
                rows,
            )
            + "\n"
        )
        print(part, flush=True)
        parts.append(part)
    if args.write:
        text = DETECTION_MD.read_text()
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        DETECTION_MD.write_text(head + START + "\n\n" + "\n".join(parts) + "\n" + END + tail)


if __name__ == "__main__":
    main()
