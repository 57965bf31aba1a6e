"""What the benchmarks share: logging, the machine's description and the generated data.

Importing it puts the repository's ``dev/`` folder on ``sys.path``: the data generator
(``rime_dev.datagen``) and the engine starter (``rime_dev.engine``) live there, outside the
installed package.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
N_NUMERIC = 15
N_CATEGORICAL = 5

if str(ROOT / "dev") not in sys.path:
    sys.path.insert(0, str(ROOT / "dev"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- environment


def source_state() -> dict[str, Any]:
    """The commit measured, and whether the catalogue's sources differ from it."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    dirty = git("status", "--porcelain", "--", "src/airflow_provider_rime/local")
    return {"commit": git("rev-parse", "--short", "HEAD"), "engine_sources_modified": bool(dirty)}


def cpu_name(default: str = "unknown") -> str:
    """The CPU's model name from /proc/cpuinfo, or ``default`` where there is none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default


def machine_info() -> dict[str, Any]:
    cpu = cpu_name()
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": round(mem_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        "source": source_state(),
    }


# --------------------------------------------------------------------------- data


def gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB"


# The evaluation split: a few features drift, one subset is degraded, a few rows are abnormal,
# so that every category of the catalogue has something to find (and to compute).
EVAL_SPLIT: dict[str, Any] = {
    "seed": 1,
    "drift": {"num_0": 0.5, "num_3": 0.2, "cat_0": 0.3, "cat_3": 0.1},
    "degrade": {"feature": "cat_1", "values": ["c1_v0"], "strength": 0.5},
    "abnormal": {
        "outliers": 0.001,
        "unseen": 0.001,
        "nulls": 0.002,
        "empty_strings": 0.001,
        "capitalization": 0.001,
    },
}


def make_data(n_rows: int) -> tuple[Path, Path, dict[str, Any]]:
    """Reference and evaluation parquet of ``n_rows`` per side under ``.work/data/<n_rows>/``.

    Reused while the generator's source and ``EVAL_SPLIT`` are unchanged; regenerated otherwise.
    """
    from rime_dev import datagen

    source = inspect.getsource(datagen)
    key = hashlib.sha256((source + json.dumps(EVAL_SPLIT, sort_keys=True)).encode()).hexdigest()[:12]
    folder = WORK / "data" / f"{n_rows}"
    ref_path, eval_path, meta_path = folder / "ref.parquet", folder / "eval.parquet", folder / "meta.json"
    if meta_path.exists() and ref_path.exists() and eval_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == key:
            return ref_path, eval_path, meta
    folder.mkdir(parents=True, exist_ok=True)
    log(f"generating {n_rows:,} rows per side with datagen.generate_wide")
    started = time.perf_counter()
    shape = {"n_numeric": N_NUMERIC, "n_categorical": N_CATEGORICAL, "with_pred": True}
    ref = datagen.generate_wide(n_rows, seed=0, **shape)
    ref.to_parquet(ref_path, index=False)
    del ref
    ev = datagen.generate_wide(n_rows, **shape, **EVAL_SPLIT)
    ev.to_parquet(eval_path, index=False)
    columns = list(ev.columns)
    del ev
    meta = {
        "key": key,
        "n_rows": n_rows,
        "columns": columns,
        "reference": {"seed": 0, **shape},
        "evaluation": {**EVAL_SPLIT, **shape},
        "generate_s": round(time.perf_counter() - started, 2),
        "parquet_mb": round((ref_path.stat().st_size + eval_path.stat().st_size) / 1e6, 1),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    log(f"  {meta['generate_s']:.1f} s, {meta['parquet_mb']} MB of parquet")
    return ref_path, eval_path, meta
