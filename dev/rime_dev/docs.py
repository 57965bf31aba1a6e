"""Keep the how-to pages' code in step with the example DAGs.

The example DAGs mark the code a page shows between ``# [START name]`` and ``# [END name]``
comments (as Airflow's providers do). A page includes such a region with::

    <!-- example: example_dags/rime_stress_testing.py howto_operator_rime_stress_test -->
    ```python
    ... the region, dedented ...
    ```
    <!-- /example -->

``python -m rime_dev.docs`` (``make docs``) rewrites every such block from the example file;
``python -m rime_dev.docs --check`` and ``tests/docs`` fail when a block differs from its
region, or when a region of ``example_dags/`` is included by no page.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS_DIR = REPO_ROOT / "docs"
EXAMPLES_DIR = REPO_ROOT / "example_dags"

_MARKER = re.compile(r"^\s*# \[(START|END) (\w+)\]\s*$")
_INCLUDE = re.compile(
    r"(?P<open><!-- example: (?P<path>\S+) (?P<name>\w+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /example -->)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Region:
    """The code between ``# [START name]`` and ``# [END name]`` of one example file."""

    path: str  # relative to the repository root, with ``/``
    name: str
    code: str  # dedented, without the marker lines, ending with a newline


def example_regions(
    examples_dir: Path = EXAMPLES_DIR, root: Path = REPO_ROOT
) -> dict[tuple[str, str], Region]:
    """Every marked region of the ``.py`` files under ``examples_dir``, by (path, name).

    :raises ValueError: a START without its END (or the reverse), or a name used twice in a file.
    """
    regions: dict[tuple[str, str], Region] = {}
    for file in sorted(examples_dir.rglob("*.py")):
        rel = file.relative_to(root).as_posix()
        open_at: dict[str, int] = {}
        lines = file.read_text().splitlines(keepends=True)
        for number, line in enumerate(lines):
            marker = _MARKER.match(line)
            if marker is None:
                continue
            kind, name = marker.groups()
            if kind == "START":
                if name in open_at or (rel, name) in regions:
                    raise ValueError(f"{rel}:{number + 1}: [START {name}] again")
                open_at[name] = number
                continue
            if name not in open_at:
                raise ValueError(f"{rel}:{number + 1}: [END {name}] without its START")
            code = textwrap.dedent("".join(lines[open_at.pop(name) + 1 : number]))
            regions[(rel, name)] = Region(rel, name, code)
        if open_at:
            raise ValueError(f"{rel}: [START {', '.join(sorted(open_at))}] without END")
    return regions


def render_block(region: Region) -> str:
    """What a page holds between the include comments for ``region``."""
    return f"```python\n{region.code}```\n"


@dataclass(frozen=True)
class Include:
    """One ``<!-- example: ... -->`` block of a page."""

    page: Path
    path: str
    name: str
    body: str


def page_includes(page: Path) -> list[Include]:
    return [
        Include(page, match["path"], match["name"], match["body"])
        for match in _INCLUDE.finditer(page.read_text())
    ]


def problems(
    docs_dir: Path = DOCS_DIR, examples_dir: Path = EXAMPLES_DIR, root: Path = REPO_ROOT
) -> list[str]:
    """What is out of step: blocks that differ from their region, unknown regions, regions no page shows."""
    regions = example_regions(examples_dir, root)
    found: list[str] = []
    shown: set[tuple[str, str]] = set()
    for page in sorted(docs_dir.rglob("*.md")):
        for include in page_includes(page):
            where = f"{page.relative_to(root).as_posix()} ({include.path} {include.name})"
            region = regions.get((include.path, include.name))
            if region is None:
                found.append(f"{where}: no such marked region in the example DAGs")
                continue
            shown.add((include.path, include.name))
            if include.body != render_block(region):
                found.append(f"{where}: differs from the example; run `make docs`")
    for key in sorted(set(regions) - shown):
        found.append(f"{key[0]} [START {key[1]}]: no page in docs/ includes it")
    return found


def sync(docs_dir: Path = DOCS_DIR, examples_dir: Path = EXAMPLES_DIR, root: Path = REPO_ROOT) -> list[Path]:
    """Rewrite every include block from its region; return the pages that changed."""
    regions = example_regions(examples_dir, root)
    changed = []
    for page in sorted(docs_dir.rglob("*.md")):
        text = page.read_text()

        def rendered(match: re.Match[str]) -> str:
            region = regions.get((match["path"], match["name"]))
            if region is None:
                return match[0]  # reported by problems()
            return f"{match['open']}{render_block(region)}{match['close']}"

        new = _INCLUDE.sub(rendered, text)
        if new != text:
            page.write_text(new)
            changed.append(page)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rime_dev.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    args = parser.parse_args(argv)
    if not args.check:
        for page in sync():
            print(f"updated {page.relative_to(REPO_ROOT)}")
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
