"""Transformations and Attacks on models with planted weak spots, called in a real model process.

Ground truth: each brittle model is flagged (ALERT) on its weak feature only, by the test
meant to find it (a case-sensitive lookup also fails unseen, empty and null values of the
same feature; a score that swings with a fast term also moves when that feature is imputed);
the robust model raises no alert and no warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue.types import ModelCallFailed, Severity, StressInputs
from airflow_provider_rime.local.data import DataRoots
from airflow_provider_rime.local.models import (
    ModelCallError,
    ModelLimits,
    ModelProcess,
    resolve_model_source,
)
from airflow_provider_rime.rime_api.enums import TestCategory
from rime_dev.model_zoo import WEAKNESSES, frames, model_dir
from tests.catalogue.helpers import build_inputs, flagged, metric, run

# The model files of these tests lie in tmp dirs; the data-roots rule has its own tests.
ANYWHERE = DataRoots.of(["/"])

MODEL_CATEGORIES = (TestCategory.TRANSFORMATIONS, TestCategory.ADVERSARIAL)
LIMITS = ModelLimits(load_timeout_s=120, call_timeout_s=60)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return frames(seed=3, n=400)


def _inputs(data: tuple[pd.DataFrame, pd.DataFrame], process: ModelProcess) -> StressInputs:
    ref, ev = data

    def predict(frame: pd.DataFrame) -> np.ndarray:
        try:
            return process.predict(frame)
        except ModelCallError as exc:
            raise ModelCallFailed(str(exc)) from None

    inputs = build_inputs(ref, ev, pred=None, categories=MODEL_CATEGORIES, exclude=())
    inputs.model = predict
    inputs.model_frame = ev.drop(columns=["label"])
    return inputs


@pytest.fixture(scope="module", params=["robust", *WEAKNESSES])
def results(request, data, tmp_path_factory) -> Iterator[tuple[str, dict]]:
    weakness = request.param
    directory = model_dir(tmp_path_factory.mktemp("models"), weakness)
    with ModelProcess(resolve_model_source(str(directory), weakness, ANYWHERE), LIMITS) as process:
        batches = run(_inputs(data, process))
        calls = process.calls
    # Batched: one call for the clean sample, one per test (all features at once).
    assert calls <= 2 + len(batches), calls
    yield weakness, batches


def _alerts(batches: dict) -> set[tuple[str, str]]:
    return {(key, feature) for key, batch in batches.items() for feature in flagged(batch, Severity.ALERT)}


def test_every_model_test_ran(results):
    _, batches = results
    assert set(batches) == {
        "null_substitution",
        "numeric_outlier_substitution",
        "out_of_range_substitution",
        "unseen_categorical_substitution",
        "empty_string_substitution",
        "feature_type_change",
        "capitalization_change",
        "sensitivity",
        "multi_feat_sensitivity",
    }
    assert {c.features[0] for c in batches["null_substitution"].cases} == {
        "amount",
        "age",
        "hour",
        "income",
        "channel",
        "city",
    }
    assert {c.features[0] for c in batches["sensitivity"].cases} == {"amount", "age", "hour", "income"}


def test_planted_weakness_flagged_on_its_feature_only(results):
    weakness, batches = results
    alerts = _alerts(batches)
    if weakness == "robust":
        warnings = {(k, f) for k, b in batches.items() for f in flagged(b, Severity.WARNING)}
        assert warnings == set(), warnings
        return
    feature, test = WEAKNESSES[weakness]
    assert (test, feature) in alerts, alerts
    single = {(k, f) for k, f in alerts if k != "multi_feat_sensitivity"}
    assert {f for _, f in single} == {feature}, alerts
    if weakness == "nulls":
        assert alerts == {("null_substitution", "age")}
    if weakness == "high_frequency":
        assert ("multi_feat_sensitivity", "hour") in alerts
    if weakness == "case":  # the metrics say what moved, and where nothing did
        case = next(c for c in batches["capitalization_change"].cases if c.features == ["channel"])
        assert metric(case, "Average Prediction Change") > 0.3
        assert metric(case, "Prediction Flip Rate") > 0.9
        assert "'ONLINE'" in case.explanation or "'STORE'" in case.explanation
        city = next(c for c in batches["capitalization_change"].cases if c.features == ["city"])
        assert metric(city, "Average Prediction Change") == pytest.approx(0.0, abs=1e-12)


def test_model_raising_on_transformed_values_is_a_finding(data, tmp_path):
    """A model that cannot take strings in a numeric column fails that case, not the run."""
    directory = tmp_path / "strict"
    directory.mkdir()
    (directory / "model.py").write_text(
        "import numpy as np\n"
        "def predict_df(df):\n"
        "    x = df['amount'] * 0.001\n"
        "    return 1 / (1 + np.exp(-x.to_numpy(dtype=float)))\n"
    )
    with ModelProcess(resolve_model_source(str(directory), "strict", ANYWHERE), LIMITS) as process:
        batches = run(_inputs(data, process))
    change = batches["feature_type_change"]
    failed = {c.features[0]: c for c in change.cases if c.severity is Severity.ALERT}
    assert set(failed) == {"amount"}
    assert "model 'strict' raised TypeError" in failed["amount"].explanation
    assert "model.py:3 in predict_df" in failed["amount"].explanation


def test_predict_dict_models_are_called_row_by_row(data, tmp_path):
    directory = tmp_path / "dict"
    directory.mkdir()
    (directory / "model.py").write_text(
        "def predict_dict(row):\n    return [0.75, 0.25] if row['channel'] == 'online' else [0.5, 0.5]\n"
    )
    ref, _ = data
    with ModelProcess(resolve_model_source(str(directory), "dict", ANYWHERE), LIMITS) as process:
        probs = process.predict(ref.head(20))
    assert probs.tolist() == [0.25 if c == "online" else 0.5 for c in ref["channel"].head(20)]


def test_mlflow_pyfunc_model_by_path(data, tmp_path):
    """An MLflow sklearn model is called through predict_proba (probabilities, not classes)."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    ref, ev = data
    features = ["amount", "age", "hour", "income"]
    model = LogisticRegression(max_iter=500).fit(ref[features], ref["label"])
    path = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(model, str(path))
    source = resolve_model_source(str(path), "lr", ANYWHERE)
    assert source.kind == "mlflow"
    with ModelProcess(source, LIMITS) as process:
        probs = process.predict(ev[features].head(50))
    np.testing.assert_allclose(probs, model.predict_proba(ev[features].head(50))[:, 1], rtol=1e-9)


def test_mlflow_registered_model_by_uri(data, tmp_path):
    """``models:/name/version`` resolves against the tracking server the engine is given."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    ref, ev = data
    features = ["amount", "income"]
    model = LogisticRegression(max_iter=500).fit(ref[features], ref["label"])
    experiment = mlflow.create_experiment(f"model-uri-{tmp_path.name}", artifact_location=str(tmp_path / "a"))
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=f"rime-uri-{tmp_path.name}"
        )
    uri = f"models:/rime-uri-{tmp_path.name}/{info.registered_model_version}"
    source = resolve_model_source(uri, "registered", ANYWHERE)
    assert (source.kind, source.location) == ("mlflow", uri)
    with ModelProcess(source, LIMITS) as process:
        probs = process.predict(ev[features].head(20))
    np.testing.assert_allclose(probs, model.predict_proba(ev[features].head(20))[:, 1], rtol=1e-9)


def test_model_paths_that_hold_no_model_are_refused(tmp_path):
    from airflow_provider_rime.local.data import DataError

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no such model file"):
        resolve_model_source(str(tmp_path / "empty"), "x", ANYWHERE)
    (tmp_path / "empty" / "model.py").write_text("def score(df):\n    return df\n")
    with pytest.raises(
        DataError, match="defines none of predict_df, predict_dict, get_predict_df, get_predict_dict"
    ):
        resolve_model_source(str(tmp_path / "empty"), "x", ANYWHERE)


def test_model_process_sees_none_of_the_engines_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("RIME_LOCAL_API_KEYS", "secret-key")
    directory = tmp_path / "env"
    directory.mkdir()
    (directory / "model.py").write_text(
        "import os\nimport numpy as np\n"
        "def predict_df(df):\n"
        "    return np.full(len(df), 0.9 if 'RIME_LOCAL_API_KEYS' in os.environ else 0.1)\n"
    )
    with ModelProcess(resolve_model_source(str(directory), "env", ANYWHERE), LIMITS) as process:
        assert process.predict(pd.DataFrame({"a": [1, 2]})).tolist() == [0.1, 0.1]


def test_paths_in_messages_are_the_models_name(tmp_path: Path):
    directory = tmp_path / "boom"
    directory.mkdir()
    (directory / "model.py").write_text(
        "raise RuntimeError('no weights file')\ndef predict_df(df):\n    pass\n"
    )
    from airflow_provider_rime.local.models import ModelError

    with (
        pytest.raises(ModelError) as caught,
        ModelProcess(resolve_model_source(str(directory), "boom", ANYWHERE), LIMITS),
    ):
        pass
    assert str(caught.value).startswith("model 'boom' raised RuntimeError at model.py:1")
    assert "when loading it: no weights file" in str(caught.value)
