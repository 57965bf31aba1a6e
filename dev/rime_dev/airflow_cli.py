"""Several ``airflow`` CLI commands in one interpreter: ``python -m rime_dev.airflow_cli CMD ...``.

Each argument is one command line without the leading ``airflow`` (``"db migrate"``,
``"connections import --overwrite FILE"``); they run in order, as ``airflow`` would run each,
and the first that fails stops the rest. Airflow's CLI takes seconds to start: the demo's
setup commands share one start.
"""

from __future__ import annotations

import shlex
import sys


def main(argv: list[str] | None = None) -> int:
    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed

    commands = sys.argv[1:] if argv is None else argv
    if not commands:
        print("usage: python -m rime_dev.airflow_cli 'db migrate' ['connections import FILE' ...]")
        return 2
    write_default_airflow_configuration_if_needed()
    parser = cli_parser.get_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command))
        args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
