"""The repository stands on its own: no file cites planning documents kept outside it.

The project was planned in files that are not part of this repository (a REST API transcript,
a catalogue description, a design page). A reader of this repository cannot open them, so
docs, comments and configuration say what is needed instead of pointing there. Tests and
benchmarks may read the walkthrough's data from the shared data folder beside the checkout.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not cite them itself.
PLANNING_FILES = tuple(f"{name}.md" for name in ("rime-api", "rime-tests", "rime-firewall", "DESIGN"))
SHARED = "../" + "shared/"
SHARED_DATA = SHARED + "data/"
DATA_READERS = ("tests/", "benchmarks/")


def repository_files() -> list[str]:
    """Tracked files and new ones not ignored by .gitignore (paths relative to the root)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"cannot list the repository's files with git: {err}")
    return sorted({name for name in listed.decode().split("\0") if name and (REPO_ROOT / name).is_file()})


def citations(path: str, text: str) -> list[str]:
    """The lines of ``text`` that cite a planning file or the shared folder (``path:line: text``)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        cited = [name for name in PLANNING_FILES if name in line]
        shared = line.count(SHARED)
        if path.startswith(DATA_READERS):
            shared -= line.count(SHARED_DATA)
        if cited or shared > 0:
            found.append(f"{path}:{number}: {line.strip()}")
    return found


def test_no_file_cites_files_outside_the_repository() -> None:
    found = []
    for path in repository_files():
        try:
            text = (REPO_ROOT / path).read_text()
        except UnicodeDecodeError:
            continue  # binary
        found += citations(path, text)

    assert found == [], "files outside the repository are cited; say what the reader needs instead:\n" + (
        "\n".join(found)
    )


@pytest.mark.parametrize(
    ("path", "line", "cited"),
    [
        ("src/x.py", f'"""Projects ({PLANNING_FILES[0]} §4)."""', True),
        ("pyproject.toml", f"# core deps ({PLANNING_FILES[3]}, decision 8)", True),
        ("docs/a.md", f"see `{SHARED}{PLANNING_FILES[0]}`", True),
        ("README.md", f"data from `{SHARED_DATA}fraud/`", True),
        ("tests/conftest.py", f"reads {SHARED_DATA}fraud", False),
        ("tests/conftest.py", f"reads {SHARED}notes.txt", True),
        ("benchmarks/x.py", f"{SHARED_DATA}fraud/fraud_ref.csv", False),
        ("docs/rest-api.md", "rime-sdk 2.13.2 sends the header rime-api-key", False),
    ],
)
def test_what_counts_as_a_citation(path: str, line: str, cited: bool) -> None:
    assert bool(citations(path, line)) is cited
