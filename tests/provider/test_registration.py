"""The provider as Airflow sees it: entry point, connection type and form, CLI, light imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_rime.get_provider_info import get_provider_info
from airflow_provider_rime.hooks.rime import RimeHook

PROVIDER_MODULES = [
    "airflow_provider_rime",
    "airflow_provider_rime.get_provider_info",
    "airflow_provider_rime.rime_api",
    "airflow_provider_rime.links",
    "airflow_provider_rime.exceptions",
    "airflow_provider_rime.hooks.base",
    "airflow_provider_rime.hooks.rime",
    "airflow_provider_rime.utils.data_sources",
    "airflow_provider_rime.utils.files",
    "airflow_provider_rime.operators.base",
    "airflow_provider_rime.operators.stress_test",
    "airflow_provider_rime.operators.firewall",
    "airflow_provider_rime.utils.sql",
    "airflow_provider_rime.sensors.test_run",
    "airflow_provider_rime.triggers.job",
]
HEAVY_MODULES = ["pandas", "numpy", "mlflow", "sklearn", "fastapi", "sqlalchemy", "pyarrow", "scipy"]


def airflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``airflow`` CLI of this venv with the session's AIRFLOW_HOME (inherited)."""
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run(
        [str(airflow), *args], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )


def test_provider_info_matches_airflows_schema():
    import jsonschema
    from airflow import __file__ as airflow_init

    schema = json.loads((Path(airflow_init).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    connection = info["connection-types"][0]
    assert connection["connection-type"] == "rime"
    assert connection["hook-name"] == "RIME (Robust Intelligence)"
    assert connection["hook-class-name"] == "airflow_provider_rime.hooks.rime.RimeHook"
    assert set(connection["conn-fields"]) == {"verify_ssl", "ca_bundle", "timeout", "max_retries"}
    assert info["extra-links"] == [
        "airflow_provider_rime.links.RimeStressTestLink",
        "airflow_provider_rime.links.RimeFirewallLink",
    ]


def test_provider_info_links_its_docs_and_logo():
    import tomllib

    info = get_provider_info()
    repo = Path(__file__).resolve().parents[2]
    urls = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["urls"]
    assert info["documentation-url"] == urls["Documentation"]
    (integration,) = info["integrations"]
    # How-to pages and the logo are paths in the source distribution's docs/, and exist.
    assert integration["how-to-guide"], "no how-to pages listed"
    for path in [*integration["how-to-guide"], integration["logo"]]:
        assert path.startswith("/docs/") and (repo / path.lstrip("/")).is_file(), path
    assert "/docs/operators.md" in integration["how-to-guide"]


def test_providers_manager_knows_the_connection_form():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()
    assert "airflow-provider-rime" in manager.providers
    hook = ProvidersManagerTaskRuntime().hooks["rime"]
    assert hook is not None
    assert hook.hook_name == "RIME (Robust Intelligence)"
    assert hook.connection_id_attribute_name == "rime_conn_id"
    widgets = manager.connection_form_widgets
    assert {f"extra__rime__{name}" for name in ("verify_ssl", "ca_bundle", "timeout", "max_retries")} <= set(
        widgets
    )
    behaviour = manager.field_behaviours["rime"]
    assert behaviour["relabeling"] == {"host": "RIME cluster URL", "password": "API key"}
    assert "login" in behaviour["hidden_fields"]
    assert "airflow_provider_rime.links.RimeStressTestLink" in manager.extra_links_class_names


def test_cli_lists_the_provider_and_adds_a_rime_connection(airflow_db: Path, rime_engine):
    listed = airflow_cli("providers", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith("airflow-provider-rime ")]
    assert len(rows) == 1 and "0.1.0" in rows[0]

    added = airflow_cli(
        "connections",
        "add",
        "rime_cli",
        "--conn-type",
        "rime",
        "--conn-host",
        rime_engine.url,
        "--conn-password",
        rime_engine.api_key,
        "--conn-extra",
        json.dumps({"verify_ssl": True, "timeout": 20, "max_retries": 1}),
    )
    assert added.returncode == 0, added.stderr
    assert rime_engine.api_key not in added.stdout + added.stderr

    hook = RimeHook("rime_cli")
    assert hook.settings.timeout == 20
    assert hook.settings.max_retries == 1
    ok, message = hook.test_connection()
    assert ok, message
    assert message.startswith("Connected to RIME ")


def test_provider_modules_import_nothing_heavy():
    # Airflow itself brings SQLAlchemy; what counts is what the provider adds on top.
    code = (
        "import sys\n"
        "from airflow.providers.common.compat.sdk import BaseHook, BaseOperator, BaseSensorOperator\n"
        f"before = {{m for m in {HEAVY_MODULES!r} if m in sys.modules}}\n"
        f"for name in {PROVIDER_MODULES!r}:\n"
        "    __import__(name)\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules and m not in before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_dag_files_do_not_import_the_hook_or_the_wire_documents():
    """Operators and the sensor import the hook, the trigger and RIME's models when a task runs."""
    code = (
        "import sys\n"
        "import airflow_provider_rime.operators.stress_test, airflow_provider_rime.operators.mlflow\n"
        "import airflow_provider_rime.sensors.test_run\n"
        "names = ('hooks.base', 'hooks.rime', 'triggers.job', 'rime_api.documents')\n"
        "print(sorted(n for n in names if 'airflow_provider_rime.' + n in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
