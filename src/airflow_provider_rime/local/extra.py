"""Whether the ``local`` extra (the engine's stack) is installed, and the pip line that installs it.

Airflow itself brings FastAPI, SQLAlchemy and Jinja, so an engine started without the extra
would answer requests and only fail in its worker processes (no pandas, NumPy, SciPy, ...).
``rime-local serve`` checks the extra's requirements first, from the installed distribution's
metadata, without importing any of them.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata

DISTRIBUTION = "airflow-provider-rime"
EXTRA = "local"


def missing_requirements(extra: str = EXTRA, distribution: str = DISTRIBUTION) -> list[str]:
    """The requirements of ``distribution[extra]`` that are not installed, or not in a matching version.

    :param extra: The extra whose requirements to check.
    :param distribution: The installed distribution that declares the extra.
    :returns: One line per problem (``"numpy (not installed)"``, ``"pandas 1.5.3 (needs >=2.1)"``);
        empty when everything is there, or when the distribution's metadata cannot be read.
    """
    from packaging.requirements import Requirement

    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return []
    missing: list[str] = []
    for line in declared:
        requirement = Requirement(line)
        marker = requirement.marker
        # Only the extra's own lines: core requirements carry no marker, other extras another one.
        if marker is None or not marker.evaluate({"extra": extra}) or marker.evaluate({"extra": ""}):
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{requirement.name} (not installed)")
            continue
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{requirement.name} {installed} (needs {requirement.specifier})")
    return missing


def install_command(extra: str = EXTRA, distribution: str = DISTRIBUTION) -> str:
    """The pip command that adds ``extra`` to this installation of ``distribution``.

    The same source the package came from: the wheel file it was installed from, the checkout
    of an editable install, or the package index (pinned to the installed version); run with
    this interpreter, so it installs into the right environment.
    """
    target = f"{distribution}[{extra}]"
    editable = False
    try:
        dist = metadata.distribution(distribution)
        direct_url = json.loads(dist.read_text("direct_url.json") or "null")
        version = dist.version
    except (metadata.PackageNotFoundError, ValueError):
        direct_url, version = None, None
    if isinstance(direct_url, dict) and str(direct_url.get("url", "")).startswith("file://"):
        path = str(direct_url["url"]).removeprefix("file://")
        editable = bool((direct_url.get("dir_info") or {}).get("editable"))
        target = f"{path}[{extra}]"
    elif version:
        target = f"{distribution}[{extra}]=={version}"
    parts = [sys.executable, "-m", "pip", "install", *(["-e"] if editable else []), target]
    return shlex.join(parts)


def require_extra(command: str, extra: str = EXTRA) -> str | None:
    """The message that refuses ``command`` when the extra is incomplete, or ``None`` when it is installed."""
    missing = missing_requirements(extra)
    if not missing:
        return None
    return (
        f"{command} needs the provider's {extra!r} extra, which is not (fully) installed: "
        f"{', '.join(missing)}.\nInstall it with:\n\n    {install_command(extra)}\n"
    )
