"""The catalogue's registrar: a test's description is its docstring's first paragraph."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from airflow_provider_rime.local.catalogue import CATALOGUE, Registrar
from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.types import Findings, StressInputs
from airflow_provider_rime.rime_api.enums import TestCategory

register = Registrar(TestCategory.DATA_CLEANLINESS)


@pytest.fixture
def key() -> Iterator[str]:
    """A key no real test has, taken out of the catalogue again afterwards."""
    name = "registrar_probe"
    assert name not in CATALOGUE
    yield name
    CATALOGUE.pop(name, None)


def test_the_description_is_the_docstrings_first_paragraph_on_one_line(key: str) -> None:
    @register(key, "Registrar Probe", TestParams, needs_labels=True)
    def probe(inputs: StressInputs, params: TestParams) -> Findings | None:
        """What the probe
        checks, said on two lines.

        How it does so (not part of the description)."""
        return None

    spec = CATALOGUE[key]
    assert spec.description == "What the probe checks, said on two lines."
    assert (spec.name, spec.category, spec.params, spec.func) == (
        "Registrar Probe",
        TestCategory.DATA_CLEANLINESS,
        TestParams,
        probe,
    )
    assert (spec.needs_labels, spec.needs_preds, spec.needs_model, spec.enabled_by_default) == (
        True,
        False,
        False,
        True,
    )


def test_a_given_description_wins_and_a_test_without_one_is_refused(key: str) -> None:
    def undocumented(inputs: StressInputs, params: TestParams) -> Findings | None:
        return None

    with pytest.raises(ValueError, match=f"test '{key}' has no description: give its function a docstring"):
        register(key, "Registrar Probe", TestParams)(undocumented)
    assert key not in CATALOGUE
    register(key, "Registrar Probe", TestParams, description="Said here.")(undocumented)
    assert CATALOGUE[key].description == "Said here."
    with pytest.raises(ValueError, match=f"test key '{key}' is registered twice"):
        register(key, "Registrar Probe", TestParams, description="Again.")(undocumented)


def test_every_catalogue_test_has_a_one_line_description() -> None:
    for spec in CATALOGUE.values():
        text = spec.describe(spec.params())
        assert text and "\n" not in text and "  " not in text, spec.key


def test_without_docstrings_the_catalogue_still_loads() -> None:
    """Python's -OO drops docstrings: each test's name stands in for its description."""
    code = (
        "from airflow_provider_rime.local.catalogue import CATALOGUE;"
        "spec = CATALOGUE['null_proportion'];"
        "print(len(CATALOGUE), spec.describe(spec.params()))"
    )
    out = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True, check=True)
    count, description = out.stdout.strip().split(" ", 1)
    assert int(count) == len(CATALOGUE)
    assert description == f"{CATALOGUE['null_proportion'].name}."
