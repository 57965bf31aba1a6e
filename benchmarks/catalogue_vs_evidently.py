"""Time the whole test catalogue against Evidently's ``DataDriftPreset`` on the same data.

One command::

    .venv/bin/python benchmarks/catalogue_vs_evidently.py --rows 100000 1000000

For each size it generates a reference split and a drifted evaluation split once
(``generate_wide``: 15 numeric + 5 categorical features, label, prediction), writes them as
parquet under ``benchmarks/.work/data/``, then runs, in separate processes and interleaved,
``--reps`` times each:

- the catalogue: every category that has tests, in this venv (``_catalogue_worker.py``);
- Evidently 0.7 ``Report([DataDriftPreset()])`` on the same parquet, in its own venv
  ``benchmarks/.work/evidently-venv`` (Evidently 0.7 needs ``pandas<3``), which this script
  creates on first use.

Each process reports its import, parquet load and compute times; the driver measures the
process's wall time and peak RSS (``os.wait4``). Results go to the terminal and to
``benchmarks/results/catalogue_vs_evidently.json``. ``--profile`` adds one cProfile'd
catalogue run per size and writes its hotspots next to the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, ROOT, WORK, gib, log, machine_info, make_data, tool_python

HERE = Path(__file__).resolve().parent
EVIDENTLY_VENV = WORK / "evidently-venv"
EVIDENTLY_REQUIREMENTS = ["evidently>=0.7,<0.8", "pandas<3", "pyarrow"]
GOAL_RATIO = 0.10
GOAL_RSS_BYTES = 3 * 1024**3


def evidently_python() -> Path:
    """The Evidently venv's interpreter, creating the venv on first use."""
    return tool_python(
        EVIDENTLY_VENV,
        EVIDENTLY_REQUIREMENTS,
        "import evidently, pandas, pyarrow; assert evidently.__version__ < '0.8'",
    )


# --------------------------------------------------------------------------- runs


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    """Run ``cmd``; its wall time, CPU time (user + system), peak RSS in bytes (ru_maxrss of
    that child) and exit code."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode


def run_one(tool: str, ref: Path, ev: Path, out: Path, python: Path, profile: Path | None = None) -> dict:
    env = dict(os.environ)
    env["DO_NOT_TRACK"] = "1"  # Evidently's usage reporting
    if tool == "catalogue":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
        cmd = [str(python), str(HERE / "_catalogue_worker.py"), str(ref), str(ev), str(out)]
        if profile is not None:
            cmd += ["--profile", str(profile)]
    else:
        cmd = [str(python), str(HERE / "_evidently_worker.py"), str(ref), str(ev), str(out)]
    load_before = os.getloadavg()[0]
    wall, cpu, rss, code = run_measured(cmd, env)
    if code != 0:
        raise SystemExit(f"{tool} worker failed with exit code {code}: {' '.join(cmd)}")
    result = json.loads(out.read_text())
    result["process_wall_s"] = wall
    result["process_cpu_s"] = cpu  # less sensitive than wall time to other work on the machine
    result["peak_rss_bytes"] = rss
    # Other work on the machine slows both tools: the 1-minute load average before and after.
    result["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def summarise(runs: list[dict]) -> dict[str, Any]:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    out = {
        "reps": len(runs),
        "process_wall_s": med("process_wall_s"),
        "process_cpu_s": med("process_cpu_s"),
        "import_s": med("import_s"),
        "load_s": med("load_s"),
        "compute_s": med("compute_s"),
        "compute_cpu_s": med("compute_cpu_s"),
        "compute_min_s": min(r["compute_s"] for r in runs),
        "compute_max_s": max(r["compute_s"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
    }
    if "by_category_s" in runs[0]:
        cats = runs[0]["by_category_s"]
        out["by_category_s"] = {c: statistics.median(r["by_category_s"][c] for r in runs) for c in cats}
        keys = [t["key"] for t in runs[0]["per_test"]]
        per_key = {
            k: statistics.median(r["per_test"][i]["seconds"] for r in runs) for i, k in enumerate(keys)
        }
        out["slowest_tests_s"] = dict(sorted(per_key.items(), key=lambda kv: -kv[1])[:10])
    return out


def print_table(size_results: dict[str, Any]) -> None:
    print()
    header = f"{'rows/side':>10} {'tool':<10} {'compute s':>10} {'load s':>7} {'import s':>8} "
    header += f"{'process s':>9} {'peak RSS':>10}"
    print(header)
    print("-" * len(header))
    for n, res in size_results.items():
        for tool in ("catalogue", "evidently"):
            s = res.get(tool)
            if not s:
                continue
            print(
                f"{int(n):>10,} {tool:<10} {s['compute_s']:>10.2f} {s['load_s']:>7.2f} {s['import_s']:>8.2f} "
                f"{s['process_wall_s']:>9.2f} {gib(s['peak_rss_bytes']):>10}"
            )
        if "ratio" in res:
            r = res["ratio"]
            print(
                f"{'':>10} catalogue/evidently: compute {r['compute']:.1%}, load+compute "
                f"{r['load_plus_compute']:.1%}, whole process {r['process']:.1%} (goal <= {GOAL_RATIO:.0%})"
            )
        cat = res.get("catalogue")
        if cat and "by_category_s" in cat:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in cat["by_category_s"].items())
            print(f"{'':>10} catalogue by category (s): {parts}")
    print()


def markdown(report: dict[str, Any]) -> str:
    """The README's tables, from a results JSON."""
    nan = float("nan")
    out = [
        "| rows per side | tool | compute s (median; min-max) | compute CPU s | parquet load s "
        "| process wall s | process CPU s | peak RSS |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, size in report["sizes"].items():
        for tool in ("catalogue", "evidently"):
            t = size.get(tool)
            if t:
                out.append(
                    f"| {int(n):,} | {tool} | {t['compute_s']:.2f} "
                    f"({t['compute_min_s']:.2f}-{t['compute_max_s']:.2f}) "
                    f"| {t.get('compute_cpu_s', nan):.2f} "
                    f"| {t['load_s']:.2f} | {t['process_wall_s']:.2f} | {t.get('process_cpu_s', nan):.2f} "
                    f"| {gib(t['peak_rss_bytes'])} |"
                )
    out += [
        "",
        "| rows per side | catalogue / Evidently: compute | compute (CPU) | load + compute "
        "| whole process (wall) | whole process (CPU) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, size in report["sizes"].items():
        r = size.get("ratio")
        if r:
            out.append(
                f"| {int(n):,} | {r['compute']:.1%} | {r.get('compute_cpu', nan):.1%} "
                f"| {r['load_plus_compute']:.1%} | {r['process']:.1%} "
                f"| {r.get('process_cpu', nan):.1%} |"
            )
    sizes = [n for n, size in report["sizes"].items() if "catalogue" in size]
    cats = sorted({c for n in sizes for c in report["sizes"][n]["catalogue"]["by_category_s"]})
    out += ["", "| catalogue, seconds (median) | " + " | ".join(f"{int(n):,} rows" for n in sizes) + " |"]
    out.append("| --- |" + " ---: |" * len(sizes))
    for c in cats:
        vals = " | ".join(
            f"{report['sizes'][n]['catalogue']['by_category_s'].get(c, 0.0):.2f}" for n in sizes
        )
        out.append(f"| {c} | {vals} |")
    out.append(
        "| **all tests + feature inference (compute)** | "
        + " | ".join(f"**{report['sizes'][n]['catalogue']['compute_s']:.2f}**" for n in sizes)
        + " |"
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="rows per side")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each tool per size")
    parser.add_argument("--only", choices=["catalogue", "evidently"], help="run one tool only")
    parser.add_argument("--profile", action="store_true", help="also profile one catalogue run per size")
    parser.add_argument("--out", type=Path, default=RESULTS / "catalogue_vs_evidently.json")
    parser.add_argument("--markdown", type=Path, help="only print the README tables of this results JSON")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return

    args.out = args.out.resolve()
    tools = [args.only] if args.only else ["catalogue", "evidently"]
    pythons = {"catalogue": Path(sys.executable)}
    if "evidently" in tools:
        pythons["evidently"] = evidently_python()
    runs_dir = WORK / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)

    report: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "sizes": {},
    }
    for n in args.rows:
        ref, ev, meta = make_data(n)
        runs: dict[str, list[dict]] = {t: [] for t in tools}
        for rep in range(args.reps):
            order = tools if rep % 2 == 0 else tools[::-1]  # interleaved, alternating who goes first
            for tool in order:
                out = runs_dir / f"{tool}-{n}-{rep}.json"
                log(f"{n:,} rows/side, {tool}, repetition {rep + 1}/{args.reps}")
                result = run_one(tool, ref, ev, out, pythons[tool])
                runs[tool].append(result)
                log(
                    f"  compute {result['compute_s']:.2f} s, load {result['load_s']:.2f} s, "
                    f"process {result['process_wall_s']:.2f} s, peak RSS {gib(result['peak_rss_bytes'])}, "
                    f"load average {result['loadavg_1m'][0]} -> {result['loadavg_1m'][1]}"
                )
        size: dict[str, Any] = {"data": meta, "runs": runs}
        for tool in tools:
            size[tool] = summarise(runs[tool])
        if len(tools) == 2:
            c, e = size["catalogue"], size["evidently"]
            size["ratio"] = {
                "compute": c["compute_s"] / e["compute_s"],
                "compute_cpu": c["compute_cpu_s"] / e["compute_cpu_s"],
                "load_plus_compute": (c["compute_s"] + c["load_s"]) / (e["compute_s"] + e["load_s"]),
                "process": c["process_wall_s"] / e["process_wall_s"],
                "process_cpu": c["process_cpu_s"] / e["process_cpu_s"],
            }
            size["evidently_version"] = runs["evidently"][0]["version"]
            size["evidently_drifted_columns"] = runs["evidently"][0]["n_drifted"]
        if args.profile and "catalogue" in tools:
            prof_txt = args.out.parent / f"catalogue_profile_{n}.txt"
            log(f"{n:,} rows/side, catalogue under cProfile -> {prof_txt.relative_to(ROOT)}")
            prof = run_one(
                "catalogue", ref, ev, runs_dir / f"catalogue-{n}-profile.json", pythons["catalogue"], prof_txt
            )
            size["catalogue_profiled_tests_s"] = prof["tests_s"]
        report["sizes"][str(n)] = size
        args.out.write_text(json.dumps(report, indent=2))
        print_table({str(n): size})

    print_table(report["sizes"])
    largest = report["sizes"].get(str(max(args.rows)), {})
    if "ratio" in largest:
        ok_time = largest["ratio"]["compute"] <= GOAL_RATIO
        ok_mem = largest["catalogue"]["peak_rss_bytes"] < GOAL_RSS_BYTES
        print(
            f"at {max(args.rows):,} rows/side: time goal {'met' if ok_time else 'NOT met'} "
            f"({largest['ratio']['compute']:.1%} of Evidently's compute), memory goal "
            f"{'met' if ok_mem else 'NOT met'} ({gib(largest['catalogue']['peak_rss_bytes'])} peak)"
        )
    print()
    print(markdown(report))
    log(f"results in {args.out}")


if __name__ == "__main__":
    main()
