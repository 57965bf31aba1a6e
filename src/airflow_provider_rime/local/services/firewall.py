"""Continuous tests (RIME's "firewall"): create, read, update, delete, start on new data.

Every request is checked completely before anything is stored: the project, model and
datasets it names, the model's predictions, the evaluation dataset's ``timestampCol``; what
only the data can tell (a timestamp that does not parse) fails the job with the reason.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_provider_rime.local import render
from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.errors import Conflict, InvalidInput, NotFound
from airflow_provider_rime.local.jobs.monitoring import monitor_specs, prune_monitors, upsert_monitors
from airflow_provider_rime.local.jobs.queue import ContinuousTestPayload, enqueue
from airflow_provider_rime.local.store.queries import aware
from airflow_provider_rime.local.store.schema import (
    Dataset,
    Firewall,
    Job,
    JobKind,
    Model,
    Prediction,
    Project,
    TestBatchResult,
    TestRun,
)
from airflow_provider_rime.rime_api.documents import DataInfo
from airflow_provider_rime.rime_api.enums import (
    ACTIVE_JOB_STATUSES,
    JobType,
    Severity,
    TestTaskStatus,
    ValidityStatus,
)
from airflow_provider_rime.rime_api.firewall import (
    UPDATABLE_FIREWALL_FIELDS,
    CreateFirewallRequest,
    StartContinuousTestRequest,
    UpdateFirewallRequest,
)
from airflow_provider_rime.rime_api.naming import parse_duration, utc_now


def get_firewall(s: Session, firewall_id: str) -> Firewall:
    """The continuous test, or ``NotFound`` saying how to make one."""
    fw = s.get(Firewall, firewall_id)
    if fw is None:
        raise NotFound(
            f"firewall (continuous test) {firewall_id!r} does not exist; a project gets one with "
            f"POST /v1/firewall (rime-sdk: Project.create_ct)"
        )
    return fw


def firewall_ids(s: Session, project_ids: list[str]) -> dict[str, list[str]]:
    """Each project's continuous test ids (``firewallIds``; at most one per project)."""
    out: dict[str, list[str]] = {p: [] for p in project_ids}
    if project_ids:
        for fw_id, project_id in s.execute(
            select(Firewall.id, Firewall.project_id).where(Firewall.project_id.in_(project_ids))
        ):
            out[project_id].append(fw_id)
    return out


def _model(s: Session, project_id: str, model_id: str, where: str) -> Model:
    model = s.get(Model, model_id)
    if model is None or model.project_id != project_id:
        raise NotFound(f"{where}: model {model_id!r} is not registered in this project")
    if model.validity_status == ValidityStatus.INVALID:
        raise InvalidInput(f"{where}: model {model.name!r} is invalid: {model.validity_message}")
    return model


def _dataset(s: Session, project_id: str, dataset_id: str, role: str, where: str) -> Dataset:
    ds = s.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound(f"{where}: the {role} dataset {dataset_id!r} is not registered")
    if ds.project_id != project_id:
        raise InvalidInput(
            f"{where}: the {role} dataset {ds.name!r} belongs to another project; register the data in "
            f"this project (datasets are per project)"
        )
    if ds.validity_status == ValidityStatus.INVALID:
        raise InvalidInput(f"{where}: the {role} dataset {ds.name!r} is invalid: {ds.validity_message}")
    return ds


def _needs_predictions(s: Session, model: Model, ds: Dataset, role: str, where: str) -> None:
    """A predictions-only model (no model file) needs registered predictions on the dataset."""
    if model.model_info:
        return
    if s.get(Prediction, (model.id, ds.id)) is None:
        raise InvalidInput(
            f"{where}: model {model.name!r} is predictions-only (registered without a model file) and has no "
            f"predictions on the {role} dataset {ds.name!r}; register them first "
            f"(POST /v1/registry/{{projectId}}/model/{model.id}/dataset/{ds.id}/prediction)"
        )


def _has_labels(s: Session, dataset_id: str) -> bool:
    ds = s.get(Dataset, dataset_id)
    if ds is None:
        return False
    info = DataInfo.model_validate(ds.data_info)
    return bool(info.data_params and info.data_params.label_col)


def sync_monitors(s: Session, fw: Firewall, project: Project) -> None:
    """Keep the firewall's default monitors to its project's continuous-test categories.

    Monitors of categories no longer chosen go, with their values and events; those of the
    chosen categories that the reference data can feed (labels, predictions) are created,
    with no values and no thresholds until a bin is tested. Not committed here.

    :raises Conflict: A job is running on the firewall (it writes the monitors it started with).
    """
    running = _active_job(s, fw.id)
    if running is not None:
        raise Conflict(
            f"a continuous-test job ({running.id}) is running on this project's firewall with the current "
            f"categories; wait for it or cancel it (POST /v1/jobs/cancel/{running.id}), then change them"
        )
    categories = render.continuous_test_run_categories(render.project_continuous_test_categories(project))
    prune_monitors(s, fw.id, categories)
    # The model has predictions on the reference data (create and update check it).
    upsert_monitors(s, fw.id, monitor_specs(categories, has_labels=_has_labels(s, fw.ref_data_id)), None)


def create_firewall(s: Session, request: CreateFirewallRequest) -> Firewall:
    """A project's continuous test with its default monitors; a second one in a project is a ``Conflict``."""
    project_id = request.project_id.uuid
    project = s.get(Project, project_id)
    if project is None:
        raise NotFound.named("project", project_id)
    existing = s.scalar(select(Firewall.id).where(Firewall.project_id == project_id))
    if existing:
        raise Conflict(
            f"project {project.name!r} already has a continuous test (firewall {existing}); a project has "
            f"at most one: update it (PUT /v1/firewall/{existing}) or delete it first"
        )
    model = _model(s, project_id, request.model_id.uuid, "modelId")
    ref = _dataset(s, project_id, request.ref_data_id, "reference", "refDataId")
    _needs_predictions(s, model, ref, "reference", "modelId")
    fw = Firewall(
        id=str(uuid.uuid4()),
        project_id=project_id,
        model_id=model.id,
        ref_data_id=ref.id,
        bin_size_seconds=int(request.bin_timedelta.total_seconds()),
        scheduled_ct_info=request.scheduled_ct_parameters,
        created_at=utc_now(),
    )
    s.add(fw)
    try:
        s.flush()  # the firewall row before its monitors
        sync_monitors(s, fw, project)
        s.commit()
    except IntegrityError:  # another request created one meanwhile
        s.rollback()
        raise Conflict(f"project {project.name!r} already has a continuous test") from None
    return fw


def _active_job(s: Session, firewall_id: str) -> Job | None:
    jobs = s.scalars(
        select(Job).where(
            Job.kind == JobKind.CONTINUOUS_TEST.value,
            Job.status.in_([st.value for st in ACTIVE_JOB_STATUSES]),
        )
    )
    return next((j for j in jobs if (j.payload or {}).get("firewall_id") == firewall_id), None)


def checked_mask(paths: list[str], updatable: tuple[str, ...]) -> list[str]:
    """An update's field-mask paths, refused when empty or naming a field that cannot be updated."""
    if not paths:
        raise InvalidInput(f"mask is empty; name the fields to update: {', '.join(updatable)}")
    unknown = [p for p in paths if p.split(".")[0] not in updatable]
    if unknown:
        raise InvalidInput(
            f"mask: {', '.join(unknown)} cannot be updated; updatable fields: {', '.join(updatable)}"
        )
    return paths


def update_firewall(s: Session, fw: Firewall, request: UpdateFirewallRequest) -> Firewall:
    """Apply the fields the mask names; unknown mask paths are refused, nothing is half-applied."""
    paths = checked_mask(request.mask_paths(), UPDATABLE_FIREWALL_FIELDS)
    body = request.firewall
    if request.firewall_id is not None and request.firewall_id.uuid != fw.id:
        raise InvalidInput(f"firewallId {request.firewall_id.uuid!r} does not match the path's {fw.id!r}")
    changes: dict[str, Any] = {}
    model_id = fw.model_id
    if "modelId" in paths:
        if body.model_id is None:
            raise InvalidInput("firewall.modelId is required when the mask names modelId")
        model_id = _model(s, fw.project_id, body.model_id.uuid, "firewall.modelId").id
        changes["model_id"] = model_id
    ref_id = fw.ref_data_id
    if "refDataId" in paths:
        if body.ref_data_id is None:
            raise InvalidInput("firewall.refDataId is required when the mask names refDataId")
        ref_id = _dataset(s, fw.project_id, body.ref_data_id, "reference", "firewall.refDataId").id
        changes["ref_data_id"] = ref_id
    if "modelId" in paths or "refDataId" in paths:
        model = s.get_one(Model, model_id)
        where = "firewall.refDataId" if "refDataId" in paths else "firewall.modelId"
        _needs_predictions(s, model, s.get_one(Dataset, ref_id), "reference", where)
    if "binSize" in paths:
        if body.bin_size is None:
            raise InvalidInput("firewall.binSize is required when the mask names binSize")
        seconds = int(parse_duration(body.bin_size).total_seconds())
        has_bins = s.scalar(select(func.count()).select_from(TestRun).where(TestRun.firewall_id == fw.id))
        if seconds != fw.bin_size_seconds and has_bins:
            raise InvalidInput(
                "firewall.binSize cannot change once the continuous test has bins (their results would no "
                "longer line up); delete it and create a new one with the new bin size"
            )
        changes["bin_size_seconds"] = seconds
    scheduled = [p for p in paths if p.split(".")[0] == "scheduledCtInfo"]
    if scheduled:
        info = dict(fw.scheduled_ct_info or {})
        sent = body.scheduled_ct_info or {}
        for path in scheduled:
            field = path.split(".", 1)[1] if "." in path else None
            if field is None:
                info = dict(sent)
            elif field in sent:
                info[field] = sent[field]
            else:
                info.pop(field, None)
        changes["scheduled_ct_info"] = info or None
    for key, value in changes.items():
        setattr(fw, key, value)
    s.commit()
    return fw


def delete_firewall(s: Session, fw: Firewall) -> None:
    """Delete the continuous test with its monitors and events; its bins' test runs stay in the project."""
    running = _active_job(s, fw.id)
    if running is not None:
        raise Conflict(
            f"a continuous-test job ({running.id}) is running on this firewall; cancel it "
            f"(POST /v1/jobs/cancel/{running.id}) or wait for it to finish, then delete"
        )
    s.delete(fw)
    s.commit()


def start_continuous_test(
    engine: EngineContext, s: Session, fw: Firewall, request: StartContinuousTestRequest
) -> Job:
    """Queue a continuous test of the evaluation dataset, bin by bin."""
    config = request.test_run_incremental_config
    where = "testRunIncrementalConfig.evalDatasetId"
    ev = _dataset(s, fw.project_id, config.eval_dataset_id, "evaluation", where)
    info = DataInfo.model_validate(ev.data_info)
    timestamp_col = info.data_params.timestamp_col if info.data_params else None
    if not timestamp_col:
        raise InvalidInput(
            f"{where}: the evaluation dataset {ev.name!r} was registered without data_params.timestamp_col; "
            f"a continuous test splits its rows into time bins by that column: register it with timestamp_col"
        )
    model = _model(s, fw.project_id, fw.model_id, "the firewall's modelId")
    ref = _dataset(s, fw.project_id, fw.ref_data_id, "reference", "the firewall's refDataId")
    _needs_predictions(s, model, ref, "reference", where)
    _needs_predictions(s, model, ev, "evaluation", where)
    running = _active_job(s, fw.id)
    if running is not None:
        raise Conflict(
            f"a continuous-test job ({running.id}) is already running on this firewall; wait for it or "
            f"cancel it: two jobs would write the same bins"
        )
    project = s.get_one(Project, fw.project_id)
    run_time = config.run_time_info
    payload = ContinuousTestPayload(
        firewall_id=fw.id,
        eval_dataset_id=ev.id,
        ref_dataset_id=ref.id,
        model_id=model.id,
        bin_size_seconds=fw.bin_size_seconds,
        override_existing_bins=request.override_existing_bins,
        categories=render.continuous_test_run_categories(render.project_continuous_test_categories(project)),
        random_seed=(run_time.random_seed if run_time is not None else None) or 0,
    )
    job = enqueue(s, JobKind.CONTINUOUS_TEST, fw.project_id, payload, job_type=JobType.FIREWALL_BATCH_TEST)
    s.commit()
    engine.runner.wake()
    return job


def bin_runs_of_job(s: Session, job: Job) -> list[TestRun]:
    """A continuous-test job's test runs, one per bin, oldest bin first."""
    if job.kind != JobKind.CONTINUOUS_TEST:
        return []
    stmt = select(TestRun).where(TestRun.job_id == job.id).order_by(TestRun.bin_start, TestRun.id)
    return list(s.scalars(stmt))


def render_firewall(s: Session, fw: Firewall) -> dict[str, Any]:
    """``FirewallFirewall`` with the latest bin and its categories' severities."""
    latest = s.scalars(
        select(TestRun)
        .where(TestRun.firewall_id == fw.id, TestRun.status == TestTaskStatus.COMPLETED.value)
        .order_by(TestRun.bin_start.desc())
        .limit(1)
    ).first()
    latest_bin = None
    severities: list[tuple[str, str]] = []
    if latest is not None and latest.bin_start is not None and latest.bin_end is not None:
        latest_bin = (aware(latest.bin_start), aware(latest.bin_end))
        worst: dict[str, int] = {}
        for category, severity in s.execute(
            select(TestBatchResult.category, TestBatchResult.severity).where(
                TestBatchResult.test_run_id == latest.id
            )
        ):
            worst[category] = max(worst.get(category, 0), Severity(severity).rank)
        severities = [(c, Severity.from_rank(r).value) for c, r in worst.items()]
    return render.firewall(fw, latest_bin, severities)


def firewall_of_project(s: Session, project_id: str) -> Firewall | None:
    """The project's continuous test, if it has one."""
    return s.scalars(select(Firewall).where(Firewall.project_id == project_id)).first()
