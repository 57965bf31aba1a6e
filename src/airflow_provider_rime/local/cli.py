"""``rime-local``: run the RIME-compatible local engine, and manage its API keys."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

from airflow_provider_rime.local.extra import require_extra
from airflow_provider_rime.local.settings import (
    DEFAULT_DATA_DIR,
    DEFAULT_PORT,
    ENV_API_KEYS,
    ENV_DATA_ROOTS,
    EngineSettings,
    api_keys_from_env,
    data_roots_from_env,
    hash_api_key,
    page_token_secret,
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="uploads and the SQLite store (default ~/.rime-local)",
    )
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL of the store (default: SQLite in the data dir)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rime-local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve RIME's REST API and result pages")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    _common(serve)
    serve.add_argument(
        "--api-key",
        action="append",
        default=[],
        help=f"key clients send in the rime-api-key header (repeatable; env {ENV_API_KEYS})",
    )
    serve.add_argument(
        "--data-root",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a directory registered data and models may be read from, besides the upload area "
        f"(repeatable; env {ENV_DATA_ROOTS}, {os.pathsep!r}-separated). Nothing else is read",
    )
    serve.add_argument(
        "--validation-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="stop a registry validation after this long; its entry becomes INVALID (default 300)",
    )
    serve.add_argument("--public-url", default=None, help="base URL put in the links the API returns")
    serve.add_argument(
        "--upload-limit-mb", type=int, default=4096, help="largest upload accepted (0: no limit)"
    )
    serve.add_argument("--max-workers", type=int, default=2, help="stress tests run at once")
    serve.add_argument(
        "--no-model-execution",
        action="store_true",
        help="never run registered model code: no Transformations or Attacks, model files only "
        "checked to exist (env RIME_LOCAL_MODEL_EXECUTION=0)",
    )
    serve.add_argument(
        "--no-model-zygote",
        action="store_true",
        help="start every model process as a new interpreter instead of forking it from the model "
        "zygote, which preloads the model libraries once (env RIME_LOCAL_MODEL_ZYGOTE=0)",
    )
    serve.add_argument(
        "--model-preload",
        default=None,
        metavar="MODULES",
        help="comma-separated modules the model zygote imports (env RIME_LOCAL_MODEL_PRELOAD; default: "
        "numpy, pandas, pyarrow, scipy.stats, scikit-learn's common modules, catboost, lightgbm and "
        "xgboost, those installed)",
    )
    serve.add_argument("--log-level", default="info")
    key = sub.add_parser("create-api-key", help="make an API key; only its hash is stored")
    _common(key)
    key.add_argument("--name", default="", help="a note saying whose key this is")
    link = sub.add_parser(
        "login-link", help="print a short-lived link that logs a browser in to the result pages"
    )
    link.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="the engine's data dir (default ~/.rime-local)",
    )
    link.add_argument(
        "--url",
        default=f"http://127.0.0.1:{DEFAULT_PORT}",
        help="the engine's URL as the browser reaches it (its --public-url, if set)",
    )
    link.add_argument("--minutes", type=float, default=15, help="how long the link works (default 15)")
    return parser


def serve(args: argparse.Namespace) -> int:
    # Before anything of the engine's stack is imported: without the extra, the engine would
    # start and then fail every validation and stress test job in its workers.
    refusal = require_extra("rime-local serve")
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2

    import uvicorn

    from airflow_provider_rime.local.app import create_app
    from airflow_provider_rime.local.models.process import ENV_MODEL_EXECUTION
    from airflow_provider_rime.local.models.zygote import check_preload, preload_from_env, zygote_enabled

    if args.no_model_execution:
        os.environ[ENV_MODEL_EXECUTION] = "0"  # read by the workers this engine starts
    try:
        if args.model_preload is not None:
            preload = check_preload(
                [m.strip() for m in args.model_preload.split(",") if m.strip()], "--model-preload"
            )
        else:
            preload = preload_from_env()
    except ValueError as exc:
        print(f"rime-local: {exc}", file=sys.stderr)
        return 2
    data_dir = args.data_dir.expanduser().resolve()
    keys = tuple(args.api_key) + api_keys_from_env()
    roots = []
    for root in (*args.data_root, *data_roots_from_env()):
        resolved = root.expanduser().resolve()
        if not resolved.is_dir():
            print(f"rime-local: data root {root} is not a directory", file=sys.stderr)
            return 2
        roots.append(resolved)
    settings = EngineSettings(
        host=args.host,
        port=args.port,
        data_dir=data_dir,
        database_url=args.database_url,
        api_keys=keys,
        public_url=args.public_url,
        upload_limit_bytes=args.upload_limit_mb * 1024 * 1024,
        max_stress_workers=max(1, args.max_workers),
        data_roots=tuple(roots),
        validation_timeout_seconds=max(1.0, args.validation_timeout),
        model_zygote=zygote_enabled() and not args.no_model_zygote,
        model_preload=preload,
    )
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app(settings)
    print(f"rime-local serving RIME's API at {settings.base_url} (data in {data_dir})", flush=True)
    shown = ", ".join(str(r) for r in roots) or "none: only uploaded files are read"
    print(f"data roots (besides the upload area): {shown}", flush=True)
    if not keys:
        print(
            "no --api-key given: only keys made with `rime-local create-api-key` are accepted",
            file=sys.stderr,
        )
    # uvicorn stops cleanly on SIGTERM and SIGINT; the app's lifespan then stops the job runner.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=False)
    return 0


def create_api_key(args: argparse.Namespace) -> int:
    from airflow_provider_rime.local.store.db import make_engine, session_factory, upgrade
    from airflow_provider_rime.local.store.schema import ApiKey
    from airflow_provider_rime.rime_api.naming import utc_now

    data_dir = args.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = EngineSettings(data_dir=data_dir, database_url=args.database_url)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    key = "rime-local-" + secrets.token_urlsafe(32)
    with session_factory(engine).begin() as s:
        s.add(ApiKey(key_hash=hash_api_key(key), name=args.name, created_at=utc_now()))
    engine.dispose()
    print(key)
    print("Store it now: the engine keeps only its hash.", file=sys.stderr)
    return 0


def print_login_link(args: argparse.Namespace) -> int:
    from airflow_provider_rime.local.signing import Signer
    from airflow_provider_rime.local.web.login import login_link

    settings = EngineSettings(data_dir=args.data_dir.expanduser().resolve())
    if not settings.data_dir.is_dir():
        print(f"rime-local: {settings.data_dir} is not an engine's data dir", file=sys.stderr)
        return 2
    signer = Signer(page_token_secret(settings.session_secret_path))
    print(login_link(args.url, signer, max(1.0, args.minutes) * 60))
    print(f"The link works for {args.minutes:g} minutes; anyone holding it can log in.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "login-link":
        return print_login_link(args)
    return create_api_key(args)


if __name__ == "__main__":
    sys.exit(main())
