"""Train the walkthrough's three fraud models, track them in MLflow, write RIME model directories.

Each function takes and returns paths or ids, never DataFrames or models, so the DAG's
tasks pass only references through XCom. Heavy libraries are imported inside functions.
"""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rime_demo import (
    LABEL_COL,
    MLFLOW_EXPERIMENT,
    MODEL_TYPES,
    PRED_COL,
    REGISTERED_MODEL,
    TIMESTAMP_COL,
)
from rime_demo.settings import setting

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

#: Tags that identify the MLflow run of one model of one DAG run (a retry reuses it).
TAG_MODEL_TYPE = "model_type"
TAG_DAG_RUN = "airflow_dag_run_id"

_SKOPS_TRUSTED_TYPES = ["catboost.core.CatBoostClassifier", "numpy.dtype"]


def feature_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The categorical and the numeric feature columns (everything but label, pred, timestamp).

    :param frame: the training data.
    """
    from pandas.api.types import is_numeric_dtype

    candidates = [c for c in frame.columns if c not in (LABEL_COL, PRED_COL, TIMESTAMP_COL)]
    numeric = [c for c in candidates if is_numeric_dtype(frame[c])]
    categorical = [c for c in candidates if c not in numeric]
    return categorical, numeric


def build_pipeline(model_type: str, categorical: list[str], numeric: list[str]) -> Pipeline:
    """The walkthrough's pipeline for ``model_type``.

    CatBoost reads the categorical columns natively (missing values become ``"missing"``);
    SGD (``modified_huber`` loss, so it has probabilities) and logistic regression get
    imputation, one-hot encoding and scaling.

    :param model_type: one of :data:`rime_demo.MODEL_TYPES`.
    :param categorical: categorical feature columns.
    :param numeric: numeric feature columns.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    fill_missing = SimpleImputer(strategy="constant", fill_value="missing")
    if model_type == "catboost-classifier":
        from catboost import CatBoostClassifier

        prepare = ColumnTransformer(
            [("categorical", fill_missing, categorical), ("numeric", "passthrough", numeric)],
            verbose_feature_names_out=False,
        ).set_output(transform="pandas")
        iterations = int(setting("catboost_iterations") or 100)
        classifier: Any = CatBoostClassifier(
            iterations=iterations,
            depth=6,
            cat_features=categorical,
            random_seed=0,
            verbose=False,
            allow_writing_files=False,
            thread_count=2,
        )
        return Pipeline([("prepare", prepare), ("classifier", classifier)])
    if model_type == "sgd-classifier":
        classifier = SGDClassifier(loss="modified_huber", random_state=0)
    elif model_type == "logistic-regression-classifier":
        classifier = LogisticRegression(max_iter=1000)
    else:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, not {model_type!r}")
    prepare = ColumnTransformer(
        [
            (
                "categorical",
                make_pipeline(fill_missing, OneHotEncoder(handle_unknown="ignore")),
                categorical,
            ),
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ]
    )
    return Pipeline([("prepare", prepare), ("classifier", classifier)])


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, F1, precision, recall (at threshold 0.5) and AUC.

    :param labels: true labels (0/1).
    :param probabilities: predicted probabilities of label 1.
    """
    from sklearn import metrics

    predicted = (probabilities >= 0.5).astype(int)
    return {
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "f1": float(metrics.f1_score(labels, predicted, zero_division=0)),
        "precision": float(metrics.precision_score(labels, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(labels, predicted, zero_division=0)),
        "auc": float(metrics.roc_auc_score(labels, probabilities)),
    }


def train_model(
    model_type: str, train_path: str | Path, test_path: str | Path, out_dir: Path, *, dag_run_id: str
) -> dict[str, Any]:
    """Train one model, track it in an MLflow run, log and register it, pickle it.

    The run (experiment ``airflow_demo``) is tagged with the model type and the DAG run, so
    a retry of the task reuses it, and the model is registered as a version of
    ``rime-fraud-detection`` once per run.

    :param model_type: one of :data:`rime_demo.MODEL_TYPES`.
    :param train_path: the reference split (CSV).
    :param test_path: the evaluation split (CSV).
    :param out_dir: where to write ``pipeline.pkl`` and ``features.json``.
    :param dag_run_id: the DAG run's id (an MLflow run tag).
    :return: ``model_type``, ``mlflow_run_id``, ``model_uri``, ``model_version`` and
        ``pipeline_path``.
    """
    import mlflow
    import pandas as pd

    train = pd.read_csv(train_path)
    test = pd.read_csv(test_path)
    categorical, numeric = feature_columns(train)
    features = categorical + numeric
    pipeline = build_pipeline(model_type, categorical, numeric)
    pipeline.fit(train[features], train[LABEL_COL])

    out_dir.mkdir(parents=True, exist_ok=True)
    pipeline_path = out_dir / "pipeline.pkl"
    with pipeline_path.open("wb") as handle:
        pickle.dump(pipeline, handle)
    (out_dir / "features.json").write_text(
        json.dumps({"features": features, "categorical": categorical, "numeric": numeric})
    )

    client = mlflow.MlflowClient()
    experiment_id = _experiment_id(client)
    run_id = _find_run(client, experiment_id, model_type, dag_run_id)
    with mlflow.start_run(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=model_type,
        tags={TAG_MODEL_TYPE: model_type, TAG_DAG_RUN: dag_run_id},
    ) as run:
        mlflow.log_params(
            {"model_type": model_type, "n_train_rows": len(train), "n_test_rows": len(test)}
            | {"features": ",".join(features)}
        )
        for split, frame in (("train", train), ("test", test)):
            probabilities = pipeline.predict_proba(frame[features])[:, 1]
            scores = classification_metrics(frame[LABEL_COL].to_numpy(), probabilities)
            mlflow.log_metrics({f"{split}_{name}": value for name, value in scores.items()}, step=0)
        sample = train[features].head(20)
        with warnings.catch_warnings():
            # skops walks every loaded module while saving; Airflow's lazy deprecated
            # aliases then warn once per attribute (about a thousand lines of task log).
            warnings.simplefilter("ignore", FutureWarning)
            model_info = _log_model(mlflow, pipeline, sample, model_type)
        run_id = run.info.run_id
    version = _register_once(client, model_info.model_uri, run_id)
    return {
        "model_type": model_type,
        "mlflow_run_id": run_id,
        "model_uri": f"models:/{REGISTERED_MODEL}/{version}",
        "model_version": version,
        "pipeline_path": str(pipeline_path),
    }


def _log_model(mlflow: Any, pipeline: Pipeline, sample: pd.DataFrame, model_type: str) -> Any:
    from mlflow.models import infer_signature

    return mlflow.sklearn.log_model(
        pipeline,
        name="model",
        signature=infer_signature(sample, pipeline.predict_proba(sample)[:, 1]),
        pip_requirements=_pip_requirements(model_type),
        # skops (MLflow's safe default format) must be told which non-sklearn types to load.
        skops_trusted_types=_SKOPS_TRUSTED_TYPES,
    )


def _experiment_id(client: Any) -> str:
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(
        client.create_experiment(MLFLOW_EXPERIMENT, artifact_location=setting("mlflow_artifact_location"))
    )


def _find_run(client: Any, experiment_id: str, model_type: str, dag_run_id: str) -> str | None:
    escaped = dag_run_id.replace("'", "\\'")
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{TAG_MODEL_TYPE} = '{model_type}' and tags.{TAG_DAG_RUN} = '{escaped}'",
        max_results=1,
    )
    return str(runs[0].info.run_id) if runs else None


def _register_once(client: Any, model_uri: str, run_id: str) -> str:
    import mlflow

    existing = client.search_model_versions(f"name = '{REGISTERED_MODEL}' and run_id = '{run_id}'")
    if existing:
        return str(max(existing, key=lambda v: int(v.version)).version)
    return str(mlflow.register_model(model_uri, REGISTERED_MODEL).version)


def _pip_requirements(model_type: str) -> list[str]:
    # Given explicitly: inferring them imports and inspects the whole environment (slow).
    from importlib.metadata import version

    packages = ["scikit-learn", "pandas", "numpy"] + (
        ["catboost"] if model_type.startswith("catboost") else []
    )
    return [f"{name}=={version(name)}" for name in packages]


def write_model_dir(pipeline_path: str | Path, model_dir: Path) -> Path:
    """Write a RIME model directory: ``model.py`` (``predict_df``), ``model.pkl``, ``features.json``.

    :param pipeline_path: the pickled pipeline written by :func:`train_model`.
    :param model_dir: the directory to (re)create.
    """
    pipeline_path = Path(pipeline_path)
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    shutil.copyfile(Path(__file__).with_name("model_template.py"), model_dir / "model.py")
    shutil.copyfile(pipeline_path, model_dir / "model.pkl")
    shutil.copyfile(pipeline_path.with_name("features.json"), model_dir / "features.json")
    return model_dir


def add_predictions(data_path: str | Path, model_dir: str | Path, out_path: Path) -> Path:
    """Add the model's fraud probability as column ``pred`` and write the RIME data file.

    The prediction comes from the model directory's own ``predict_df``: the code RIME runs.
    The file keeps the features, ``label`` and ``pred``.

    :param data_path: a split written by :func:`rime_demo.data.fetch_fraud_data`.
    :param model_dir: a directory written by :func:`write_model_dir`.
    :param out_path: the CSV file to write.
    """
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location(
        f"rime_model_{abs(hash(str(model_dir)))}", Path(model_dir) / "model.py"
    )
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no model.py in {model_dir}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    frame = pd.read_csv(data_path)
    frame[PRED_COL] = module.predict_df(frame)
    frame = frame.drop(columns=[TIMESTAMP_COL], errors="ignore")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_path, index=False)
    return out_path
