"""The how-to pages show the example DAGs' marked code as it is (``make docs`` copies it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rime_dev import docs


def test_every_marked_example_is_shown_unchanged_in_the_docs() -> None:
    assert docs.problems() == []


def test_the_example_dags_have_marked_regions() -> None:
    regions = docs.example_regions()

    assert ("example_dags/rime_stress_testing.py", "howto_operator_rime_stress_test") in regions
    assert all(region.code.strip() for region in regions.values())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


EXAMPLE = """\
with DAG("d") as dag:
    # [START howto_thing]
    thing = Thing(
        task_id="thing",
    )
    # [END howto_thing]
"""
PAGE = """\
# Thing

<!-- example: example_dags/d.py howto_thing -->
```python
{code}```
<!-- /example -->
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path / "example_dags" / "d.py", EXAMPLE)
    return tmp_path


def check(repo: Path) -> list[str]:
    return docs.problems(repo / "docs", repo / "example_dags", repo)


def test_a_page_with_the_region_as_it_is_passes(repo: Path) -> None:
    write(repo / "docs" / "thing.md", PAGE.format(code='thing = Thing(\n    task_id="thing",\n)\n'))

    assert check(repo) == []


def test_a_page_that_drifted_from_the_example_fails_and_sync_repairs_it(repo: Path) -> None:
    page = write(repo / "docs" / "thing.md", PAGE.format(code='thing = Thing(task_id="old")\n'))

    assert check(repo) == [
        "docs/thing.md (example_dags/d.py howto_thing): differs from the example; run `make docs`"
    ]
    assert docs.sync(repo / "docs", repo / "example_dags", repo) == [page]
    assert check(repo) == []
    assert 'task_id="thing",' in page.read_text()


def test_a_region_no_page_shows_fails(repo: Path) -> None:
    write(repo / "docs" / "other.md", "# Nothing included\n")

    assert check(repo) == ["example_dags/d.py [START howto_thing]: no page in docs/ includes it"]


def test_an_unknown_region_fails(repo: Path) -> None:
    write(repo / "docs" / "thing.md", PAGE.format(code='thing = Thing(\n    task_id="thing",\n)\n'))
    write(repo / "docs" / "typo.md", PAGE.replace("howto_thing", "howto_thign").format(code="x\n"))

    assert check(repo) == [
        "docs/typo.md (example_dags/d.py howto_thign): no such marked region in the example DAGs"
    ]


def test_a_start_without_end_is_an_error(repo: Path) -> None:
    write(repo / "example_dags" / "d.py", EXAMPLE.replace("    # [END howto_thing]\n", ""))

    with pytest.raises(ValueError, match=r"\[START howto_thing\] without END"):
        check(repo)
