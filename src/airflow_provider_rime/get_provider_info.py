"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_rime import DOCUMENTATION_URL, __version__

_CONN_FIELDS: dict[str, Any] = {
    "verify_ssl": {
        "label": "Verify TLS certificate",
        "schema": {"type": ["boolean", "null"], "default": True},
        "description": "Turn off only for a cluster with a self-signed certificate; prefer a CA bundle.",
    },
    "ca_bundle": {
        "label": "CA bundle path",
        "schema": {"type": ["string", "null"]},
        "description": "Path (on the workers and the triggerer) of a PEM file of trusted certificates.",
    },
    "timeout": {
        "label": "Request timeout (s)",
        "schema": {"type": ["integer", "null"], "default": 60, "minimum": 1},
        "description": "Timeout of one REST call, in seconds.",
    },
    "max_retries": {
        "label": "Max retries",
        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 0},
        "description": "Retries of a failed call (HTTP 429, 5xx, connection errors), with backoff.",
    },
}


#: The how-to pages under ``docs/`` of the source distribution.
HOW_TO_GUIDES = (
    "operators.md",
    "mlflow.md",
    "connection.md",
    "example-dags.md",
    "local-engine.md",
    "troubleshooting.md",
    "rime-cluster.md",
)


def get_provider_info() -> dict[str, Any]:
    """Describe the provider: hooks, operators, sensors, triggers, the ``rime`` connection, links."""
    return {
        "package-name": "airflow-provider-rime",
        "name": "RIME (Robust Intelligence)",
        "description": "Stress testing and AI Firewall with Robust Intelligence RIME.",
        "versions": [__version__],
        "documentation-url": DOCUMENTATION_URL,
        "integrations": [
            {
                "integration-name": "RIME",
                "external-doc-url": "https://docs.robustintelligence.com/",
                # Paths inside the source distribution (docs/), as Airflow's own providers give them.
                "how-to-guide": [f"/docs/{page}" for page in HOW_TO_GUIDES],
                "logo": "/docs/integration-logos/rime.svg",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {
                "integration-name": "RIME",
                "python-modules": ["airflow_provider_rime.hooks.base", "airflow_provider_rime.hooks.rime"],
            }
        ],
        "operators": [
            {
                "integration-name": "RIME",
                "python-modules": [
                    "airflow_provider_rime.operators.stress_test",
                    "airflow_provider_rime.operators.firewall",
                    "airflow_provider_rime.operators.mlflow",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "RIME", "python-modules": ["airflow_provider_rime.sensors.test_run"]}
        ],
        "triggers": [{"integration-name": "RIME", "python-modules": ["airflow_provider_rime.triggers.job"]}],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_rime.hooks.rime.RimeHook",
                "hook-name": "RIME (Robust Intelligence)",
                "connection-type": "rime",
                "conn-fields": _CONN_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "RIME cluster URL", "password": "API key"},
                    "placeholders": {
                        "host": "https://rime.<cluster>.rime.dev or http://127.0.0.1:8642",
                        "password": "the API key from the RIME workspace settings",
                    },
                },
            }
        ],
        "extra-links": [
            "airflow_provider_rime.links.RimeStressTestLink",
            "airflow_provider_rime.links.RimeFirewallLink",
        ],
    }
