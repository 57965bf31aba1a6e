"""Apache Airflow provider for Robust Intelligence RIME (stress testing and AI Firewall).

Importing the package is cheap: the hooks, operators, sensors and triggers live in their
own modules and import nothing heavy at module level.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
