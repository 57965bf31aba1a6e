"""The package as a user gets it: the wheel built, checked, and installed into a fresh environment.

The install follows the README word for word (``pip install -c constraints.txt <wheel>`` into a
new venv), so the venv holds the core dependencies only: the test imports every module the
provider declares to Airflow, lists the provider with Airflow's CLI, and checks that the local
engine refuses to start without its extra. pip's cache makes the install a matter of unpacking
(``--no-compile`` skips byte-compiling Airflow, which the test does not need).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from this checkout as ``make dist`` builds it (no isolated build env)."""
    out = tmp_path_factory.mktemp("dist")
    built = run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, REPO_ROOT)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (path,) = out.glob("airflow_provider_rime-*-py3-none-any.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed as the README says: core dependencies, pinned."""
    root = tmp_path_factory.mktemp("venv") / "airflow-env"
    created = run(sys.executable, "-m", "venv", "--without-pip", root)
    assert created.returncode == 0, created.stderr
    # This venv's pip installs into the new one (--python): no pip bootstrap, the same cache.
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        root / "bin" / "python",
        "install",
        "--quiet",
        "--no-compile",
        "-c",
        REPO_ROOT / "constraints.txt",
        wheel,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return root


def venv_env(venv: Path, tmp_path: Path) -> dict[str, str]:
    """The fresh venv's own environment: its bin first, its own Airflow home, nothing of this session's."""
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON", "MLFLOW", "_AIRFLOW"))
    }
    return {
        **keep,
        "PATH": f"{venv / 'bin'}{os.pathsep}{keep.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def test_the_wheel_carries_licence_types_and_metadata_and_passes_twine(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read("airflow_provider_rime-0.1.0.dist-info/METADATA").decode()
        licence = archive.read("airflow_provider_rime-0.1.0.dist-info/licenses/LICENSE").decode()
    assert "airflow_provider_rime/py.typed" in names
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL: Documentation," in metadata
    # The developer tools, tests and example DAGs stay in the repository.
    assert not [n for n in names if n.startswith(("rime_dev/", "tests/", "example_dags/", "dev/"))]
    checked = run(BIN / "twine", "check", "--strict", wheel)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_wheel_installs_with_the_core_dependencies_only(venv: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import importlib, importlib.util, json
        from airflow_provider_rime.get_provider_info import get_provider_info

        info = get_provider_info()
        modules = [m for kind in ("hooks", "operators", "sensors", "triggers")
                   for entry in info[kind] for m in entry["python-modules"]]
        classes = [c["hook-class-name"] for c in info["connection-types"]] + info["extra-links"]
        for name in modules:
            importlib.import_module(name)
        for path in classes:
            module, _, attr = path.rpartition(".")
            getattr(importlib.import_module(module), attr)
        from airflow_provider_rime.operators.stress_test import RimeStressTestOperator
        from airflow_provider_rime.operators.mlflow import MlflowLogRimeResultsOperator
        print(json.dumps({
            "modules": modules,
            "operators": [RimeStressTestOperator.__name__, MlflowLogRimeResultsOperator.__name__],
            "absent": [m for m in ("pandas", "numpy", "scipy", "sklearn", "mlflow", "pyarrow")
                       if importlib.util.find_spec(m) is None],
        }))
        """
    )
    env = venv_env(venv, tmp_path)
    imported = run(venv / "bin" / "python", "-c", script, env=env)
    assert imported.returncode == 0, imported.stderr[-3000:]
    report = json.loads(imported.stdout.strip().splitlines()[-1])
    assert "airflow_provider_rime.operators.stress_test" in report["modules"]
    assert "airflow_provider_rime.operators.mlflow" in report["modules"]
    # Only the core: the engine's stack and MLflow are extras.
    assert report["absent"] == ["pandas", "numpy", "scipy", "sklearn", "mlflow", "pyarrow"]

    listed = run(venv / "bin" / "airflow", "providers", "list", env=env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = [line for line in listed.stdout.splitlines() if line.startswith("airflow-provider-rime ")]
    assert len(rows) == 1 and "0.1.0" in rows[0], listed.stdout


def test_the_engine_refuses_to_start_without_its_extra(venv: Path, wheel: Path, tmp_path: Path) -> None:
    served = run(
        venv / "bin" / "rime-local",
        "serve",
        "--port",
        "1",
        "--data-dir",
        tmp_path / "engine",
        env=venv_env(venv, tmp_path),
        timeout=120,
    )
    assert served.returncode == 2, served.stdout + served.stderr
    message = served.stderr
    assert "rime-local serve needs the provider's 'local' extra" in message
    assert "numpy (not installed)" in message and "pandas (not installed)" in message
    # The exact command: this venv's pip, the wheel the package came from, with the extra.
    assert f"{venv / 'bin' / 'python'} -m pip install '{wheel}[local]'" in message
    assert not (tmp_path / "engine").exists(), "nothing is created before the refusal"
