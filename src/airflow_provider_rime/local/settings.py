"""How one engine process is configured (``rime-local serve`` flags and their environment twins)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_rime.rime_api.enums import TestCategory

DEFAULT_PORT = 8642
DEFAULT_DATA_DIR = Path("~/.rime-local")
ENV_API_KEYS = "RIME_LOCAL_API_KEYS"
#: Directories the engine may read data and models from, besides its upload area
#: (``os.pathsep``-separated; the twin of ``--data-root``).
ENV_DATA_ROOTS = "RIME_LOCAL_DATA_ROOTS"
#: The store's SQLAlchemy URL, as the engine hands it to its job workers.
ENV_DATABASE_URL = "RIME_LOCAL_DATABASE_URL"
# The key that signs page tokens, in the data dir.
PAGE_TOKEN_SECRET_FILE = "page-token.secret"
# The key that signs the result pages' session cookies and login links, in the data dir.
SESSION_SECRET_FILE = "session.secret"
# What the engine reports as its version: rime-sdk 2.13 checks major.minor against its own.
RIME_COMPAT_VERSION = "2.13.0"

#: The categories the engine's catalogue has tests for, in RIME's spelling: a project's
#: ``stressTestCategories`` (what ``categories="all"`` of the provider's operator runs). Said
#: here, without loading the catalogue (pandas, SciPy) for a project document; a test checks
#: it against the catalogue's registry. Tests a run cannot do (model calls without a model
#: directory, fairness without protected features) are left out of that run.
STRESS_TEST_CATEGORIES: tuple[str, ...] = tuple(
    c.value
    for c in TestCategory
    if c
    not in {
        TestCategory.UNSPECIFIED,
        TestCategory.SUBSET_PERFORMANCE_DEGRADATION,  # a continuous test's, per bin
        TestCategory.DATA_POISONING_DETECTION,
        TestCategory.EVASION_ATTACK_DETECTION,
        TestCategory.CUSTOM,
    }
)
#: The ones among them that call the model (not run with ``--no-model-execution``).
MODEL_TEST_CATEGORIES: tuple[str, ...] = (TestCategory.TRANSFORMATIONS.value, TestCategory.ADVERSARIAL.value)


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
    #: Directories (besides the upload area) registered data and models may be read from.
    data_roots: tuple[Path, ...] = ()
    #: A registry validation running longer than this is stopped and its entry made INVALID.
    validation_timeout_seconds: float = 300.0
    #: Fork model processes from a model zygote that preloaded their libraries (``models.zygote``).
    model_zygote: bool = True
    #: The modules the model zygote imports; ``None``: its default list (``--model-preload``).
    model_preload: tuple[str, ...] | None = None

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
    def run_dir(self) -> Path:
        """Private (0700) directory of the engine's sockets (the model zygote's)."""
        return self.data_dir / "run"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def readable_roots(self) -> tuple[Path, ...]:
        """Every directory the engine reads registered files from: the upload area, then the data roots."""
        return (self.upload_dir, *self.data_roots)

    @property
    def page_token_secret_path(self) -> Path:
        return self.data_dir / PAGE_TOKEN_SECRET_FILE

    @property
    def session_secret_path(self) -> Path:
        return self.data_dir / SESSION_SECRET_FILE

    @property
    def api_key_hashes(self) -> frozenset[str]:
        return frozenset(hash_api_key(k) for k in self.api_keys)


def page_token_secret(path: Path) -> bytes:
    """A signing key (page tokens, sessions): made at first start (readable by its owner only), then reused.

    Kept in the data dir, so the ``nextPageToken`` a client holds still works after a restart.
    Written to a private temporary file and linked into place, so an engine starting at the same
    moment never reads half a key.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another engine made it first: use theirs
        finally:
            tmp.unlink()
    secret = path.read_bytes()
    if len(secret) < 32:
        raise RuntimeError(f"{path} is too short to be a page-token secret; delete it to make a new one")
    return secret


def data_roots_from_env() -> tuple[Path, ...]:
    raw = os.environ.get(ENV_DATA_ROOTS, "")
    return tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())


def api_keys_from_env() -> tuple[str, ...]:
    raw = os.environ.get(ENV_API_KEYS, "")
    return tuple(k.strip() for k in raw.split(",") if k.strip())
