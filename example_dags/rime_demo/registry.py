"""Promote the chosen model in the MLflow model registry."""

from __future__ import annotations

from typing import Any

from rime_demo import PRODUCTION_ALIAS, REGISTERED_MODEL

#: Tags set on the promoted model version (the firewall DAG reads them back).
VERSION_TAGS = {
    "rime_stress_test_run_id": "test_run_id",
    "rime_stress_test_link": "test_run_url",
    "rime_project_id": "project_id",
    "rime_pass_rate": "pass_rate",
    "model_type": "model_type",
}


def promote(best: dict[str, Any], *, registered_model: str = REGISTERED_MODEL) -> str:
    """Point the alias ``production`` at ``best``'s model version and tag it with its stress test.

    Setting an alias moves it, so promoting again (a retry, or the next DAG run) leaves one
    production version. Returns the model URI ``models:/<name>@production``.

    :param best: the dict returned by the DAG's ``choose_best_model`` task (``model_version``,
        ``test_run_id``, ``test_run_url``, ``project_id``, ``pass_rate``, ``model_type``).
    :param registered_model: the registered model's name.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    version = str(best["model_version"])
    for tag, key in VERSION_TAGS.items():
        if best.get(key) not in (None, ""):
            client.set_model_version_tag(registered_model, version, tag, str(best[key]))
    client.set_registered_model_alias(registered_model, PRODUCTION_ALIAS, version)
    return f"models:/{registered_model}@{PRODUCTION_ALIAS}"
