"""rime_dev.airflow_cli: the demo's Airflow setup commands run in order in one interpreter."""

from __future__ import annotations

import pytest

from rime_dev.airflow_cli import main


def test_runs_each_command_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    from airflow import __version__

    assert main(["version", "version"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert lines.count(__version__) == 2


def test_a_bad_command_stops_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    from airflow import __version__

    with pytest.raises(SystemExit) as stopped:
        main(["dags nosuch", "version"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert "invalid choice: 'nosuch'" in captured.err
    lines = [line.strip() for line in captured.out.splitlines()]
    assert __version__ not in lines, "the command after the bad one did not run"


def test_without_commands_it_says_how_to_call_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: python -m rime_dev.airflow_cli" in capsys.readouterr().out
