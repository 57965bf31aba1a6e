"""The real rime-sdk 2.13.2 (installed with --no-deps) against the engine: the flow of issue 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tests.engine.flow import labelled_frame, sdk_dataset, sdk_upload

rime_sdk = pytest.importorskip("rime_sdk", reason="rime-sdk is installed by `make install` with --no-deps")


ALL_CATEGORIES = [
    "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
    "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
    "TEST_CATEGORY_TYPE_DRIFT",
    "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS",
    "TEST_CATEGORY_TYPE_DATA_CLEANLINESS",
]


def _run_flow(client, tmp_path: Path, ref: pd.DataFrame, ev: pd.DataFrame, name: str, **config_extra):
    project = client.create_project(name, "sdk compatibility", "MODEL_TASK_BINARY_CLASSIFICATION")
    paths = sdk_upload(client, tmp_path, {"ref": ref, "eval": ev}, prefix=f"{name}-")
    ref_id = sdk_dataset(project, "ref", paths["ref"], label_col="label")
    eval_id = sdk_dataset(project, "eval", paths["eval"], label_col="label")
    model_id, _ = project.register_and_validate_model("predictions-only model")
    project.register_and_validate_predictions_from_file(
        ref_id, model_id, paths["ref"], pred_params={"pred_col": "pred"}
    )
    project.register_and_validate_predictions_from_file(
        eval_id, model_id, paths["eval"], pred_params={"pred_col": "pred"}
    )
    config = {
        "run_name": f"{name} run",
        "data_info": {"ref_dataset_id": ref_id, "eval_dataset_id": eval_id},
        "model_id": model_id,
        **config_extra,
    }
    job = client.start_stress_test(config, project.project_id)
    status = job.get_status(wait_until_finish=True, poll_rate_sec=0.5, verbose=True)
    return project, job, status


def test_sdk_stress_test_flow(sdk_client, rime_engine, tmp_path):
    ref = labelled_frame(3000, 1)
    ev = labelled_frame(3000, 2, shift=0.5)
    project, job, status = _run_flow(sdk_client, tmp_path, ref, ev, "sdk-flow", categories=ALL_CATEGORIES)
    assert status["status"] == "JOB_STATUS_SUCCEEDED", status

    test_run = job.get_test_run()
    result = test_run.get_result_df()
    assert len(result) == 1
    row = result.iloc[0]
    assert row["test_run_id"] == test_run.test_run_id
    assert row["metrics.model_perf.AUC.eval_metric"] == pytest.approx(
        roc_auc_score(ev.label, ev.pred), abs=1e-9
    )
    assert row["metrics.model_perf.AUC.ref_metric"] == pytest.approx(
        roc_auc_score(ref.label, ref.pred), abs=1e-9
    )
    total = row["metrics.summary_counts.total"]
    assert total > 0
    assert total == sum(row[f"metrics.summary_counts.{k}"] for k in ("_pass", "warning", "fail", "skip"))

    cases = test_run.get_test_cases_df(show_test_case_metrics=True)
    assert len(cases) == total  # all pages were read
    assert set(cases["status"]) <= {
        "TEST_CASE_STATUS_PASS_UNSPECIFIED",
        "TEST_CASE_STATUS_WARNING",
        "TEST_CASE_STATUS_FAIL",
        "TEST_CASE_STATUS_SKIP",
    }
    assert set(cases["test_category"]) == set(ALL_CATEGORIES)
    categories = test_run.get_category_results_df(show_category_results_metrics=True)
    assert set(categories["test_category"]) == set(ALL_CATEGORIES)
    assert {"num_none_severity", "num_low_severity", "num_high_severity"} <= set(categories.columns)

    batches = list(test_run.get_test_batches())
    assert batches
    summaries = [b.summary(show_batch_metrics=True) for b in batches]
    auc = next(s for s in summaries if s["test_type"] == "auc_degradation")
    assert auc["summary_counts.total"] == 1
    batch_cases = test_run.get_test_batch("auc_degradation").get_test_cases_df()
    assert len(batch_cases) == 1

    link = project.get_link()
    assert link.startswith(rime_engine.url)
    assert test_run.get_link().startswith(f"{rime_engine.url}/projects/{project.project_id}/test-runs/")
    assert project.project_id in {p.project_id for p in sdk_client.list_projects()}

    sdk_client.delete_project(project.project_id, force=True)
    assert project.project_id not in {p.project_id for p in sdk_client.list_projects()}


def test_sdk_on_walkthrough_data(sdk_client, fraud_dir, tmp_path):
    ref = pd.read_csv(fraud_dir / "fraud_ref.csv").rename(columns={"preds": "pred"})
    ev = pd.read_csv(fraud_dir / "fraud_eval.csv").rename(columns={"preds": "pred"})
    _project, job, status = _run_flow(sdk_client, tmp_path, ref, ev, "walkthrough", categories=ALL_CATEGORIES)
    assert status["status"] == "JOB_STATUS_SUCCEEDED", status
    test_run = job.get_test_run()
    row = test_run.get_result_df().iloc[0]
    assert round(row["metrics.model_perf.AUC.ref_metric"], 3) == 0.654
    assert round(row["metrics.model_perf.AUC.eval_metric"], 3) == 0.585
    assert test_run.get_test_batch("auc_degradation").summary()["severity"] != "SEVERITY_PASS"

    # Every category's cases, batches and category results read through the real client.
    cases = test_run.get_test_cases_df(show_test_case_metrics=True)
    assert set(cases["test_category"]) == set(ALL_CATEGORIES)
    assert len(cases) == row["metrics.summary_counts.total"]
    unseen = cases[
        (cases["test_batch_type"] == "unseen_categorical")
        & cases["features"].map(lambda f: f == ["browser_version"])
    ]
    assert len(unseen) == 1 and unseen.iloc[0]["severity"] != "SEVERITY_PASS"
    categories = test_run.get_category_results_df(show_category_results_metrics=True)
    assert set(categories["test_category"]) == set(ALL_CATEGORIES)
    summaries = [batch.summary(show_batch_metrics=True) for batch in test_run.get_test_batches()]
    assert {s["test_category"] for s in summaries} == set(ALL_CATEGORIES)
    drift = test_run.get_test_batch("categorical_label_drift")
    assert drift.summary()["severity"] != "SEVERITY_PASS"
    assert len(drift.get_test_cases_df()) == 1


def test_sdk_reads_transformations_and_attacks(sdk_client, tmp_path):
    """A model directory uploaded and registered through rime-sdk; RIME's default categories run
    (Model and Subset Performance, Transformations, Attacks) and the client reads them all."""
    from rime_dev.model_zoo import frames, model_dir, rules_predict

    ref, ev = frames(seed=11, n=300)
    predict = rules_predict("robust")
    ref["pred"], ev["pred"] = predict(ref), predict(ev)
    directory = model_dir(tmp_path, "case")
    uploaded = sdk_client.upload_directory(str(directory))
    project = sdk_client.create_project("sdk-model-tests", "model calls", "MODEL_TASK_BINARY_CLASSIFICATION")
    paths = {}
    for split, frame in (("ref", ref), ("eval", ev)):
        path = tmp_path / f"{split}.csv"
        frame.to_csv(path, index=False)
        paths[split] = sdk_client.upload_file(str(path))
    ids = {
        split: project.register_and_validate_dataset_from_file(
            split, paths[split], data_params={"label_col": "label"}
        )[0]
        for split in ("ref", "eval")
    }
    model_id, validation = project.register_and_validate_model(
        "case-sensitive", model_config={"model_path": {"path": f"{uploaded}/model.py"}}
    )
    assert validation is not None  # a model with a file is validated by a job (it loads the model)
    for split in ("ref", "eval"):
        project.register_and_validate_predictions_from_file(
            ids[split], model_id, paths[split], pred_params={"pred_col": "pred"}
        )
    config = {
        "run_name": "model tests",
        "data_info": {"ref_dataset_id": ids["ref"], "eval_dataset_id": ids["eval"]},
        "model_id": model_id,
    }
    job = sdk_client.start_stress_test(config, project.project_id)
    status = job.get_status(wait_until_finish=True, poll_rate_sec=0.5)
    assert status["status"] == "JOB_STATUS_SUCCEEDED", status
    defaults = {
        "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
        "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
        "TEST_CATEGORY_TYPE_TRANSFORMATIONS",
        "TEST_CATEGORY_TYPE_ADVERSARIAL",
    }
    test_run = job.get_test_run()
    cases = test_run.get_test_cases_df(show_test_case_metrics=True)
    assert set(cases["test_category"]) == defaults
    failing = cases[
        (cases["test_batch_type"] == "capitalization_change") & (cases["severity"] == "SEVERITY_ALERT")
    ]
    assert failing["features"].tolist() == [["channel"]]
    categories = test_run.get_category_results_df(show_category_results_metrics=True)
    assert set(categories["test_category"]) == defaults
    summaries = {b.summary(show_batch_metrics=True)["test_type"]: b for b in test_run.get_test_batches()}
    assert {"null_substitution", "capitalization_change", "sensitivity", "multi_feat_sensitivity"} <= set(
        summaries
    )
    batch = test_run.get_test_batch("capitalization_change")
    assert batch.summary()["severity"] == "SEVERITY_ALERT"
    assert len(batch.get_test_cases_df()) == 2  # channel and city
    assert test_run.get_test_batch("sensitivity").summary()["severity"] == "SEVERITY_PASS"
