"""The model runner's child: ``python -m airflow_provider_rime.local.models.child``.

Sets its limits first (address space, file size, no core dumps), moves the protocol off
stdin/stdout (so model code that reads or prints cannot corrupt it), then loads the model
and answers ``predict`` requests with float64 arrays until its parent closes the pipe.
Requests are pickled by the parent, which the child trusts; answers are a JSON header and
raw float64 bytes, which the parent checks, so the parent never unpickles model output.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import resource
import struct
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

_FRAME = struct.Struct(">Q")


def _set_limits(memory_mb: int, file_size_mb: int) -> None:
    for limit, value in (
        (resource.RLIMIT_AS, memory_mb << 20),
        (resource.RLIMIT_FSIZE, file_size_mb << 20),
        (resource.RLIMIT_CORE, 0),
    ):
        _, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when the worker that started it dies (a killed or
    cancelled job must not leave a hung model running); elsewhere, EOF on the pipe ends it.
    Linux sends the signal when the *thread* that started the child ends, so model processes are
    started from a thread that outlives them (the worker's main thread)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def _read(fd: int, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return bytes(out)


def _send(fd: int, header: dict[str, Any], data: bytes | None = None) -> None:
    raw = json.dumps(header).encode()
    os.write(fd, _FRAME.pack(len(raw)) + raw)
    if data is not None:
        view = memoryview(_FRAME.pack(len(data)) + data)
        while view:
            view = view[os.write(fd, view) :]


def _where(exc: BaseException, model_file: str | None) -> str:
    """The innermost frame of the model's own code (or the innermost frame at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if model_file and Path(f.filename).parent == Path(model_file).parent]
    picked = own or list(frames)
    if not picked:
        return ""
    frame = picked[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def _raised(exc: BaseException, model_file: str | None) -> dict[str, Any]:
    """The answer for an exception the model (or loading it) raised."""
    return {
        "ok": False,
        "error": "raised",
        "type": type(exc).__name__,
        "message": str(exc)[:500],
        "where": _where(exc, model_file),
    }


def _load_rime(location: str, params: dict[str, Any]) -> Callable[[Any], Any]:
    path = Path(location)
    sys.path.insert(0, str(path.parent))
    os.chdir(path.parent)
    spec = importlib.util.spec_from_file_location("rime_model", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["rime_model"] = module
    spec.loader.exec_module(module)
    if callable(getattr(module, "get_predict_df", None)):
        fn = module.get_predict_df(**params)
        if not callable(fn):
            raise TypeError(f"get_predict_df returned {type(fn).__name__}, not a predict_df function")
        return fn  # type: ignore[no-any-return]
    if callable(getattr(module, "get_predict_dict", None)):
        return _row_by_row(module.get_predict_dict(**params))
    if callable(getattr(module, "predict_df", None)):
        return module.predict_df  # type: ignore[no-any-return]
    if callable(getattr(module, "predict_dict", None)):
        return _row_by_row(module.predict_dict)
    raise AttributeError(
        f"{path.name} defines none of predict_df, predict_dict, get_predict_df, get_predict_dict"
    )


def _row_by_row(predict_dict: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    """``predict_df`` from a ``predict_dict`` (one row as a dict -> its probabilities)."""
    if not callable(predict_dict):
        raise TypeError(f"get_predict_dict returned {type(predict_dict).__name__}, not a function")

    def predict_rows(df: Any) -> Any:
        import numpy as np

        rows = [predict_dict(row) for row in df.to_dict("records")]
        return np.asarray([np.asarray(r, dtype=np.float64).reshape(-1) for r in rows])

    return predict_rows


def _load_mlflow(location: str) -> Callable[[Any], Any]:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(location)
    try:
        raw = model.get_raw_model()
    except Exception:  # flavors without a raw model: use pyfunc's predict
        raw = None
    if raw is not None and callable(getattr(raw, "predict_proba", None)):
        return raw.predict_proba  # type: ignore[no-any-return]
    return model.predict  # type: ignore[no-any-return]


def _as_array(out: Any) -> Any:
    import numpy as np

    if hasattr(out, "to_numpy"):
        out = out.to_numpy()
    arr = np.asarray(out)
    try:
        return np.ascontiguousarray(arr, dtype="<f8")
    except (TypeError, ValueError):
        raise ValueError(f"returned values that are not numbers (dtype {arr.dtype})") from None


def _settle_heap() -> None:
    """After the load: collect its garbage once, then keep the loaded libraries and model out
    of every later collection (``gc.freeze``), so calls pay only for their own objects."""
    gc.collect()
    gc.freeze()
    gc.enable()


def main(argv: list[str] | None = None) -> int:
    # Importing the model's libraries allocates hundreds of thousands of objects that live as
    # long as the process: collecting while they arrive is a tenth of the load's time, wasted.
    gc.disable()
    parser = argparse.ArgumentParser(prog="rime-local-model")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--file-size-mb", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    if args.parent_pid:
        _die_with_parent(args.parent_pid)
    _set_limits(args.memory_mb, args.file_size_mb)
    # The protocol gets its own descriptors; model code sees /dev/null and the log.
    requests, answers = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    import pickle

    predict: Callable[[Any], Any] | None = None
    model_file: str | None = None
    while True:
        try:
            (size,) = _FRAME.unpack(_read(requests, _FRAME.size))
            request = pickle.loads(_read(requests, size))
        except EOFError:
            return 0
        op = request[0]
        try:
            if op == "load":
                source = request[1]
                if source["kind"] == "mlflow":
                    predict = _load_mlflow(source["location"])
                else:
                    model_file = source["location"]
                    predict = _load_rime(source["location"], source.get("params") or {})
                _settle_heap()
                _send(answers, {"ok": True})
            elif op == "predict":
                assert predict is not None, "predict before load"
                try:
                    out = predict(request[1])
                except MemoryError:
                    raise
                except Exception as exc:
                    _send(answers, _raised(exc, model_file))
                    continue
                try:
                    arr = _as_array(out)
                except ValueError as exc:
                    _send(answers, {"ok": False, "error": "output", "message": str(exc)})
                    continue
                _send(answers, {"ok": True, "shape": list(arr.shape)}, arr.tobytes())
            else:
                return 2
        except MemoryError:
            _send(answers, {"ok": False, "error": "memory"})
        except Exception as exc:
            _send(answers, _raised(exc, model_file))


if __name__ == "__main__":
    sys.exit(main())
