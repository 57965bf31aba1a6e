"""Apache Airflow provider for Robust Intelligence RIME (stress testing and AI Firewall).

Importing the package is cheap: the hooks, operators, sensors and triggers live in their
own modules and import nothing heavy at module level.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: Where the provider's documentation is published (the package page: the README with its links).
DOCUMENTATION_URL = "https://pypi.org/project/airflow-provider-rime/"

__all__ = ["DOCUMENTATION_URL", "__version__"]
