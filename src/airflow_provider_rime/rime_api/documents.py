"""Pydantic models of the JSON documents the provider and a RIME server exchange.

Two spellings, as on the wire:

- :class:`WireModel` documents use lowerCamelCase keys (``projectId``, ``dataInfo``). They
  also accept snake_case, as RIME's server does.
- :class:`SnakeModel` documents are the plain dicts rime-sdk sends *inside* a camelCase
  body, in snake_case (``testRunConfig``: ``run_name``, ``data_info``, ...). They also
  accept camelCase.

Request models ignore fields they do not know (a newer client never breaks an older server)
and are strict about types: a name must be a string, a list a list. Response models keep
unknown fields (a newer server never breaks the provider). Serialise with
:meth:`WireModel.to_wire`: aliases, no ``None`` values, enums as their strings.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)

from airflow_provider_rime.rime_api.enums import (
    JobStatus,
    JobType,
    ModelTask,
    TestCategory,
    TestSensitivity,
    TestTaskStatus,
)
from airflow_provider_rime.rime_api.naming import normalize_web_url, to_camel, uuid_of

#: A non-empty string, surrounding whitespace removed.
Name = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
#: A free text (descriptions, use cases), bounded.
Text = Annotated[StrictStr, StringConstraints(max_length=100_000)]
#: A column or feature name.
Column = Annotated[StrictStr, StringConstraints(min_length=1, max_length=1000)]
#: A file path or URI the server reads.
PathString = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]


def _either_spelling(name: str) -> AliasChoices:
    return AliasChoices(to_camel(name), name)


def _snake_first(name: str) -> AliasChoices:
    # The first choice is the name a validation error shows for a missing field: a snake_case
    # document should name it in snake_case ("data_info", not "dataInfo").
    return AliasChoices(name, to_camel(name))


class WireModel(BaseModel):
    """A camelCase document of RIME's API (snake_case accepted on input)."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=_either_spelling, serialization_alias=to_camel),
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        use_enum_values=False,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body: wire names, ``None`` left out (as rime-sdk does), enums as strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SnakeModel(WireModel):
    """A snake_case document that rime-sdk sends as a plain dict (camelCase accepted on input)."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=_snake_first, serialization_alias=None),
    )


class ResponseModel(WireModel):
    """A document a server returns: unknown fields are kept, not dropped."""

    model_config = ConfigDict(extra="allow")


class RimeUUID(WireModel):
    """An id wrapped as ``{"uuid": "..."}`` (projects, models, firewalls, agents)."""

    uuid: Name

    @classmethod
    def of(cls, value: str) -> RimeUUID:
        return cls(uuid=value)


def _coerce_uuid(value: Any) -> Any:
    """Accept ``{"uuid": id}`` or a bare id string where RIME wants a ``RimeUUID``."""
    return {"uuid": value} if isinstance(value, str) else value


# ----------------------------------------------------------------------------- projects


class CreateProjectRequest(WireModel):
    """``POST /v1/projects`` (``ProjectCreateProjectRequest``)."""

    name: Name
    description: Text = ""
    model_task: ModelTask = ModelTask.UNSPECIFIED
    use_case: Text | None = None
    ethical_consideration: Text | None = None
    profiling_config: dict[str, Any] | None = None
    run_time_info: dict[str, Any] | None = None


#: The field-mask paths ``PUT /v1/projects/{id}`` accepts (camelCase, as rime-sdk sends them).
UPDATABLE_PROJECT_FIELDS = (
    "name",
    "description",
    "useCase",
    "ethicalConsideration",
    "stressTestCategories",
    "continuousTestCategories",
)


def field_mask_paths(mask: str) -> list[str]:
    """A comma-joined field mask's paths in camelCase.

    ``"model_id,refDataId"`` -> ``["modelId", "refDataId"]``.
    """
    paths = (path.strip() for path in mask.split(","))
    return [".".join(to_camel(part) for part in path.split(".")) for path in paths if path]


class ProjectFields(WireModel):
    """The fields of ``ProjectProject`` an update may set (the mask says which it does)."""

    name: Name | None = None
    description: Text | None = None
    use_case: Text | None = None
    ethical_consideration: Text | None = None
    stress_test_categories: list[StrictStr] | None = None
    continuous_test_categories: list[StrictStr] | None = None


class MaskedUpdate(WireModel):
    """An update request: the object's fields and a comma-joined ``mask`` naming those to set."""

    mask: StrictStr

    def mask_paths(self) -> list[str]:
        """The mask's paths in camelCase (``"modelId,refDataId"`` -> ``["modelId", "refDataId"]``)."""
        return field_mask_paths(self.mask)


class UpdateProjectRequest(MaskedUpdate):
    """``PUT /v1/projects/{projectId.uuid}``: ``project`` and the ``mask``.

    rime-sdk's ``Project.update_ct_categories`` and ``update_stress_test_categories`` send it.
    """

    project_id: RimeUUID | None = None
    project: ProjectFields

    _uuid = field_validator("project_id", mode="before")(_coerce_uuid)


class RolePair(WireModel):
    parent_role: StrictStr
    subject_role: StrictStr


class UpdateWorkspaceRoleRequest(WireModel):
    """``PUT /v1/projects/{id}/role/workspace``: roles (one user on a local engine: no effect)."""

    role_pairs: list[RolePair] = Field(default_factory=list)


# ----------------------------------------------------------------------------- uploads


def _empty_is_unset(value: Any) -> Any:
    """proto3 reads an empty string as "not set": treat ``""`` like a left-out field."""
    return None if value == "" else value


class DatasetUploadUrlRequest(WireModel):
    """``POST /v1-beta/datasets/upload-url``: where to PUT one data file."""

    file_name: PathString
    upload_path: PathString | None = None

    _unset = field_validator("upload_path", mode="before")(_empty_is_unset)


class ModelUploadUrlRequest(WireModel):
    """``POST /v1-beta/models/upload-url``: where to PUT each file of a model directory."""

    directory_name: PathString
    relative_file_paths: list[PathString] = Field(min_length=1, max_length=10_000)
    upload_path: PathString | None = None

    _unset = field_validator("upload_path", mode="before")(_empty_is_unset)


class UploadUrls(ResponseModel):
    """The answer to an upload-URL request (one file, or a directory's ``uploadPathMap``)."""

    upload_url: str | None = None
    upload_path_map: dict[str, str] | None = None
    done_file_upload_url: str | None = None
    destination_url: str
    upload_limit: int = 0

    @field_validator("upload_limit", mode="before")
    @classmethod
    def _int64(cls, value: Any) -> Any:
        return 0 if value in (None, "") else value


# ----------------------------------------------------------------------------- registry


class DataFile(WireModel):
    path: PathString
    #: ``DATA_TYPE_DELTA_TABLE`` for a Delta table; left out for a file.
    data_type: StrictStr | None = None


class ConnectionInfo(WireModel):
    """Where the server reads data from: exactly one kind; the provider uses ``dataFile``."""

    data_file: DataFile | None = None
    data_loading: dict[str, Any] | None = None
    databricks: dict[str, Any] | None = None
    hugging_face: dict[str, Any] | None = None
    data_collector: dict[str, Any] | None = None

    def kinds(self) -> list[str]:
        """The connection kinds this info names (a valid one names exactly one)."""
        return [to_camel(name) for name in type(self).model_fields if getattr(self, name) is not None]


class PredParams(WireModel):
    """``RegistryPredParams``: which column holds the predictions (and the timestamps)."""

    pred_col: Column | None = None
    timestamp_col: Column | None = None
    experimental_fields: dict[str, Any] | None = None


class DataParams(PredParams):
    """``RegistryDataParams``: how to read a dataset's columns (a prediction set's, and more)."""

    label_col: Column | None = None
    class_names: list[StrictStr] | None = None
    categorical_features: list[Column] | None = None
    text_features: list[Column] | None = None
    protected_features: list[Column] | None = None
    features_not_in_model: list[Column] | None = None
    image_features: list[Column] | None = None
    ranking_info: dict[str, Any] | None = None
    loading_kwargs: StrictStr | None = None
    nrows: StrictInt | None = Field(default=None, ge=0)
    nrows_per_time_bin: StrictInt | None = Field(default=None, ge=0)
    sample: StrictBool | None = None
    prompt_col: Column | None = None
    intersections: list[dict[str, Any]] | None = None
    feature_type_path: PathString | None = None
    image_load_path: PathString | None = None


class _SourceInfo(WireModel):
    """Where a dataset or a prediction set is read from."""

    connection_info: ConnectionInfo


class DataInfo(_SourceInfo):
    """``RegistryDataInfo``: a dataset's location and column parameters."""

    data_params: DataParams | None = None


class _RegisterRequest(WireModel):
    """What every registry ``POST`` takes besides the object it registers: the project (also
    in the path), metadata, the integration to read through, whether to skip validation."""

    project_id: RimeUUID | None = None
    metadata: dict[str, Any] | None = None
    integration_id: RimeUUID | None = None
    skip_validation: StrictBool | None = None

    _uuid = field_validator("project_id", "integration_id", mode="before")(_coerce_uuid)


class RegisterDatasetRequest(_RegisterRequest):
    """``POST /v1/registry/{projectId}/dataset``."""

    name: Name
    data_info: DataInfo
    ct_info: dict[str, Any] | None = None


class ModelPath(WireModel):
    path: PathString


class ModelInfo(WireModel):
    """``RegistryModelInfo``: a model file (``model.py`` or its directory), or a hub model."""

    model_path: ModelPath | None = None
    hugging_face: dict[str, Any] | None = None


class RegisterModelRequest(_RegisterRequest):
    """``POST /v1/registry/{projectId}/model``; without ``modelInfo`` the model is predictions-only."""

    name: Name
    model_info: ModelInfo | None = None
    external_id: Name | None = None


class PredInfo(_SourceInfo):
    """``RegistryPredInfo``: where a prediction set is read from."""

    pred_params: PredParams | None = None


class RegisterPredictionsRequest(_RegisterRequest):
    """``POST /v1/registry/{projectId}/model/{modelId}/dataset/{datasetId}/prediction``."""

    model_id: RimeUUID | None = None
    dataset_id: Name | None = None
    pred_info: PredInfo

    _model_uuid = field_validator("model_id", mode="before")(_coerce_uuid)


# ----------------------------------------------------------------------------- stress tests


def _json_object(value: Any, field: str, verb: str) -> dict[str, Any]:
    """``value``, a JSON object or a string that encodes one, as an object.

    :raises ValueError: The string is not JSON, or the value is not an object (``field`` must
        ``verb`` an object).
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{field} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{field} must {verb} an object, not {type(value).__name__}")
    return value


class ValidateConfigRequest(WireModel):
    """``POST /v1-beta/config-validator/{configType}``: the config as a JSON *string*."""

    config_json: StrictStr

    def parsed(self) -> dict[str, Any]:
        """The config object.

        :raises ValueError: ``configJson`` is not JSON, or not an object.
        """
        return _json_object(self.config_json, "configJson", "encode")


class StressDataInfo(SnakeModel):
    """``data_info`` of a stress test config: two registered datasets."""

    ref_dataset_id: Name
    eval_dataset_id: Name


class TestSuiteConfig(SnakeModel):
    """``test_suite_config``: sensitivity, per-test parameters, excluded columns."""

    __test__ = False  # not a pytest class

    global_test_sensitivity: TestSensitivity | None = None
    #: A JSON string (as rime-sdk sends it) or an object: ``{test_key: {param: value}}``.
    individual_tests_config: StrictStr | dict[str, Any] | None = None
    global_exclude_columns: list[Column] | None = None
    custom_tests: list[Any] | None = None

    def individual_tests(self) -> dict[str, Any]:
        """``individual_tests_config`` as an object.

        :raises ValueError: It is a string that is not a JSON object.
        """
        value = self.individual_tests_config
        if value in (None, ""):
            return {}
        return _json_object(value, "individual_tests_config", "be")


class RunTimeInfo(SnakeModel):
    """``run_time_info``: resources, seed, image (the local engine uses the seed only)."""

    random_seed: StrictInt | None = None
    resource_request: dict[str, Any] | None = None
    custom_image: dict[str, Any] | None = None
    explicit_errors: StrictBool | None = None


class TestRunConfig(SnakeModel):
    """A stress test's ``testRunConfig``, in snake_case as rime-sdk sends it."""

    __test__ = False

    run_name: Name
    data_info: StressDataInfo
    model_id: RimeUUID
    categories: list[TestCategory] | None = None
    test_suite_config: TestSuiteConfig | None = None
    run_time_info: RunTimeInfo | None = None
    profiling_config: dict[str, Any] | None = None

    _uuid = field_validator("model_id", mode="before")(_coerce_uuid)


class StartStressTestRequest(WireModel):
    """``POST /v1/stress-tests/{projectId}``."""

    test_run_config: TestRunConfig
    agent_id: RimeUUID | None = None
    experimental_fields: dict[str, Any] | None = None

    _uuid = field_validator("agent_id", mode="before")(_coerce_uuid)


# ----------------------------------------------------------------------------- jobs


class Job(ResponseModel):
    """A job as ``GET /v1/jobs/{jobId}`` returns it (``RimeJobMetadata``)."""

    job_id: StrictStr
    job_type: JobType | StrictStr = JobType.UNSPECIFIED
    status: JobStatus | StrictStr = JobStatus.UNSPECIFIED
    job_data: dict[str, Any] = Field(default_factory=dict)
    error_msg: str | None = None
    cancellation_requested: bool = False
    job_progress_str: str | None = None

    @property
    def job_status(self) -> JobStatus:
        """The status as an enum (``UNSPECIFIED`` for a value this version does not know)."""
        try:
            return JobStatus(self.status)
        except ValueError:
            return JobStatus.UNSPECIFIED

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (succeeded, failed or cancelled)."""
        return self.job_status.is_terminal

    @property
    def is_active(self) -> bool:
        """Whether the job is queued or running."""
        return self.job_status.is_active

    @property
    def succeeded(self) -> bool:
        """Whether the job finished successfully."""
        return self.job_status is JobStatus.SUCCEEDED

    @property
    def test_run_id(self) -> str | None:
        """A stress test's test run id (allocated when the job is created)."""
        stress = self.job_data.get("stress") or {}
        return stress.get("testRunId") or None

    @property
    def project_id(self) -> str | None:
        """The project the job's test runs belong to."""
        for key in ("stress", "continuousInc"):
            found = uuid_of((self.job_data.get(key) or {}).get("projectId"))
            if found:
                return found
        return None


# ----------------------------------------------------------------------------- results


class TestRun(ResponseModel):
    """The ``testRun`` of ``GET /v1/test-runs/{testRunId}``, in the parts a client reads."""

    __test__ = False

    test_run_id: StrictStr = ""
    name: str | None = None
    status: TestTaskStatus | StrictStr = TestTaskStatus.UNSPECIFIED
    web_app_url: dict[str, Any] | None = None

    @property
    def task_status(self) -> TestTaskStatus:
        """The status as an enum (``UNSPECIFIED`` for a value this version does not know)."""
        return next((s for s in TestTaskStatus if s.value == self.status), TestTaskStatus.UNSPECIFIED)

    @property
    def url(self) -> str | None:
        """The test run's web page, with a scheme (a cluster sends it without one)."""
        return normalize_web_url((self.web_app_url or {}).get("url"))
