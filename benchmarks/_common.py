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


def labelled_inputs(ref: Any, ev: Any, categories: Any, individual: dict[str, Any] | None = None) -> Any:
    """The catalogue's inputs for a generated split: features, labels and predictions.

    ``ref`` and ``ev`` are generated frames with ``label`` and ``pred`` columns (and maybe
    ``timestamp``); those columns become the inputs' labels and predictions (``None`` where a
    frame has none), not features. Labels are int8 and predictions float64, as the engine's
    stress-test worker holds them.
    """
    import numpy as np

    from airflow_provider_rime.local.catalogue.features import infer_features
    from airflow_provider_rime.local.catalogue.types import StressInputs, SuiteConfig

    def column(frame: Any, name: str, dtype: Any) -> Any:
        return frame[name].to_numpy(dtype=dtype) if name in frame.columns else None

    drop = [c for c in ("label", "pred", "timestamp") if c in ref.columns]
    ref_x, ev_x = ref.drop(columns=drop), ev.drop(columns=[c for c in drop if c in ev.columns])
    return StressInputs(
        ref=ref_x,
        eval=ev_x,
        features=infer_features(ref_x),
        ref_labels=column(ref, "label", np.int8),
        eval_labels=column(ev, "label", np.int8),
        ref_preds=column(ref, "pred", np.float64),
        eval_preds=column(ev, "pred", np.float64),
        config=SuiteConfig(categories=frozenset(categories), individual_tests_config=individual or {}),
    )


def model_test_inputs(process: Any, ref: Any, ev: Any, features: list[str], seed: int = 0) -> Any:
    """The catalogue's inputs for the model-based tests (Transformations, Adversarial): the
    model running in ``process`` called on labelled frames without predictions, as the engine
    calls it (a failed call is ``ModelCallFailed``), with the suite's random ``seed``."""
    from airflow_provider_rime.local.catalogue.features import infer_features
    from airflow_provider_rime.local.catalogue.types import ModelCallFailed, StressInputs, SuiteConfig
    from airflow_provider_rime.local.models import ModelCallError
    from airflow_provider_rime.rime_api.enums import TestCategory

    def predict(frame: Any) -> Any:
        try:
            return process.predict(frame)
        except ModelCallError as exc:
            raise ModelCallFailed(str(exc)) from None

    return StressInputs(
        ref=ref[features],
        eval=ev[features],
        features=infer_features(ref[features]),
        ref_labels=ref["label"].to_numpy(),
        eval_labels=ev["label"].to_numpy(),
        ref_preds=None,
        eval_preds=None,
        config=SuiteConfig(
            categories=frozenset({TestCategory.TRANSFORMATIONS, TestCategory.ADVERSARIAL}), random_seed=seed
        ),
        model=predict,
        model_frame=ev[features],
    )


def ok(response: Any) -> dict[str, Any]:
    """The JSON of an engine answer that must be 200; anything else stops the benchmark, saying why."""
    if response.status_code != 200:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json()  # type: ignore[no-any-return]


def create_daily_firewall(client: Any, project_id: str, model_id: str, ref_id: str) -> str:
    """Create the project's firewall: daily bins judged against reference dataset ``ref_id``."""
    body = {
        "projectId": {"uuid": project_id},
        "modelId": {"uuid": model_id},
        "refDataId": ref_id,
        "binSize": "86400s",
    }
    return ok(client.post("/v1/firewall", json=body))["firewallId"]["uuid"]  # type: ignore[no-any-return]


def start_continuous_test(client: Any, firewall_id: str, eval_id: str) -> dict[str, Any]:
    """Start the firewall's continuous test on dataset ``eval_id``; the engine's answer (``job``)."""
    body = {"testRunIncrementalConfig": {"evalDatasetId": eval_id}}
    return ok(client.post(f"/v1/continuous-tests/{firewall_id}", json=body))


def tool_python(venv: Path, requirements: list[str], check_code: str) -> Path:
    """The interpreter of the venv a compared tool (Evidently, Giskard) runs in, made on first
    use with ``requirements``; ``check_code`` must run there (it checks the tool's version)."""
    import subprocess

    python = venv / "bin" / "python"
    check = [str(python), "-c", check_code]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    log(f"creating {venv} with {' '.join(requirements)}")
    subprocess.run([os.environ.get("BENCH_BASE_PYTHON", "python3"), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    subprocess.run(check, check=True)
    return python


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
