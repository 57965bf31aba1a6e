"""Developer tooling of airflow-provider-rime: not part of the installed package.

- :mod:`rime_dev.engine`: start ``rime-local serve`` on a loopback port, wait until it
  answers, stop it (used by the demo, the tests and the benchmarks);
- :mod:`rime_dev.processes`: free ports, processes in their own group, log tails;
- :mod:`rime_dev.datagen`: seeded synthetic data with known drift and abnormal inputs
  (tests, benchmarks, and the example DAG's generated-data fallback);
- :mod:`rime_dev.demo`: ``make demo`` and ``make demo-ui``;
- :mod:`rime_dev.docs`: copies the example DAGs' marked snippets into the how-to pages.

The folder ``dev/`` is on ``sys.path`` for pytest (``pythonpath`` in ``pyproject.toml``), the
Makefile's targets (``PYTHONPATH``), the demo's Airflow processes and the benchmarks
(``benchmarks/_common.py``). A wheel of the provider does not contain it.
"""
