"""Fuzzing: no request the engine's OpenAPI document allows, nor one it forbids, gets a 5xx; and no
mutation of a CSV or Parquet file breaks registration or a stress test.

Bounded so the suite stays quick: schemathesis sends a fixed number of generated requests per
operation (valid ones and negative ones, with a valid API key) to an engine of its own; the file
mutations are a fixed number of hypothesis examples. The counts are printed (``-s``) and quoted
in ``docs/security.md``.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningEngine, start_engine
from tests.engine.flow import create_project, labelled_frame, ok, register_dataset, wait_job, wait_valid

#: Generated requests per operation and generation mode (positive: what the schema allows).
EXAMPLES_PER_OPERATION = 15
#: Mutated data files registered and stress tested.
FILE_EXAMPLES = 8


@pytest.fixture(scope="module")
def fuzzed_engine(tmp_path_factory) -> Iterator[RunningEngine]:
    engine = start_engine(tmp_path_factory.mktemp("fuzzed"), extra_args=("--log-level", "warning"))
    yield engine
    engine.stop()


def test_no_generated_request_gets_a_5xx(fuzzed_engine: RunningEngine):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{fuzzed_engine.url}/openapi.json")
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    unsatisfiable: list[str] = []
    headers = {"rime-api-key": fuzzed_engine.api_key}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case) -> None:
                response = case.call(base_url=fuzzed_engine.url, headers=headers, timeout=60)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

            try:
                call()
            except Unsatisfiable:  # nothing to make negative: an operation without parameters
                unsatisfiable.append(f"{operation.label} ({mode.value})")
    total = sum(statuses.values())
    shown = dict(sorted(statuses.items()))
    print(f"\nschemathesis: {total} requests on {len(operations)} operations; statuses {shown}")
    assert not server_errors, server_errors[:10]
    assert total >= len(operations) * EXAMPLES_PER_OPERATION  # the bound was really used
    # The engine still answers normally.
    with fuzzed_engine.client() as api:
        assert ok(api.get("/v1/rime-info"))


# ------------------------------------------------------------------ mutated data files


def _mutations():
    from hypothesis import strategies as st

    cell = st.one_of(
        st.text(max_size=30),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(
            ["", "NA", "null", "true", '"', '""', "\\", "\x00", "0,1", "\n", "\r\n", "é", "\udc80"]
        ),
    )
    return st.fixed_dictionaries(
        {
            "format": st.sampled_from(["csv", "parquet"]),
            "rows": st.lists(st.tuples(cell, cell, st.sampled_from(["0", "1", "2", "", "x"])), max_size=40),
            "header": st.lists(st.text(max_size=12), min_size=0, max_size=4),
            "truncate": st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
            "flip": st.lists(st.integers(min_value=0, max_value=400), max_size=3),
        }
    )


def _write(example: dict, path: Path) -> Path:
    """A file from the example: a CSV or Parquet table, then truncated and with bytes flipped."""
    import pandas as pd

    header = [*example["header"], "label"][-3:]
    while len(header) < 3:
        header.insert(0, f"c{len(header)}")
    frame = pd.DataFrame([list(r) for r in example["rows"]], columns=["a", "b", "label"][:3])
    frame.columns = header
    if example["format"] == "csv":
        text = frame.to_csv(index=False)
        data = text.encode("utf-8", errors="surrogatepass")
    else:
        # Parquet stores UTF-8 only: lone surrogates become "?" (they stay in the CSV case).
        frame = frame.map(lambda v: v.encode("utf-8", errors="replace").decode())
        frame.columns = [c.encode("utf-8", errors="replace").decode() for c in frame.columns]
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer, index=False)
        except Exception:  # a header pandas cannot store (duplicates): store it plainly
            frame.columns = ["a", "b", "label"]
            frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    if example["truncate"] is not None:
        data = data[: example["truncate"]]
    mutable = bytearray(data)
    for position in example["flip"]:
        if position < len(mutable):
            mutable[position] ^= 0xFF
    path.write_bytes(bytes(mutable))
    return path


def test_mutated_files_are_valid_or_refused_with_a_reason(rime_engine, tmp_path_factory):
    from hypothesis import HealthCheck, Phase, given, settings

    outcomes: Counter[str] = Counter()
    root = tmp_path_factory.mktemp("mutations")
    good = root / "good.csv"
    labelled_frame(50, 3).to_csv(good, index=False)
    with rime_engine.client() as api:
        project = create_project(api, "fuzzed-files")
        model = ok(api.post(f"/v1/registry/{project}/model", json={"name": "fuzz-model"}))["modelId"]
        good_id = register_dataset(api, project, "fuzz-good", good)
        counter = iter(range(10_000))

        @given(example=_mutations())
        @settings(
            max_examples=FILE_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],  # no shrinking: a failure is reported as found
            suppress_health_check=list(HealthCheck),
        )
        def register_and_test(example: dict) -> None:
            n = next(counter)
            path = _write(example, root / f"m{n}.{example['format']}")
            dataset_id = register_dataset(api, project, f"fuzz-{n}", path)
            ds = wait_valid(api, dataset_id, timeout=120)
            assert ds["validityStatus"] in ("VALIDITY_STATUS_VALID", "VALIDITY_STATUS_INVALID"), ds
            assert ds["validityStatusMessage"]
            outcomes[ds["validityStatus"].rsplit("_", 1)[-1].lower()] += 1
            config = {
                "run_name": f"fuzz-{n}",
                "data_info": {"ref_dataset_id": good_id, "eval_dataset_id": dataset_id},
                "model_id": model,
                "categories": ["TEST_CATEGORY_TYPE_DATA_CLEANLINESS", "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"],
            }
            response = api.post(f"/v1/stress-tests/{project}", json={"testRunConfig": config})
            assert response.status_code < 500, response.text
            if response.status_code != 200:
                outcomes[f"start refused ({response.status_code})"] += 1
                return
            job = wait_job(api, response.json()["job"]["jobId"], timeout=300)
            assert job["status"] in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED"), job
            if job["status"] == "JOB_STATUS_FAILED":
                # A failed job says why in the user's terms, never as an internal error.
                assert "internal error" not in job["errorMsg"], job["errorMsg"]
            outcomes[f"stress test {job['status'].rsplit('_', 1)[-1].lower()}"] += 1

        started = time.monotonic()
        register_and_test()
    print(
        f"\nmutated files: {FILE_EXAMPLES} examples in {time.monotonic() - started:.0f} s; {dict(outcomes)}"
    )
    assert sum(v for k, v in outcomes.items() if not k.startswith(("stress", "start"))) >= FILE_EXAMPLES
