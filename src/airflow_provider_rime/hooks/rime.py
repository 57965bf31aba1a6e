"""RimeHook: RIME's REST API as typed methods, on top of :class:`~.base.RimeBaseHook`'s transport.

Every method builds its request from :mod:`airflow_provider_rime.rime_api` (the enum strings
and the pydantic documents of RIME's API, shared with the local engine) and sends it through
the base hook, which owns retries, error mapping, paging and create-once. No method here
touches httpx.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeJobError,
    RimeNotFoundError,
    RimeRegistryValidationError,
)
from airflow_provider_rime.hooks import DEFAULT_CONN_ID
from airflow_provider_rime.hooks.base import RimeBaseHook
from airflow_provider_rime.rime_api.documents import (
    ConnectionInfo,
    CreateProjectRequest,
    DataFile,
    DataInfo,
    DataParams,
    DatasetUploadUrlRequest,
    Job,
    ModelInfo,
    ModelPath,
    ModelUploadUrlRequest,
    PredInfo,
    PredParams,
    ProjectFields,
    RegisterDatasetRequest,
    RegisterModelRequest,
    RegisterPredictionsRequest,
    RimeUUID,
    StartStressTestRequest,
    TestRunConfig,
    UpdateProjectRequest,
    UploadUrls,
    ValidateConfigRequest,
)
from airflow_provider_rime.rime_api.enums import (
    RISK_CATEGORY_SDK_NAMES,
    ConfigType,
    EventType,
    JobStatus,
    JobType,
    JobView,
    ModelTask,
    MonitorType,
    RiskCategory,
    Severity,
    SortOrder,
    TestCategory,
    TestType,
    ValidityStatus,
)
from airflow_provider_rime.rime_api.firewall import (
    ContinuousTestJobData,
    CreateFirewallRequest,
    DetectionEvent,
    Firewall,
    FirewallFields,
    IncrementalRunTimeInfo,
    Monitor,
    MonitorResult,
    StartContinuousTestRequest,
    TestRunIncrementalConfig,
    UpdateFirewallRequest,
    check_bin_size,
)
from airflow_provider_rime.rime_api.naming import (
    format_duration,
    normalize_web_url,
    parse_timestamp,
    to_camel,
    uuid_of,
)
from airflow_provider_rime.rime_api.paging import SDK_PAGE_SIZE
from airflow_provider_rime.rime_api.results import TestRunSummary
from airflow_provider_rime.utils.data_sources import DataSource, DataSourceKind
from airflow_provider_rime.utils.files import directory_digest, directory_files

if TYPE_CHECKING:
    import pandas as pd

_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
#: The job statuses a task retry may re-attach to, in the order rime-sdk lists them.
_ACTIVE_JOB_STATUSES = tuple(status for status in JobStatus if status.is_active)
#: The first wait of :meth:`RimeHook.wait_for_job` (doubling up to its ``poll_interval``).
FIRST_POLL_SECONDS = 0.5


def looks_like_id(value: str) -> bool:
    """Whether ``value`` has the shape of a RIME object id (a UUID, with or without dashes)."""
    return bool(_ID_PATTERN.match(value.strip()))


def _segment(value: str) -> str:
    """Quote one path segment (ids go into paths raw, as rime-sdk sends them, but safely)."""
    return quote(str(value), safe="")


def _data_file_path(dataset: Mapping[str, Any]) -> str | None:
    """Where RIME reads a registered dataset from (its ``dataFile`` path), if it is a file."""
    connection = (dataset.get("dataInfo") or {}).get("connectionInfo") or {}
    return (connection.get("dataFile") or {}).get("path")


class RegisteredDataset(NamedTuple):
    """A dataset registered (or found) by :meth:`RimeHook.register_dataset_once`."""

    dataset_id: str
    #: The file RIME reads it from; predictions in the same file are registered from there.
    path: str | None


class RimeHook(RimeBaseHook):
    """
    Talk to a RIME cluster or the local engine through its REST API.

    The methods follow rime-sdk 2.13.2's calls; creating methods find an existing object
    first and never make a duplicate when retried. The connection (type ``rime``: cluster
    URL as host, API key as password), the retries and the constructor's arguments are
    :class:`~airflow_provider_rime.hooks.base.RimeBaseHook`'s.
    """

    # The connection type Airflow registers names this class (get_provider_info).
    conn_type = "rime"
    default_conn_name = DEFAULT_CONN_ID
    hook_name = "RIME (Robust Intelligence)"

    # ------------------------------------------------------------------ cluster

    def get_rime_info(self) -> dict[str, Any]:
        """``GET /v1/rime-info``: cluster version, customer name, licence dates."""
        return self.request("GET", "/v1/rime-info")

    async def aget_rime_info(self) -> dict[str, Any]:
        """The asynchronous :meth:`get_rime_info`."""
        return await self.arequest("GET", "/v1/rime-info")

    def test_connection(self) -> tuple[bool, str]:
        """The connection form's Test button: read ``/v1/rime-info`` and report the version."""
        try:
            info = self.get_rime_info()
        except Exception as exc:
            return False, str(exc)
        version = info.get("clusterInfoVersion") or "unknown version"
        customer = info.get("customerName")
        return True, f"Connected to RIME {version}" + (f" ({customer})" if customer else "")

    # ------------------------------------------------------------------ projects

    def list_projects(self) -> Iterator[dict[str, Any]]:
        """Iterate over the projects (``ProjectProject`` dicts) the API key can see."""
        for item in self.paginate("/v1/projects", "projects", {"pageToken": ""}):
            yield item.get("project", item)

    def find_project_id(self, name: str) -> str | None:
        """The id of the project called ``name``, or ``None``."""
        for project in self.list_projects():
            if project.get("name") == name:
                return uuid_of(project.get("id"))
        return None

    def get_project(self, project_id: str) -> dict[str, Any]:
        """``GET /v1/projects/{id}``: the project (``ProjectProject``)."""
        body = self.request("GET", f"/v1/projects/{_segment(project_id)}")
        project = body.get("project") or {}
        return project.get("project", project)

    def get_or_create_project(
        self,
        project: str,
        description: str = "",
        model_task: ModelTask | str = ModelTask.BINARY_CLASSIFICATION,
    ) -> str:
        """
        Resolve a project given by id or name, creating it (by that name) if missing.

        :param project: A project id, or a project name (surrounding spaces are dropped).
        :param description: Description of a project created here.
        :param model_task: ``MODEL_TASK_*`` of a project created here.
        :return: The project id.
        """
        if looks_like_id(project):
            try:
                return str(self.get_project(project)["id"]["uuid"])
            except (RimeNotFoundError, KeyError):
                pass
            except RimeApiError as exc:
                if exc.status != 400:
                    raise
        request = CreateProjectRequest(
            name=project, description=description, model_task=ModelTask(model_task)
        )

        def create() -> str:
            body = self.request("POST", "/v1/projects", json_body=request.to_wire())
            return str(body["project"]["id"]["uuid"])

        return self._create_once(lambda: self.find_project_id(request.name), create)

    def update_project_categories(
        self,
        project_id: str,
        *,
        continuous_test: Sequence[TestCategory | str] | None = None,
        stress_test: Sequence[TestCategory | str] | None = None,
    ) -> dict[str, Any]:
        """
        Choose a project's test categories (``PUT /v1/projects/{id}`` with a field mask).

        What rime-sdk's ``Project.update_ct_categories`` and ``update_stress_test_categories``
        do: the continuous-test categories choose what each firewall bin runs (and which
        monitors the firewall has); the stress-test categories are what ``categories="all"``
        of :class:`~airflow_provider_rime.operators.stress_test.RimeStressTestOperator` runs.
        Only the given lists are sent; an empty list puts the server's defaults back.

        :param project_id: The project.
        :param continuous_test: Categories in any usual spelling (``"drift"``,
            ``"Model Performance"``, ``TestCategory.ABNORMAL_INPUTS``, ...).
        :param stress_test: The same, for stress tests.
        :return: The updated project (``ProjectProject``).
        :raises ValueError: No list given, or a name that is no RIME test category.
        """
        fields: dict[str, list[str]] = {}
        for name, values in (
            ("continuous_test_categories", continuous_test),
            ("stress_test_categories", stress_test),
        ):
            if values is not None:
                if isinstance(values, str):
                    raise ValueError(f"{name} must be a list of categories, not the string {values!r}")
                fields[name] = [TestCategory.parse(str(v)).value for v in values]
        if not fields:
            raise ValueError("update_project_categories needs continuous_test or stress_test categories")
        request = UpdateProjectRequest(
            project_id=RimeUUID.of(project_id),
            project=ProjectFields.model_validate(fields),
            mask=",".join(to_camel(name) for name in fields),
        )
        # Setting the same categories again changes nothing: safe to repeat.
        body = self.request(
            "PUT", f"/v1/projects/{_segment(project_id)}", json_body=request.to_wire(), idempotent=True
        )
        return dict(body.get("project") or {})

    def get_project_url(self, project_id: str) -> str | None:
        """The project's web page (``GET /v1/projects/{id}/url``), with a scheme."""
        body = self.request("GET", f"/v1/projects/{_segment(project_id)}/url")
        return normalize_web_url((body.get("url") or {}).get("url"))

    def delete_project(self, project_id: str) -> None:
        """``DELETE /v1/projects/{id}``."""
        self.request("DELETE", f"/v1/projects/{_segment(project_id)}")

    # ------------------------------------------------------------------ uploads

    def upload_file(self, file_path: str | Path, upload_path: str | None = None) -> str:
        """
        Upload a local file to the cluster's storage (``/v1-beta/datasets/upload-url`` + PUTs).

        :param file_path: The local file.
        :param upload_path: Directory to upload into; the server picks one when ``None``.
        :return: The ``destinationUrl`` to use in dataset and prediction configs.
        """
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"Cannot upload {str(path)!r}: no such file")
        request = DatasetUploadUrlRequest(file_name=path.name, upload_path=upload_path or None)
        # Asking for an upload URL creates nothing lasting, so it is safe to repeat.
        urls = UploadUrls.model_validate(
            self.request("POST", "/v1-beta/datasets/upload-url", json_body=request.to_wire(), idempotent=True)
        )
        size = path.stat().st_size
        if urls.upload_limit and size > urls.upload_limit:
            raise ValueError(
                f"{path.name} is {size / 1e6:.1f} MB, more than the cluster's upload limit "
                f"of {urls.upload_limit / 1e6:.1f} MB"
            )
        if not urls.upload_url:
            raise RimeApiError(
                "the answer names no uploadUrl", method="POST", path="/v1-beta/datasets/upload-url"
            )
        self.log.info("Uploading %s (%d bytes) to RIME", path.name, size)
        self._put(urls.upload_url, file_path=path)
        if urls.done_file_upload_url:
            self._put_done_marker(urls.done_file_upload_url)
        return urls.destination_url

    def upload_dataframe(
        self, df: pd.DataFrame, name: str | None = None, upload_path: str | None = None
    ) -> str:
        """
        Upload a DataFrame as a parquet file (needs pandas and pyarrow).

        :param df: The data.
        :param name: File name without extension; a random one when ``None``.
        :param upload_path: Directory to upload into.
        :return: The ``destinationUrl``.
        """
        import uuid

        file_name = f"{name or uuid.uuid4().hex + '-data'}.parquet"
        with tempfile.TemporaryDirectory(prefix="rime-upload-") as tmp:
            target = Path(tmp) / file_name
            df.to_parquet(target, index=False)
            return self.upload_file(target, upload_path)

    def upload_model_directory(self, directory: str | Path, upload_path: str | None = None) -> str:
        """
        Upload a model directory (``/v1-beta/models/upload-url``, one PUT per file).

        :param directory: The directory, holding ``model.py`` and whatever it loads.
        :param upload_path: Directory to upload into.
        :return: The directory's ``destinationUrl``; the model file is ``<destinationUrl>/model.py``.
        """
        root = Path(directory)
        files = directory_files(root) if root.is_dir() else []
        if not files:
            raise FileNotFoundError(f"Model directory {str(root)!r} is empty or missing")
        request = ModelUploadUrlRequest(
            directory_name=root.name, relative_file_paths=files, upload_path=upload_path or None
        )
        urls = UploadUrls.model_validate(
            self.request("POST", "/v1-beta/models/upload-url", json_body=request.to_wire(), idempotent=True)
        )
        self.log.info("Uploading model directory %s (%d files) to RIME", root.name, len(files))
        for relative, url in (urls.upload_path_map or {}).items():
            self._put(url, file_path=root / relative)
        if urls.done_file_upload_url:
            self._put_done_marker(urls.done_file_upload_url)
        return urls.destination_url.rstrip("/")

    # ------------------------------------------------------------------ registry

    def list_datasets(self, project_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over the datasets registered in a project."""
        yield from self.paginate(f"/v1/registry/{_segment(project_id)}/dataset", "datasets")

    def find_dataset(self, project_id: str, name: str) -> dict[str, Any] | None:
        """The dataset called ``name`` in the project, or ``None``."""
        for dataset in self.list_datasets(project_id):
            if dataset.get("name") == name:
                return dataset
        return None

    def find_dataset_id(self, project_id: str, name: str) -> str | None:
        """The id of the dataset called ``name`` in the project, or ``None``."""
        dataset = self.find_dataset(project_id, name)
        return None if dataset is None else str(dataset["datasetId"])

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        """``GET /v1/registry/dataset?datasetId=``: the dataset, with ``validityStatus``."""
        body = self.request("GET", "/v1/registry/dataset", params={"datasetId": dataset_id})
        return body.get("dataset") or {}

    def register_dataset(
        self,
        project_id: str,
        name: str,
        path: str,
        *,
        label_col: str | None = None,
        timestamp_col: str | None = None,
        categorical_features: Iterable[str] | None = None,
        features_not_in_model: Iterable[str] | None = None,
        data_params: dict[str, Any] | None = None,
    ) -> str:
        """
        Register a data file as a dataset of the project, unless one of that name exists.

        Rows are sampled (``sample: true``), as rime-sdk does by default.

        :param project_id: The project.
        :param name: Dataset name (unique within the project).
        :param path: Where the cluster reads the file: an upload's ``destinationUrl`` or a URI.
        :param label_col: Label column.
        :param timestamp_col: Timestamp column.
        :param categorical_features: Columns to treat as categorical.
        :param features_not_in_model: Columns the model does not take as input (e.g. predictions).
        :param data_params: More ``dataParams`` fields, in their JSON (camelCase) names; they
            win over the arguments above.
        :return: The dataset id.
        """
        params: dict[str, Any] = {
            "sample": True,
            "label_col": label_col or None,
            "timestamp_col": timestamp_col or None,
            "categorical_features": list(categorical_features or []) or None,
            "features_not_in_model": list(features_not_in_model or []) or None,
        }
        request = RegisterDatasetRequest(
            project_id=RimeUUID.of(project_id),
            name=name,
            data_info=DataInfo(
                connection_info=ConnectionInfo(data_file=DataFile(path=path)),
                data_params=DataParams.model_validate({**params, **(data_params or {})}),
            ),
        )

        def create() -> str:
            body = self.request(
                "POST", f"/v1/registry/{_segment(project_id)}/dataset", json_body=request.to_wire()
            )
            return str(body["datasetId"])

        return self._create_once(lambda: self.find_dataset_id(project_id, request.name), create)

    def register_dataset_once(
        self,
        project_id: str,
        source: DataSource,
        *,
        label_col: str,
        pred_col: str | None = None,
        timestamp_col: str | None = None,
        categorical_features: Sequence[str] | None = None,
        role: str = "",
    ) -> RegisteredDataset:
        """
        Register a data source once per content: find it by a content-hash name, else upload and register.

        The dataset is named ``<file name>-<12 hex digits>``, the digits hashing the file's bytes
        (a remote URI: the URI) and the column parameters; the same data with the same
        parameters finds its registration instead of uploading again. A registered dataset id
        is checked and used as it is.

        :param project_id: The project.
        :param source: What the user named (see
            :func:`~airflow_provider_rime.utils.data_sources.resolve_data_source`).
        :param label_col: Label column.
        :param pred_col: Prediction column (registered as not a model input).
        :param timestamp_col: Timestamp column.
        :param categorical_features: Columns to treat as categorical.
        :param role: ``"reference"`` or ``"evaluation"`` (for messages).
        :raises ValueError: ``source`` names a dataset id that is not registered.
        """
        if source.kind is DataSourceKind.DATASET_ID:
            try:
                dataset = self.get_dataset(source.value)
            except RimeNotFoundError:
                raise ValueError(
                    f"{role} data {source.value!r} is neither a file nor a registered dataset id".strip()
                ) from None
            return RegisteredDataset(source.value, _data_file_path(dataset))
        # The parameters are part of the digest: other columns make another registration.
        params_key = json.dumps(
            {
                "label_col": label_col,
                "timestamp_col": timestamp_col,
                "categorical_features": categorical_features,
                "pred_col": pred_col,
            },
            sort_keys=True,
        )
        digest = source.content_digest(params_key)
        name = f"{source.display_name}-{digest[:12]}"
        existing = self.find_dataset(project_id, name)
        if existing is not None:
            self.log.info("Reusing the %s dataset %s (%s)", role, existing["datasetId"], name)
            return RegisteredDataset(str(existing["datasetId"]), _data_file_path(existing))
        if source.kind is DataSourceKind.LOCAL:
            path = self.upload_file(source.value, upload_path=f"airflow/{digest[:16]}")
        else:
            path = source.value
        dataset_id = self.register_dataset(
            project_id,
            name,
            path,
            label_col=label_col,
            timestamp_col=timestamp_col,
            categorical_features=categorical_features,
            features_not_in_model=[pred_col] if pred_col else None,
        )
        self.log.info("Registered the %s dataset %s (%s)", role, dataset_id, name)
        return RegisteredDataset(dataset_id, path)

    def list_models(self, project_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over the models (``ModelModel`` dicts) registered in a project."""
        for item in self.paginate(f"/v1/registry/{_segment(project_id)}/model", "models"):
            yield item.get("model", item)

    def find_model_id(self, project_id: str, name: str) -> str | None:
        """The id of the model called ``name`` in the project, or ``None``."""
        for model in self.list_models(project_id):
            if model.get("name") == name:
                return uuid_of(model.get("modelId"))
        return None

    def get_model(self, model_id: str) -> dict[str, Any]:
        """``GET /v1/registry/model?modelId.uuid=``: the model, with ``validityStatus``."""
        body = self.request("GET", "/v1/registry/model", params={"modelId.uuid": model_id})
        model = body.get("model") or {}
        return model.get("model", model)

    def register_model(self, project_id: str, name: str, model_path: str | None = None) -> str:
        """
        Register a model in the project, unless one of that name exists.

        :param project_id: The project.
        :param name: Model name (unique within the project).
        :param model_path: Path of the model's ``model.py`` on the cluster; ``None`` registers a
            predictions-only model.
        :return: The model id.
        """
        request = RegisterModelRequest(
            project_id=RimeUUID.of(project_id),
            name=name,
            model_info=ModelInfo(model_path=ModelPath(path=model_path)) if model_path else None,
        )

        def create() -> str:
            body = self.request(
                "POST", f"/v1/registry/{_segment(project_id)}/model", json_body=request.to_wire()
            )
            return str(body["modelId"]["uuid"])

        return self._create_once(lambda: self.find_model_id(project_id, request.name), create)

    def register_model_once(
        self, project_id: str, model_dir: Path | None, model_name: str | None = None
    ) -> str:
        """
        Register a model directory once per content, or a predictions-only model.

        A directory is registered as ``<model_name or directory name>-<12 hex digits>`` of its
        files' names and bytes: the same model finds its registration, a changed one is
        uploaded and registered anew. Without a directory, a predictions-only model called
        ``model_name`` (default ``predictions-only``) is found or registered.

        :param project_id: The project.
        :param model_dir: A directory with the model's ``model.py``, or ``None``.
        :param model_name: The model's name (a directory's gets the content hash appended).
        :return: The model id.
        """
        if model_dir is None:
            return self.register_model(project_id, model_name or "predictions-only")
        digest = directory_digest(model_dir)
        name = f"{model_name or model_dir.name}-{digest[:12]}"
        model_id = self.find_model_id(project_id, name)
        if model_id is not None:
            self.log.info("Reusing the model %s (%s)", model_id, name)
            return model_id
        destination = self.upload_model_directory(model_dir, upload_path=f"airflow/models/{digest[:16]}")
        model_id = self.register_model(project_id, name, f"{destination}/model.py")
        self.log.info("Registered the model %s (%s)", model_id, name)
        return model_id

    def get_predictions(self, model_id: str, dataset_id: str) -> dict[str, Any] | None:
        """The prediction set of a model on a dataset, or ``None`` when none is registered."""
        try:
            body = self.request("GET", f"/v1/registry/prediction/{_segment(model_id)}/{_segment(dataset_id)}")
        except RimeNotFoundError:
            return None
        return body.get("prediction") or body

    def register_predictions(
        self,
        project_id: str,
        model_id: str,
        dataset_id: str,
        path: str,
        pred_col: str,
        timestamp_col: str | None = None,
    ) -> None:
        """
        Register a model's predictions on a dataset, unless they are registered already.

        :param project_id: The project.
        :param model_id: The model.
        :param dataset_id: The dataset the predictions are for.
        :param path: A file holding the prediction column (it may be the dataset's own file).
        :param pred_col: The prediction column.
        :param timestamp_col: Timestamp column, if the file has one.
        """
        request = RegisterPredictionsRequest(
            project_id=RimeUUID.of(project_id),
            model_id=RimeUUID.of(model_id),
            pred_info=PredInfo(
                connection_info=ConnectionInfo(data_file=DataFile(path=path)),
                pred_params=PredParams(pred_col=pred_col, timestamp_col=timestamp_col or None),
            ),
        )
        endpoint = (
            f"/v1/registry/{_segment(project_id)}/model/{_segment(model_id)}"
            f"/dataset/{_segment(dataset_id)}/prediction"
        )

        def create() -> bool:
            self.request("POST", endpoint, json_body=request.to_wire())
            return True

        self._create_once(lambda: True if self.get_predictions(model_id, dataset_id) else None, create)

    def wait_for_validation(
        self, kind: str, get: Callable[[], dict[str, Any]], name: str, timeout: float = 600.0
    ) -> dict[str, Any]:
        """
        Poll a registered object until RIME has validated it.

        :param kind: ``"dataset"``, ``"model"`` or ``"predictions"`` (for messages).
        :param get: Reads the object (with ``validityStatus``).
        :param name: The object's name or id (for messages).
        :param timeout: Longest wait in seconds.
        :raises RimeRegistryValidationError: RIME found it invalid, or did not decide in time.
        """
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            item = get()
            status = item.get("validityStatus") or ValidityStatus.PENDING
            if status == ValidityStatus.INVALID:
                message = item.get("validityStatusMessage") or "no reason given"
                raise RimeRegistryValidationError(f"RIME found {kind} {name!r} invalid: {message}")
            if status != ValidityStatus.PENDING:
                return item
            if time.monotonic() >= deadline:
                raise RimeRegistryValidationError(
                    f"RIME did not validate {kind} {name!r} within {timeout:.0f} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    # ------------------------------------------------------------------ stress tests and jobs

    def validate_test_run_config(self, test_run_config: TestRunConfig | Mapping[str, Any]) -> None:
        """Check a test run config with ``/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN`` (4xx: invalid)."""
        request = ValidateConfigRequest(config_json=json.dumps(_config_document(test_run_config)))
        self.request(
            "POST",
            f"/v1-beta/config-validator/{ConfigType.TEST_RUN.value}",
            json_body=request.to_wire(),
            idempotent=True,
        )

    def list_jobs(
        self,
        project_id: str,
        statuses: Iterable[JobStatus | str] | None = None,
        job_types: Iterable[JobType | str] = (JobType.MODEL_STRESS_TEST,),
    ) -> Iterator[dict[str, Any]]:
        """
        Iterate over a project's jobs (``RimeJobMetadata`` dicts) of the last two weeks.

        :param project_id: The project.
        :param statuses: ``JOB_STATUS_*`` values to keep; all when ``None``.
        :param job_types: ``JOB_TYPE_*`` values to keep.
        """
        params: dict[str, Any] = {"firstPageQuery.selectedTypes": [str(t) for t in job_types]}
        if statuses:
            params["firstPageQuery.selectedStatuses"] = [str(s) for s in statuses]
        yield from self.paginate(
            f"/v1/jobs/project/{_segment(project_id)}", "jobs", params, page_size=SDK_PAGE_SIZE
        )

    def find_active_stress_test(self, project_id: str, run_name: str) -> Job | None:
        """
        The still-running stress test job of the project whose test run is called ``run_name``.

        This is how a retried task re-attaches to its job instead of starting another.
        """
        for item in self.list_jobs(project_id, statuses=_ACTIVE_JOB_STATUSES):
            job = Job.model_validate(item)
            if job.is_terminal:
                continue
            if job.test_run_id is None:
                job = self.get_job(job.job_id)
            if job.test_run_id is None or job.is_terminal:
                continue
            try:
                test_run = self.get_test_run(job.test_run_id)
            except RimeNotFoundError:
                continue
            if test_run.get("name") == run_name:
                return job
        return None

    def find_stress_test_jobs(self, project_id: str, run_name: str) -> list[Job]:
        """
        Every stress test job of the project (any status) whose test run is called ``run_name``.

        Finished runs are found through the project's test-run list (RIME lists test runs with
        their names) and the job list; a job whose test run is not listed yet (it has not
        started) is matched by reading its test run. Nothing here is particular to the local
        engine.
        """
        named = {
            str(run.get("testRunId"))
            for run in self.list_test_runs(project_id)
            if run.get("name") == run_name and run.get("testRunId")
        }
        found = []
        for item in self.list_jobs(project_id):
            job = Job.model_validate(item)
            if job.test_run_id is None and not job.is_terminal:
                job = self.get_job(job.job_id)
            if job.test_run_id is None:
                continue
            if job.test_run_id in named:
                found.append(job)
            elif not job.is_terminal:
                try:
                    if self.get_test_run(job.test_run_id).get("name") == run_name:
                        found.append(job)
                except RimeNotFoundError:
                    continue
        return found

    def start_stress_test(
        self,
        project_id: str,
        test_run_config: TestRunConfig | Mapping[str, Any],
        *,
        known_job_ids: Collection[str] | None = None,
    ) -> Job:
        """
        Start a stress test (``POST /v1/stress-tests/{projectId}``).

        Safe to retry: before re-sending a start whose response was lost, it looks for the job
        that start may have made, by the config's ``run_name``, and returns it instead.

        :param project_id: The project.
        :param test_run_config: The ``testRunConfig``: a :class:`TestRunConfig`, or the
            snake_case dict rime-sdk takes (``run_name``, ``data_info``, ``model_id``, ...),
            which is sent as it is (never changed) and checked by RIME.
        :param known_job_ids: The jobs of this run name that existed before this start (from
            :meth:`find_stress_test_jobs`). Given, the look after a lost response finds a job
            of this start in any status, even one that already finished; without it, only a
            job that is still running is found.
        :return: The new job.
        """
        config = _config_document(test_run_config)
        if isinstance(test_run_config, TestRunConfig):
            body = StartStressTestRequest(test_run_config=test_run_config).to_wire()
        else:
            body = {"testRunConfig": config}
        run_name = config.get("run_name")
        path = f"/v1/stress-tests/{_segment(project_id)}"

        def create() -> Job:
            return Job.model_validate(self.request("POST", path, json_body=body)["job"])

        def find() -> Job | None:
            if not run_name:
                return None
            if known_job_ids is None:
                return self.find_active_stress_test(project_id, run_name)
            new = [
                j for j in self.find_stress_test_jobs(project_id, run_name) if j.job_id not in known_job_ids
            ]
            return new[0] if new else None

        # The caller decides about re-attaching before starting; the look here only guards re-sends.
        return self._create_once(find, create, look_first=False)

    def get_job(self, job_id: str) -> Job:
        """``GET /v1/jobs/{id}?view=JOB_VIEW_FULL``."""
        body = self.request("GET", f"/v1/jobs/{_segment(job_id)}", params={"view": JobView.FULL.value})
        return Job.model_validate(body["job"])

    async def aget_job(self, job_id: str) -> Job:
        """The asynchronous :meth:`get_job`."""
        body = await self.arequest("GET", f"/v1/jobs/{_segment(job_id)}", params={"view": JobView.FULL.value})
        return Job.model_validate(body["job"])

    def cancel_job(self, job_id: str) -> None:
        """Ask RIME to cancel a job (``POST /v1/jobs/cancel/{id}``); a finished job is left alone."""
        if self.get_job(job_id).is_terminal:
            return
        self.request("POST", f"/v1/jobs/cancel/{_segment(job_id)}", idempotent=True)

    async def acancel_job(self, job_id: str) -> None:
        """The asynchronous :meth:`cancel_job`."""
        if (await self.aget_job(job_id)).is_terminal:
            return
        await self.arequest("POST", f"/v1/jobs/cancel/{_segment(job_id)}", idempotent=True)

    def get_job_logs(self, job_id: str) -> str:
        """The job's log text (``GET /v1-beta/logs/{id}``), or ``""`` when there is none."""
        try:
            body = self.request("GET", f"/v1-beta/logs/{_segment(job_id)}")
        except RimeNotFoundError:
            return ""
        return str((body.get("result") or {}).get("chunk") or "")

    def wait_for_job(
        self,
        job_id: str,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        cancel_on_timeout: bool = True,
    ) -> Job:
        """
        Poll a job until it finishes.

        The first looks come sooner (after 0.5 s, then twice as long each time) until they are
        ``poll_interval`` apart: a job that takes a second is not waited on for ``poll_interval``.

        :param job_id: The job.
        :param poll_interval: Seconds between polls (at most).
        :param timeout: Longest wait in seconds; ``None`` waits forever.
        :param cancel_on_timeout: Cancel the job when the wait times out.
        :return: The finished job (whatever its final status).
        :raises RimeJobError: The wait timed out (``status="timeout"``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = min(FIRST_POLL_SECONDS, poll_interval)
        while True:
            job = self.get_job(job_id)
            if job.is_terminal:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                if cancel_on_timeout:
                    self.log.warning("RIME job %s did not finish within %s s; cancelling it", job_id, timeout)
                    self.cancel_job(job_id)
                raise RimeJobError(
                    f"RIME job {job_id} did not finish within {timeout} s", job_id=job_id, status="timeout"
                )
            time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, poll_interval)

    # ------------------------------------------------------------------ results

    def get_test_run(self, test_run_id: str) -> dict[str, Any]:
        """``GET /v1/test-runs/{id}``: the test run (status, metrics, web link)."""
        return self.request("GET", f"/v1/test-runs/{_segment(test_run_id)}").get("testRun") or {}

    async def aget_test_run(self, test_run_id: str) -> dict[str, Any]:
        """The asynchronous :meth:`get_test_run`."""
        return (await self.arequest("GET", f"/v1/test-runs/{_segment(test_run_id)}")).get("testRun") or {}

    def get_test_run_url(self, test_run_id: str) -> str:
        """The test run's web page, with a scheme."""
        url = normalize_web_url((self.get_test_run(test_run_id).get("webAppUrl") or {}).get("url"))
        if not url:
            raise RimeApiError(
                "the test run has no web link", method="GET", path=f"/v1/test-runs/{test_run_id}"
            )
        return url

    def list_test_runs(
        self, project_id: str, testing_type: TestType | str = TestType.STRESS_TESTING
    ) -> Iterator[dict[str, Any]]:
        """Iterate over the project's test runs of one testing type."""
        params = {
            "firstPageQuery.projectId.uuid": project_id,
            "firstPageQuery.testingType": str(testing_type),
        }
        yield from self.paginate("/v1/test-runs", "testRuns", params)

    def list_test_cases(
        self, test_run_id: str, test_types: Iterable[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """
        Iterate over a test run's test cases (``TestrunresultTestCase`` dicts), 20 per request.

        :param test_run_id: The test run.
        :param test_types: Only these test types (batch types), if given.
        """
        params: dict[str, Any] = {"listTestCasesQuery.testRunId": test_run_id}
        if test_types:
            params["listTestCasesQuery.testTypes"] = list(test_types)
        yield from self.paginate("/v1/test-cases", "testCases", params, page_size=SDK_PAGE_SIZE)

    def get_category_results(self, test_run_id: str) -> list[dict[str, Any]]:
        """The test run's results per category (``GET /v1/category-results/{id}``)."""
        body = self.request("GET", f"/v1/category-results/{_segment(test_run_id)}")
        return list(body.get("categoryTestResults") or [])

    def list_batch_results(self, test_run_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over the test run's results per test type (``GET /v1/batch-results``)."""
        yield from self.paginate(
            "/v1/batch-results", "testBatches", {"testRunId": test_run_id}, page_size=SDK_PAGE_SIZE
        )

    def get_batch_result(self, test_run_id: str, test_type: str) -> dict[str, Any]:
        """One test type's result in a test run."""
        path = f"/v1/test-runs/{_segment(test_run_id)}/batch-result/{_segment(test_type)}"
        return self.request("GET", path).get("testBatch") or {}

    def get_test_run_summary(self, test_run_id: str, job_id: str | None = None) -> dict[str, Any]:
        """
        The JSON-safe summary of a test run (:class:`~airflow_provider_rime.rime_api.results.TestRunSummary`).

        Keys: ``test_run_id``, ``project_id``, ``job_id``, ``run_name``, ``url``, ``status``,
        ``summary_counts`` (total/pass/warning/fail/skip), ``severity_counts``
        (num_none/low/high_severity), ``pass_rate`` (pass / total) and ``model_metrics``
        (``{"AUC": {"ref": ..., "eval": ...}, ...}``).

        :param test_run_id: The test run.
        :param job_id: The job that produced it, if known (copied into the summary).
        """
        return TestRunSummary.from_test_run(self.get_test_run(test_run_id), job_id=job_id).to_dict()

    # ------------------------------------------------------------------ firewall (continuous tests)

    def get_project_firewall_id(self, project_id: str) -> str | None:
        """The project's firewall (``firewallIds[0]`` of ``GET /v1/projects/{id}``), or ``None``."""
        ids = self.get_project(project_id).get("firewallIds") or []
        return uuid_of(ids[0]) if ids else None

    def get_firewall(self, firewall_id: str) -> Firewall:
        """``GET /v1/firewall/{id}``: the firewall (model, reference data, bin size)."""
        body = self.request("GET", f"/v1/firewall/{_segment(firewall_id)}")
        return Firewall.model_validate(body.get("firewall") or {})

    def create_firewall(
        self, project_id: str, model_id: str, ref_data_id: str, bin_size: timedelta | str
    ) -> str:
        """
        Create the project's firewall (``POST /v1/firewall``), unless it has one.

        A project has at most one firewall; a retried create finds the one a lost response
        made. To change an existing firewall's model or reference data, :meth:`update_firewall`.

        :param project_id: The project.
        :param model_id: The model the firewall tests.
        :param ref_data_id: The registered reference dataset.
        :param bin_size: Bin width: a ``timedelta`` or a Duration string (``"86400s"``); at least one hour.
        :return: The firewall id.
        """
        request = CreateFirewallRequest(
            project_id=RimeUUID.of(project_id),
            model_id=RimeUUID.of(model_id),
            ref_data_id=ref_data_id,
            bin_size=format_duration(check_bin_size(bin_size)),
        )

        def create() -> str:
            body = self.request("POST", "/v1/firewall", json_body=request.to_wire())
            return str(uuid_of(body.get("firewallId")))

        return self._create_once(lambda: self.get_project_firewall_id(project_id), create)

    def update_firewall(
        self, firewall_id: str, *, model_id: str | None = None, ref_data_id: str | None = None
    ) -> None:
        """
        Point a firewall at another model and/or reference dataset (``PUT /v1/firewall/{id}``).

        Only the given fields are sent, named in the field mask, as rime-sdk's ``update_ct`` does.
        """
        fields: dict[str, Any] = {}
        if model_id:
            fields["model_id"] = RimeUUID.of(model_id)
        if ref_data_id:
            fields["ref_data_id"] = ref_data_id
        if not fields:
            raise ValueError("update_firewall needs a model_id or a ref_data_id to change")
        request = UpdateFirewallRequest(
            firewall_id=RimeUUID.of(firewall_id),
            firewall=FirewallFields(**fields),
            mask=",".join(to_camel(name) for name in fields),
        )
        # Setting the same fields again changes nothing: safe to repeat.
        self.request(
            "PUT", f"/v1/firewall/{_segment(firewall_id)}", json_body=request.to_wire(), idempotent=True
        )

    def delete_firewall(self, firewall_id: str) -> None:
        """``DELETE /v1/firewall/{id}``."""
        self.request("DELETE", f"/v1/firewall/{_segment(firewall_id)}")

    def get_firewall_url(self, firewall_id: str) -> str | None:
        """The firewall's web page (``GET /v1-beta/firewall/{id}/url``), with a scheme."""
        body = self.request("GET", f"/v1-beta/firewall/{_segment(firewall_id)}/url")
        return normalize_web_url((body.get("url") or {}).get("url"))

    def start_continuous_test(
        self,
        firewall_id: str,
        eval_dataset_id: str,
        *,
        override_existing_bins: bool = False,
        random_seed: int | None = None,
        project_id: str | None = None,
        known_job_ids: Collection[str] | None = None,
    ) -> Job:
        """
        Test a registered dataset bin by bin with the firewall (``POST /v1/continuous-tests/{id}``).

        As rime-sdk's ``start_continuous_test``: the dataset is read first (a missing one fails
        here, an unvalidated one is logged), ``runTimeInfo.resourceRequest`` and
        ``overrideExistingBins`` are always sent.

        :param firewall_id: The firewall.
        :param eval_dataset_id: The dataset (registered with its timestamp column).
        :param override_existing_bins: Replace the results of bins that already have some.
        :param random_seed: The tests' random seed.
        :param project_id: The firewall's project; with ``known_job_ids``, makes the start safe
            to retry.
        :param known_job_ids: The continuous tests of this firewall and dataset that existed
            before this start (from :meth:`find_continuous_test_jobs`). Given, a start whose
            response is lost is looked up (a job of this firewall and dataset not among them, in
            any status) before it is sent again; without, the start is sent once.
        :return: The job (``JOB_TYPE_FIREWALL_BATCH_TEST``).
        """
        dataset = self.get_dataset(eval_dataset_id)
        status = dataset.get("validityStatus")
        if status and status != ValidityStatus.VALID:
            self.log.warning("Dataset %s is %s, not VALID; RIME may reject it", eval_dataset_id, status)
        request = StartContinuousTestRequest(
            test_run_incremental_config=TestRunIncrementalConfig(
                eval_dataset_id=eval_dataset_id,
                run_time_info=IncrementalRunTimeInfo(resource_request={}, random_seed=random_seed),
            ),
            override_existing_bins=override_existing_bins,
        )
        path = f"/v1/continuous-tests/{_segment(firewall_id)}"

        def create() -> Job:
            return Job.model_validate(self.request("POST", path, json_body=request.to_wire())["job"])

        if project_id is None or known_job_ids is None:
            return create()

        def find() -> Job | None:
            jobs = self.find_continuous_test_jobs(project_id, firewall_id, eval_dataset_id)
            new = [j for j in jobs if j.job_id not in known_job_ids]
            return new[0] if new else None

        return self._create_once(find, create, look_first=False)

    def find_continuous_test_jobs(self, project_id: str, firewall_id: str, eval_dataset_id: str) -> list[Job]:
        """Every continuous-test job (any status) of the firewall on ``eval_dataset_id``."""
        found = []
        for item in self.list_jobs(project_id, job_types=(JobType.FIREWALL_BATCH_TEST,)):
            job = Job.model_validate(item)
            data = ContinuousTestJobData.of(job)
            if data.firewall_id and uuid_of(data.firewall_id) != firewall_id:
                continue
            if not _tests_dataset(self, job, data, eval_dataset_id):
                # A list may leave out what names the dataset: read the job in full.
                job = self.get_job(job.job_id)
                data = ContinuousTestJobData.of(job)
                if not _tests_dataset(self, job, data, eval_dataset_id):
                    continue
            found.append(job)
        return found

    def find_active_continuous_test(
        self, project_id: str, firewall_id: str, eval_dataset_id: str
    ) -> Job | None:
        """
        The firewall's queued or running continuous test of ``eval_dataset_id``, if any.

        This is how a retried task re-attaches to its job. A job is recognised by the
        evaluation dataset its job data names (``evalDatasetId``, where the server reports it)
        or, failing that, the one its bins' test runs were computed on.
        """
        for item in self.list_jobs(
            project_id, statuses=_ACTIVE_JOB_STATUSES, job_types=(JobType.FIREWALL_BATCH_TEST,)
        ):
            job = Job.model_validate(item)
            if job.is_terminal:
                continue
            data = ContinuousTestJobData.of(job)
            if data.firewall_id and uuid_of(data.firewall_id) != firewall_id:
                continue
            if _tests_dataset(self, job, data, eval_dataset_id):
                return job
        return None

    def get_continuous_test_bins(self, job: Job | str) -> list[dict[str, Any]]:
        """
        The bins a finished continuous-test job tested, oldest first, as JSON-safe dicts.

        Each: ``test_run_id``, ``start``, ``end`` (RFC 3339), ``status``, ``verdict``
        (``pass``/``warning``/``alert``, the stress-test summary's reading), ``summary_counts``,
        ``severity_counts``, ``pass_rate``, ``model_metrics`` and ``url``. Bins the job skipped
        (already filled by an earlier job) are not listed.

        :param job: The job, or its id.
        """
        if isinstance(job, str):
            job = self.get_job(job)
        data = ContinuousTestJobData.of(job)
        progress = {p.test_run.test_run_id: p for p in (data.progress.test_runs if data.progress else [])}
        run_ids = list(dict.fromkeys([*data.ct_test_run_ids, *progress]))
        bins = []
        for test_run_id in run_ids:
            test_run = self.get_test_run(test_run_id)
            summary = TestRunSummary.from_test_run(test_run, job_id=job.job_id)
            interval = test_run.get("binTimeInterval") or {}
            bin_progress = progress.get(test_run_id)
            start = interval.get("startTime") or (bin_progress.bin_start_time if bin_progress else None)
            end = interval.get("endTime") or (bin_progress.bin_end_time if bin_progress else None)
            verdict = "alert" if summary.alerts else "warning" if summary.warnings else "pass"
            bins.append(
                {
                    "test_run_id": test_run_id,
                    "start": start,
                    "end": end,
                    "status": summary.status,
                    "verdict": verdict,
                    "summary_counts": summary.summary_counts,
                    "severity_counts": summary.severity_counts,
                    "pass_rate": summary.pass_rate,
                    "model_metrics": summary.model_metrics,
                    "url": summary.url,
                }
            )
        return sorted(bins, key=lambda b: str(b["start"] or ""))

    def list_monitors(
        self,
        firewall_id: str,
        monitor_types: Iterable[MonitorType | str] | None = None,
        risk_category_types: Iterable[RiskCategory | str] | None = None,
    ) -> Iterator[Monitor]:
        """
        The firewall's monitors (``GET /v1-beta/monitors/{firewallId}``), as rime-sdk's ``list_monitors``.

        :param firewall_id: The firewall.
        :param monitor_types: ``MONITOR_TYPE_*`` values (or ``"Default"``/``"Custom"``) to keep.
        :param risk_category_types: ``RISK_CATEGORY_TYPE_*`` values (or rime-sdk's
            ``"Operational"``, ``"Bias_and_Fairness"``, ``"Security"``, ``"Custom"``) to keep.
        """
        params: dict[str, Any] = {}
        if monitor_types:
            params["firstPageReq.includedMonitorTypes"] = [_monitor_type(t) for t in monitor_types]
        if risk_category_types:
            params["firstPageReq.includedRiskCategoryTypes"] = [
                str(RISK_CATEGORY_SDK_NAMES.get(str(r), r)) for r in risk_category_types
            ]
        for item in self.paginate(f"/v1-beta/monitors/{_segment(firewall_id)}", "monitors", params):
            yield Monitor.model_validate(item)

    def get_monitor_result(self, monitor_id: str) -> MonitorResult:
        """A monitor's value per bin and its thresholds (``GET /v1-beta/monitors/result/{id}``)."""
        body = self.request("GET", f"/v1-beta/monitors/result/{_segment(monitor_id)}")
        return MonitorResult.model_validate(body)

    def list_detection_events(
        self,
        project_id: str,
        *,
        event_types: Iterable[EventType | str] = (EventType.METRIC_DEGRADATION, EventType.SECURITY),
        monitor_id: str | None = None,
    ) -> Iterator[DetectionEvent]:
        """
        The project's detection events (``GET /v1-beta/detection-events/{projectId}``).

        The same request and paging as rime-sdk's ``get_events_df`` and ``list_detected_events``.

        :param project_id: The project.
        :param event_types: ``EVENT_TYPE_*`` values to keep (rime-sdk's two by default).
        :param monitor_id: Only the events of this monitor (``eventObjectId``), newest first.
        """
        params: dict[str, Any] = {"firstPageReq.eventTypes": [str(t) for t in event_types]}
        if monitor_id:
            params["firstPageReq.eventObjectId"] = monitor_id
            params["firstPageReq.sort.sortOrder"] = SortOrder.DESCENDING.value
            params["firstPageReq.sort.sortBy"] = "event_time_range.end_time"
        for item in self.paginate(f"/v1-beta/detection-events/{_segment(project_id)}", "events", params):
            yield DetectionEvent.model_validate(item)

    def list_firewall_events(
        self,
        project_id: str,
        *,
        firewall_id: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> list[dict[str, Any]]:
        """
        The firewall's detection events overlapping ``[start, end)``, as JSON-safe dicts.

        Each: ``event_id``, ``severity`` (``SEVERITY_*``), ``verdict`` (``warning``/``alert``),
        ``monitor``, ``monitor_id``, ``risk_category``, ``test_category``, ``start``, ``end``,
        ``description`` and ``root_cause``.

        :param project_id: The firewall's project.
        :param firewall_id: Only this firewall's events.
        :param start: RFC 3339 start of the range (open when ``None``).
        :param end: RFC 3339 end of the range, exclusive (open when ``None``).
        """
        low = parse_timestamp(start) if start else None
        high = parse_timestamp(end) if end else None
        events = []
        for event in self.list_detection_events(project_id):
            if firewall_id and event.firewall_id is not None and event.firewall_id.uuid != firewall_id:
                continue
            span = event.event_time_range
            if span is not None and (
                (high is not None and span.start >= high) or (low is not None and span.end <= low)
            ):
                continue
            severity = _severity(event.severity)
            events.append(
                {
                    "event_id": event.id.uuid,
                    "severity": severity.value,
                    "verdict": {Severity.ALERT: "alert", Severity.WARNING: "warning"}.get(severity, "pass"),
                    "monitor": event.event_object_name,
                    "monitor_id": event.event_object_id,
                    "risk_category": str(
                        getattr(event.risk_category_type, "value", event.risk_category_type)
                    ),
                    "test_category": str(getattr(event.test_category, "value", event.test_category)),
                    "start": span.start_time if span else None,
                    "end": span.end_time if span else None,
                    "description": event.description,
                    "root_cause": event.root_cause,
                }
            )
        return sorted(events, key=lambda e: (str(e["start"] or ""), e["monitor"]))


def _tests_dataset(hook: RimeHook, job: Job, data: ContinuousTestJobData, dataset_id: str) -> bool:
    """Whether a continuous-test job tests ``dataset_id`` (from its job data, else its bins' runs)."""
    named = job.job_data.get("continuousInc", {}).get("evalDatasetId")
    if named:
        return bool(named == dataset_id)
    run_ids = [
        *data.ct_test_run_ids,
        *(p.test_run.test_run_id for p in (data.progress.test_runs if data.progress else [])),
    ]
    for test_run_id in dict.fromkeys(r for r in run_ids if r):
        try:
            return bool(hook.get_test_run(test_run_id).get("evalDataId") == dataset_id)
        except RimeNotFoundError:
            continue
    return False


def _monitor_type(value: MonitorType | str) -> str:
    """A ``MONITOR_TYPE_*`` value from the enum, its string, or rime-sdk's ``"Default"``/``"Custom"``."""
    text = str(getattr(value, "value", value))
    return {"default": MonitorType.DEFAULT.value, "custom": MonitorType.CUSTOM.value}.get(text.lower(), text)


def _severity(value: Severity | str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        return Severity.UNSPECIFIED


def _config_document(test_run_config: TestRunConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The snake_case ``testRunConfig`` dict; a caller's mapping is copied (rime-sdk changes it in place)."""
    if isinstance(test_run_config, TestRunConfig):
        return test_run_config.to_wire()
    return copy.deepcopy(dict(test_run_config))
