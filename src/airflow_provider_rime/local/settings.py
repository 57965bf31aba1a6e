"""How one engine process is configured (``rime-local serve`` flags and their environment twins)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8642
DEFAULT_DATA_DIR = Path("~/.rime-local")
ENV_API_KEYS = "RIME_LOCAL_API_KEYS"
# What the engine reports as its version: rime-sdk 2.13 checks major.minor against its own.
RIME_COMPAT_VERSION = "2.13.0"


def _engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("airflow-provider-rime")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


ENGINE_VERSION = _engine_version()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class EngineSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=lambda: DEFAULT_DATA_DIR.expanduser())
    database_url: str | None = None
    api_keys: tuple[str, ...] = ()
    public_url: str | None = None
    upload_limit_bytes: int = 4 * 1024**3
    max_stress_workers: int = 2
    max_validation_workers: int = 2

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'rime-local.db'}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def api_key_hashes(self) -> frozenset[str]:
        return frozenset(hash_api_key(k) for k in self.api_keys)


def api_keys_from_env() -> tuple[str, ...]:
    raw = os.environ.get(ENV_API_KEYS, "")
    return tuple(k.strip() for k in raw.split(",") if k.strip())
