"""The RIME hooks: :mod:`.base` (connection and transport) and :mod:`.rime` (RIME's API methods)."""

from __future__ import annotations

#: The Airflow connection the hook, the operators and the sensor use unless told otherwise.
#: Kept here so operator modules name it without importing the hook at DAG-parse time.
DEFAULT_CONN_ID = "rime_default"
