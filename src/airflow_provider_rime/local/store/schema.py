"""The engine's tables. Changes here need an Alembic revision in ``migrations/versions``."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class JobKind(str, enum.Enum):
    """What a stored job does; the worker dispatches on it (``jobs.kind``).

    RIME's ``jobType`` says less: registry validations are all ``JOB_TYPE_UNSPECIFIED``.
    """

    STRESS_TEST = "stress_test"
    VALIDATE_DATASET = "validate_dataset"
    VALIDATE_MODEL = "validate_model"
    VALIDATE_PREDICTIONS = "validate_predictions"
    CONTINUOUS_TEST = "continuous_test"

    def __str__(self) -> str:
        return str(self.value)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class ApiKey(Base):
    __tablename__ = "api_keys"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    model_task: Mapped[str] = mapped_column(String(64))
    use_case: Mapped[str | None] = mapped_column(Text)
    ethical_consideration: Mapped[str | None] = mapped_column(Text)
    profiling_config: Mapped[dict[str, Any] | None]
    run_time_info: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    last_test_run_at: Mapped[datetime | None]
    #: The categories the project chose (``TEST_CATEGORY_TYPE_*``); ``None``: all the engine runs.
    stress_test_categories: Mapped[list[Any] | None]
    continuous_test_categories: Mapped[list[Any] | None]


class Upload(Base):
    """A pre-signed upload: the token in its URLs is the only credential."""

    __tablename__ = "uploads"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    destination: Mapped[str] = mapped_column(Text)  # absolute path of the file or directory
    files: Mapped[list[Any]]  # relative paths the upload may write
    is_directory: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class _Registered:
    """The columns every registry entry (dataset, model, predictions) has: its project, the
    user's metadata and what its validation found."""

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    user_metadata: Mapped[dict[str, Any] | None]
    validity_status: Mapped[str] = mapped_column(String(40))
    validity_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Dataset(_Registered, Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_datasets_project_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    data_info: Mapped[dict[str, Any]]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    num_rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[list[Any] | None]
    #: SHA-256 of the file (or a Parquet directory's files) when validation read it.
    content_digest: Mapped[str | None] = mapped_column(String(64))


class Model(_Registered, Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_models_project_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    model_info: Mapped[dict[str, Any] | None]
    external_id: Mapped[str | None] = mapped_column(String(500))


class Prediction(_Registered, Base):
    __tablename__ = "predictions"
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    pred_info: Mapped[dict[str, Any]]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: SHA-256 of the file when validation read it.
    content_digest: Mapped[str | None] = mapped_column(String(64))


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a JobKind
    job_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]  # what the worker needs: config, ids
    progress: Mapped[dict[str, Any] | None]
    test_run_id: Mapped[str | None] = mapped_column(String(36))
    error_msg: Mapped[str] = mapped_column(Text, default="")
    logs: Mapped[str] = mapped_column(Text, default="")
    cancellation_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    runner_id: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class TestRun(Base):
    __tablename__ = "test_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(40))
    testing_type: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str | None] = mapped_column(String(36))
    ref_data_id: Mapped[str | None] = mapped_column(String(36))
    eval_data_id: Mapped[str | None] = mapped_column(String(36))
    config: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any] | None]
    categories: Mapped[list[Any] | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    #: A continuous test's bin: its firewall and time range (start inclusive, end exclusive).
    firewall_id: Mapped[str | None] = mapped_column(
        ForeignKey("firewalls.id", ondelete="SET NULL"), index=True, default=None
    )
    bin_start: Mapped[datetime | None] = mapped_column(default=None)
    bin_end: Mapped[datetime | None] = mapped_column(default=None)


class TestBatchResult(Base):
    __tablename__ = "test_batches"
    test_run_id: Mapped[str] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"), primary_key=True)
    test_type: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(40))
    doc: Mapped[dict[str, Any]]


class TestCaseResult(Base):
    __tablename__ = "test_cases"
    __table_args__ = (Index("ix_test_cases_run_type", "test_run_id", "test_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    test_run_id: Mapped[str] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"))
    test_type: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(40))
    importance: Mapped[float] = mapped_column(Float, default=0.0)
    doc: Mapped[dict[str, Any]]


class CategoryResult(Base):
    __tablename__ = "category_results"
    test_run_id: Mapped[str] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict[str, Any]]


class Firewall(Base):
    """A continuous test (RIME's "firewall"): one per project."""

    __tablename__ = "firewalls"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True)
    model_id: Mapped[str] = mapped_column(String(36))
    ref_data_id: Mapped[str] = mapped_column(String(36))
    bin_size_seconds: Mapped[int] = mapped_column(Integer)
    scheduled_ct_info: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class Monitor(Base):
    """A metric of a continuous test followed bin by bin, with warning and alert thresholds."""

    __tablename__ = "monitors"
    __table_args__ = (UniqueConstraint("firewall_id", "key", name="uq_monitors_firewall_key"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    firewall_id: Mapped[str] = mapped_column(ForeignKey("firewalls.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))  # the default monitor it is (catalogue.monitors)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    metric_name: Mapped[str] = mapped_column(String(200))
    monitor_type: Mapped[str] = mapped_column(String(40))
    risk_category: Mapped[str] = mapped_column(String(64))
    test_category: Mapped[str] = mapped_column(String(64))
    artifact: Mapped[dict[str, Any]]
    threshold_type: Mapped[str] = mapped_column(String(40))
    warning: Mapped[float | None] = mapped_column(Float)
    alert: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class MonitorValue(Base):
    """A monitor's value over one bin, and the severity it had there."""

    __tablename__ = "monitor_values"
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True)
    test_run_id: Mapped[str] = mapped_column(
        ForeignKey("test_runs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    bin_start: Mapped[datetime]
    bin_end: Mapped[datetime]
    value: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(40))
    #: Features named by the bin's tests behind this value (drifted or abnormal ones).
    features: Mapped[list[Any] | None]


class DetectionEvent(Base):
    """A continuous stretch of bins where a monitor crossed a threshold."""

    __tablename__ = "detection_events"
    __table_args__ = (Index("ix_detection_events_project_end", "project_id", "end_time"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    firewall_id: Mapped[str] = mapped_column(ForeignKey("firewalls.id", ondelete="CASCADE"), index=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(40))
    risk_category: Mapped[str] = mapped_column(String(64))
    test_category: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]]
    last_update_time: Mapped[datetime]
